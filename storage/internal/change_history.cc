#include "storage/internal/change_history.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/expiry.h"

namespace persist {
namespace {

// What a kept change costs besides its key and record: the entry in the
// deque, the shared_ptr's control block.
constexpr size_t kKeptOverheadBytes = 96;

}  // namespace

ChangeHistory::Dropped::Dropped() = default;
ChangeHistory::Dropped::~Dropped() = default;
ChangeHistory::Dropped::Dropped(Dropped&&) noexcept = default;
ChangeHistory::Dropped& ChangeHistory::Dropped::operator=(Dropped&&) noexcept =
    default;

ChangeHistory::ChangeHistory(uint64_t epoch, HistoryOptions options,
                             Listener on_change)
    : clock_(epoch), options_(options), on_change_(std::move(on_change)) {}

uint64_t ChangeHistory::Record(
    Dropped& dropped, const std::string& map, absl::string_view key,
    const std::shared_ptr<const google::protobuf::Message>& value,
    size_t record_bytes, int64_t expires, bool expired) {
  uint64_t revision = 0;
  if (options_.max_changes == 0) {  // keeping none: no lock to take
    revision = clock_.Next();
  } else {
    MutexLock lock(&mu_);
    revision = clock_.Next();
    KeepLocked({revision, &map, std::string(key), value,
                key.size() + record_bytes + kKeptOverheadBytes, revision,
                expires, expired},
               dropped);
  }
  if (on_change_) on_change_();
  return revision;
}

uint64_t ChangeHistory::RecordBatch(const std::vector<BatchChange>& changes,
                                    Dropped& dropped) {
  const uint64_t count = changes.size();
  uint64_t first = 0;
  if (options_.max_changes == 0) {
    first = clock_.Next(count);
  } else {
    MutexLock lock(&mu_);
    first = clock_.Next(count);
    const uint64_t last = first + count - 1;
    for (uint64_t i = 0; i < count; ++i) {
      const BatchChange& change = changes[i];
      KeepLocked({first + i, change.map, std::string(change.key), change.value,
                  change.key.size() + change.record_bytes + kKeptOverheadBytes,
                  last, change.expires, false},
                 dropped);
    }
  }
  if (on_change_) on_change_();
  return first;
}

void ChangeHistory::KeepLocked(Kept kept, Dropped& dropped) {
  bytes_ += kept.bytes;
  kept_.push_back(std::move(kept));
  // The newest change stays even if it alone passes a bound: a reader
  // waiting for the next change gets it.
  while (kept_.size() > 1 &&
         (kept_.size() > options_.max_changes || bytes_ > options_.max_bytes)) {
    dropped_ = kept_.front().revision;
    bytes_ -= kept_.front().bytes;
    dropped.kept_.push_back(std::move(kept_.front()));
    kept_.pop_front();
  }
}

absl::StatusOr<ChangeRead> ChangeHistory::Read(uint64_t from,
                                               const ChangeFilter& filter,
                                               size_t max_changes,
                                               size_t max_looked_at) const {
  ChangeRead read;
  if (options_.max_changes == 0) {
    return absl::FailedPreconditionError(
        "this store keeps no history of changes (its history.max_changes is "
        "0); open it with a history to read changes");
  }
  MutexLock lock(&mu_);
  if (from <= dropped_) {
    return absl::OutOfRangeError(absl::StrCat(
        "revision ", from, " is compacted: the changes kept start at revision ",
        kept_.empty() ? clock_.current() + 1 : kept_.front().revision,
        "; list again, then read the changes after the revision the "
        "listing gives"));
  }
  read.next = from;
  if (kept_.empty() || from > kept_.back().revision) return read;
  // Kept revisions are contiguous: the index of `from` is its distance from
  // the first.
  size_t index = from - kept_.front().revision;
  for (size_t looked = 0; index < kept_.size() && looked < max_looked_at &&
                          read.changes.size() < max_changes;
       ++index, ++looked) {
    const Kept& kept = kept_[index];
    read.next = kept.revision + 1;
    if (*kept.map != filter.map || !absl::StartsWith(kept.key, filter.prefix)) {
      continue;
    }
    read.changes.push_back({kept.revision, *kept.map, kept.key, kept.value,
                            kept.batch_end, kept.expired,
                            ExpiryTime(kept.expires)});
  }
  return read;
}

}  // namespace persist
