// List's pages (AIP-158): entries in key order after the last key of the
// previous page, so that a token stays valid while others write. A token
// names the listing it belongs to (map and prefix); using it for another is
// InvalidArgument. A page costs O(log n + its size) (the engine's ordered
// Scan) and stops before its reply would pass the reply limit.
#ifndef PERSIST_SERVICE_LIST_PAGES_H_
#define PERSIST_SERVICE_LIST_PAGES_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "persist/v1/persist.pb.h"
#include "storage/dynamic_map.h"

namespace persist::service {

struct PageToken {
  std::string map;
  std::string prefix;
  std::string after;  // the last key returned
};

std::string EncodePageToken(const PageToken& token);
absl::StatusOr<PageToken> DecodePageToken(absl::string_view text);

// Fills `response` with up to `size` entries of `map` whose keys start with
// `prefix` and sort after `after`, and with the token of the next page when
// more follow. Entries stop early rather than make the reply larger than
// `max_reply_bytes` (less room for the token); an entry too large for any
// reply is ResourceExhausted naming its key.
absl::Status FillPage(const DynamicMap& map, absl::string_view prefix,
                      absl::string_view after, int size, size_t max_reply_bytes,
                      v1::ListResponse* response);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_LIST_PAGES_H_
