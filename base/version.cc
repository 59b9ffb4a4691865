#include "base/version.h"

#include "absl/strings/str_cat.h"

namespace persist {

std::string VersionLine(absl::string_view program) {
  const absl::string_view commit = VersionCommit();
  return absl::StrCat(
      program, " ", Version(),
      commit.empty() ? "" : absl::StrCat(" (commit ", commit, ")"));
}

}  // namespace persist
