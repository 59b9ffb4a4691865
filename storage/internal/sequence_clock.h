// SequenceClock: the store-wide sequence numbers that etags name
// (etag.h). Every change of every map takes the next one; a random epoch,
// chosen at each open, keeps etags of an earlier open from matching.
//
// Thread-safety: safe for concurrent use.
#ifndef PERSIST_STORAGE_INTERNAL_SEQUENCE_CLOCK_H_
#define PERSIST_STORAGE_INTERNAL_SEQUENCE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "storage/etag.h"

namespace persist {

class SequenceClock {
 public:
  explicit SequenceClock(uint64_t epoch) : epoch_(epoch) {}
  SequenceClock(const SequenceClock&) = delete;
  SequenceClock& operator=(const SequenceClock&) = delete;

  // A random epoch, for a store being opened.
  static uint64_t RandomEpoch();

  // The next sequence number; the first is 1 (0 means "no entry").
  uint64_t Next() { return last_.fetch_add(1, std::memory_order_relaxed) + 1; }
  Etag MakeEtag(uint64_t sequence) const { return Etag{epoch_, sequence}; }

 private:
  const uint64_t epoch_;
  std::atomic<uint64_t> last_{0};
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_SEQUENCE_CLOCK_H_
