// RevisionClock: the store-wide revisions that changes take and etags name
// (etag.h, DESIGN.md section 5).
//
// A writer takes the next revision with Next() as the last step of its
// change, once the change is where readers look for it (its shard's hash
// set and the map's ordered index), while it still holds the key's shard
// lock. So once current() returned R, every change up to R can be read: a
// Get or Scan that comes to one of those keys either finds the change
// done, or finds the shard still locked and waits for it. That is what
// makes current() the revision a reader saw (DESIGN.md: a List at R, then
// a Watch after R, misses nothing).
//
// Revision 1 is the state found at open: every recovered entry carries it
// (each is the first version of its key in this epoch), and the first
// change takes 2. A random epoch, chosen at each open, keeps etags and
// revisions of an earlier open from matching.
//
// Thread-safety: safe for concurrent use.
#ifndef PERSIST_STORAGE_INTERNAL_REVISION_CLOCK_H_
#define PERSIST_STORAGE_INTERNAL_REVISION_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "storage/etag.h"

namespace persist {

class RevisionClock {
 public:
  // The revision of every entry recovered at open.
  static constexpr uint64_t kRecovered = 1;

  explicit RevisionClock(uint64_t epoch) : epoch_(epoch) {}
  RevisionClock(const RevisionClock&) = delete;
  RevisionClock& operator=(const RevisionClock&) = delete;

  // A random epoch, for a store being opened.
  static uint64_t RandomEpoch();

  uint64_t epoch() const { return epoch_; }

  // The next revision; see the file comment for when to take it.
  // Sequentially consistent, like current(): a reader that sees a revision
  // also sees what its writer did before taking it.
  uint64_t Next() { return last_.fetch_add(1, std::memory_order_seq_cst) + 1; }
  // The first of `count` consecutive revisions (an atomic batch's).
  uint64_t Next(uint64_t count) {
    return last_.fetch_add(count, std::memory_order_seq_cst) + 1;
  }

  // The last revision taken.
  uint64_t current() const { return last_.load(std::memory_order_seq_cst); }

  Etag MakeEtag(uint64_t revision) const { return Etag{epoch_, revision}; }

 private:
  const uint64_t epoch_;
  std::atomic<uint64_t> last_{kRecovered};
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_REVISION_CLOCK_H_
