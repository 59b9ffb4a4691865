// Records of maps that are not declared (DESIGN.md section 3): kept as raw
// JSON, rewritten unchanged by Shrink, adopted when their map is declared.
// Nothing in a file is dropped because the current schema does not know it.
//
// Thread-safety: none; the Store guards it.
#ifndef PERSIST_STORAGE_INTERNAL_ORPHAN_RECORDS_H_
#define PERSIST_STORAGE_INTERNAL_ORPHAN_RECORDS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "storage/internal/wal_reader.h"

namespace persist {

class OrphanRecords {
 public:
  struct Orphan {
    std::string key;     // the key within its map
    std::string json;    // the value line, verbatim
    int64_t line;        // where it was read
    std::string expiry;  // its E record's time, verbatim; "" if none
    int64_t expiry_line = 0;
  };

  // A set keeps the record's value (with no expiry), a delete drops it, an
  // expiry is kept with the key's value (nothing if it has none).
  void Apply(const WalRecord& record);

  // The live records of `map`, in no particular order.
  std::vector<Orphan> Collect(absl::string_view map) const;
  // Forgets the records of `map` (once adopted).
  void Drop(absl::string_view map);

  // Forgets the records whose expiry (a time it can read) is at or
  // before `now` (nanos), as Shrink leaves expired entries out.
  void DropExpired(int64_t now);

  // Appends every live record, as set records with their original record
  // keys, each followed by its expiry record if it has one (the two in a
  // "B 2" frame). Returns how many set records.
  int64_t AppendTo(std::string* out) const;

  int64_t keys() const { return keys_; }
  // Live keys of each map, by map name.
  std::vector<std::pair<std::string, int64_t>> KeysByMap() const;
  // Distinct map names (kUntypedStoreMap counts for record keys without ':').
  int64_t maps() const { return static_cast<int64_t>(by_map_.size()); }

 private:
  struct Value {
    std::string json;
    int64_t line;
    std::string expiry;
    int64_t expiry_line = 0;
  };
  // map -> record key ("map:key" as written) -> value
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, Value>>
      by_map_;
  int64_t keys_ = 0;
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_ORPHAN_RECORDS_H_
