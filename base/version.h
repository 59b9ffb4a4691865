// persist's version, set once in the top CMakeLists.txt (project()), and
// the commit the build came from.
#ifndef PERSIST_BASE_VERSION_H_
#define PERSIST_BASE_VERSION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace persist {

// "0.1.0".
const char* Version();
// The git commit ("1a2b3c4d5e6f", "-dirty" when the tree had changes), or
// "" when the sources were not a git checkout.
const char* VersionCommit();

// "<program> 0.1.0 (commit 1a2b3c4d5e6f)", what --version prints.
std::string VersionLine(absl::string_view program);

}  // namespace persist

#endif  // PERSIST_BASE_VERSION_H_
