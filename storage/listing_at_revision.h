// ListAtRevision: the entries of a map under a prefix exactly as they were
// at one revision, while writers go on (Watch's initial listing, DESIGN.md
// section 5).
//
// A Scan alone is not a snapshot: keys written during it may or may not be
// seen. So the listing reads the store's revision W before its Scan and R
// after it. Every change up to W is in the Scan and none after R is (a
// change is visible before its revision can be read, revision_clock.h);
// the changes in between are read back from the store's history and each
// key they touched is set to its last change up to R. What is left is the
// state at R exactly, and a reader of the changes from R + 1 on misses
// nothing and sees nothing twice.
//
// Needs the store's history (StoreOptions::history) when writers change
// the map during the Scan: FailedPrecondition without one. If the changes
// in between are dropped from the history before they are read (more
// writes during one Scan than the history keeps), the listing starts over,
// a few times, then answers Aborted.
#ifndef PERSIST_STORAGE_LISTING_AT_REVISION_H_
#define PERSIST_STORAGE_LISTING_AT_REVISION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "storage/dynamic_map.h"
#include "storage/store.h"

namespace persist {

struct ListedEntry {
  std::string key;
  Entry<google::protobuf::Message> entry;
};

struct ListingAtRevision {
  uint64_t revision = 0;
  std::vector<ListedEntry> entries;  // in key order
};

absl::StatusOr<ListingAtRevision> ListAtRevision(const Store& store,
                                                 const DynamicMap& map,
                                                 absl::string_view prefix);

}  // namespace persist

#endif  // PERSIST_STORAGE_LISTING_AT_REVISION_H_
