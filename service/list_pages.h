// List's pages (AIP-158): entries in key order after the last key of the
// previous page, so that a token stays valid while others write. A token
// names the listing it belongs to (map and prefix); using it for another is
// InvalidArgument.
#ifndef PERSIST_SERVICE_LIST_PAGES_H_
#define PERSIST_SERVICE_LIST_PAGES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/dynamic_map.h"

namespace persist::service {

struct PageToken {
  std::string map;
  std::string prefix;
  std::string after;  // the last key returned
};

std::string EncodePageToken(const PageToken& token);
absl::StatusOr<PageToken> DecodePageToken(absl::string_view text);

struct Page {
  std::vector<std::pair<std::string, Entry<google::protobuf::Message>>>
      entries;        // in key order
  bool more = false;  // entries beyond this page exist
};

// The first `size` entries of `map` whose keys start with `prefix` and sort
// after `after`. One pass over the map, keeping the `size` smallest keys.
absl::StatusOr<Page> CollectPage(const DynamicMap& map,
                                 absl::string_view prefix,
                                 absl::string_view after, int size);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_LIST_PAGES_H_
