// ChangeHistory: the store's revisions and its most recent changes, in
// revision order, for readers of changes (Watch; DESIGN.md section 5).
//
// Every change takes its revision here (Record), which keeps the change
// under the same lock: so the changes kept are the contiguous revisions
// first..current, whatever the order in which writers of different shards
// come. Record is the last step of a change, with its shard locked
// (revision_clock.h says why). The oldest changes are dropped once the
// bounds of HistoryOptions are passed.
//
// After each Record, the listener runs (on the writer's thread, its shard
// still locked): it must be quick and must not call the store.
//
// Thread-safety: safe for concurrent use. Lock order: a shard, then this.
#ifndef PERSIST_STORAGE_INTERNAL_CHANGE_HISTORY_H_
#define PERSIST_STORAGE_INTERNAL_CHANGE_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "google/protobuf/message.h"
#include "storage/changes.h"
#include "storage/internal/revision_clock.h"

namespace persist {

class ChangeHistory {
  // A change kept (private; first, for Dropped).
  struct Kept {
    uint64_t revision = 0;
    const std::string* map = nullptr;
    std::string key;
    std::shared_ptr<const google::protobuf::Message> value;
    size_t bytes = 0;
    uint64_t batch_end = 0;
    int64_t expires = 0;
    bool expired = false;
  };

 public:
  using Listener = std::function<void()>;

  ChangeHistory(uint64_t epoch, HistoryOptions options, Listener on_change);
  ChangeHistory(const ChangeHistory&) = delete;
  ChangeHistory& operator=(const ChangeHistory&) = delete;

  const RevisionClock& clock() const { return clock_; }

  // The changes that a Record or RecordBatch call dropped from the history.
  // Their values are freed when this is destroyed, which the writer lets
  // happen once it has unlocked its shards: freeing a message is a good
  // part of a write's cost, and under the history's lock it would make the
  // writers of every shard wait for it.
  class Dropped {
   public:
    Dropped();
    ~Dropped();
    Dropped(Dropped&&) noexcept;
    Dropped& operator=(Dropped&&) noexcept;

   private:
    friend class ChangeHistory;
    // Mostly one change per write: kept inline, no allocation.
    absl::InlinedVector<Kept, 1> kept_;
  };

  // Takes the next revision for a change of `key` in `map` (`value` null:
  // a delete; `expired`: one by expiry; `expires`: a set's expiry, in
  // nanos) and keeps the change. `map` must stay valid while the history is
  // read; `record_bytes` is the size of the change's WAL record, which the
  // bytes bound counts. The changes it drops go to `dropped`.
  uint64_t Record(Dropped& dropped, const std::string& map,
                  absl::string_view key,
                  const std::shared_ptr<const google::protobuf::Message>& value,
                  size_t record_bytes, int64_t expires = 0,
                  bool expired = false);

  // One change of a batch, for RecordBatch.
  struct BatchChange {
    const std::string* map = nullptr;
    absl::string_view key;
    std::shared_ptr<const google::protobuf::Message> value;  // null: delete
    size_t record_bytes = 0;
    int64_t expires = 0;  // a set's expiry (nanos; 0: none)
  };
  // Takes consecutive revisions for the changes of an atomic batch, in
  // order, and keeps them; returns the first. The listener runs once.
  uint64_t RecordBatch(const std::vector<BatchChange>& changes,
                       Dropped& dropped);

  // The changes from revision `from` on that match `filter`, in order:
  // at most `max_changes`, looking at no more than `max_looked_at` (which
  // bounds how long writers wait for the lock). OutOfRange if a change at
  // `from` or later was dropped already, or if `from` is revision 1 or
  // below (the state at open: no change has it).
  absl::StatusOr<ChangeRead> Read(uint64_t from, const ChangeFilter& filter,
                                  size_t max_changes,
                                  size_t max_looked_at) const;

 private:
  // Keeps one change and moves the oldest past the bounds to `dropped`.
  void KeepLocked(Kept kept, Dropped& dropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  RevisionClock clock_;
  const HistoryOptions options_;
  const Listener on_change_;

  mutable Mutex mu_;
  std::deque<Kept> kept_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // The newest revision dropped; revision 1, the state at open, counts as
  // dropped from the start.
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = RevisionClock::kRecovered;
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_CHANGE_HISTORY_H_
