#include "storage/etag.h"

#include <charconv>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace persist {
namespace {

bool ParseNumber(absl::string_view text, int base, uint64_t* out) {
  if (text.empty()) return false;
  const auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), *out, base);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string EpochToString(uint64_t epoch) {
  return absl::StrCat(absl::Hex(epoch, absl::kZeroPad16));
}

std::string Etag::ToString() const {
  return absl::StrCat(EpochToString(epoch), "-", revision);
}

absl::StatusOr<Etag> Etag::Parse(absl::string_view text) {
  const size_t dash = text.find('-');
  Etag etag;
  if (dash != 16 || !ParseNumber(text.substr(0, dash), 16, &etag.epoch) ||
      !ParseNumber(text.substr(dash + 1), 10, &etag.revision)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text.substr(0, 64),
        "\" is not an etag (expected \"<16 hex digits>-<number>\" as "
        "returned by a read or write)"));
  }
  return etag;
}

}  // namespace persist
