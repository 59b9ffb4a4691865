// Etags: which change of a key an entry is (DESIGN.md section 5, AIP-154).
//
// Every change gets the next revision of its store; with a random epoch
// chosen at each open, the entry's revision forms its etag
// "<epoch hex>-<revision>". Revisions restart at each open, the epoch makes
// etags from an earlier open never match.
#ifndef PERSIST_STORAGE_ETAG_H_
#define PERSIST_STORAGE_ETAG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace persist {

// An epoch as etags show it: 16 hex digits.
std::string EpochToString(uint64_t epoch);

struct Etag {
  uint64_t epoch = 0;
  uint64_t revision = 0;  // 0: no entry

  std::string ToString() const;
  // InvalidArgument if `text` is not an etag of this form.
  static absl::StatusOr<Etag> Parse(absl::string_view text);

  friend bool operator==(const Etag& a, const Etag& b) {
    return a.epoch == b.epoch && a.revision == b.revision;
  }
};

}  // namespace persist

#endif  // PERSIST_STORAGE_ETAG_H_
