#include "service/message_limits.h"

#include "absl/strings/str_cat.h"
#include "storage/names.h"

namespace persist::service {

absl::Status ValueTooLargeForReplyError(absl::string_view map,
                                        absl::string_view key, size_t bytes,
                                        size_t limit) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "map \"", map, "\" key ", QuotedKey(key), " needs ", bytes,
      " bytes of reply, more than a reply may carry (", limit,
      "); raise limits.maxMessageBytes (--max_message_bytes) to read it"));
}

}  // namespace persist::service
