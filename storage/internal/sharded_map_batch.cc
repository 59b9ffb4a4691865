// ShardedMap::WriteBatch: atomic batches over the shards of several maps
// (batch.h, sharded_map.h).
#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/sharded_map.h"
#include "storage/internal/wal_format.h"

namespace persist {
namespace {

UpdateResult::Outcome OutcomeOf(ShardedMap::Change::Kind kind) {
  switch (kind) {
    case ShardedMap::Change::Kind::kSet:
      return UpdateResult::Outcome::kSet;
    case ShardedMap::Change::Kind::kDelete:
      return UpdateResult::Outcome::kDeleted;
    case ShardedMap::Change::Kind::kKeep:
      break;
  }
  return UpdateResult::Outcome::kCancelled;
}

}  // namespace

// The shards are locked and unlocked by hand, as many as the batch touches:
// more than the thread-safety analysis follows, so it is off here and in
// ApplyBatch, which runs with all of them held.
void ShardedMap::WriteBatch(GroupCommitQueue& wal,
                            const std::vector<BatchStep>& steps,
                            Durability durability,
                            BatchCallback done) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  std::vector<Shard*> shards;
  shards.reserve(steps.size());
  for (const BatchStep& step : steps) {
    shards.push_back(&step.map->ShardFor(step.key));
  }
  // One total order that every batch follows (the shards' addresses) keeps
  // two batches from each waiting for a shard the other holds; single
  // writes hold one shard only, so they cannot close a cycle.
  std::vector<Shard*> order = shards;
  ChangeHistory::Dropped dropped;  // freed once the shards are unlocked
  std::sort(order.begin(), order.end(), std::less<Shard*>());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  for (Shard* shard : order) shard->mu.Lock();
  const auto unlock = [&order]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      (*it)->mu.Unlock();
    }
  };
  std::string frame;
  int64_t records = 0;  // changes (S and D records), as the WAL counts them
  absl::StatusOr<BatchResult> result =
      ApplyBatch(wal, steps, shards, durability, &frame, &records, dropped);
  if (!result.ok() || records == 0) {
    unlock();
    done(std::move(result));
    return;
  }
  // Queued with every shard locked: each key's records stay in the order of
  // its changes, and the frame goes to the file in one piece.
  wal.Enqueue(frame, records, durability,
              [done = std::move(done),
               result = *std::move(result)](absl::Status durable) mutable {
                if (durable.ok()) {
                  done(std::move(result));
                } else {
                  done(std::move(durable));
                }
              });
  unlock();
  wal.Commit();  // with the shards unlocked: this thread may write the WAL
}

absl::StatusOr<BatchResult> ShardedMap::ApplyBatch(
    const GroupCommitQueue& wal, const std::vector<BatchStep>& steps,
    const std::vector<Shard*>& shards, Durability durability,
    std::string* frame, int64_t* records,
    ChangeHistory::Dropped& dropped) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (steps.empty()) return absl::InvalidArgumentError("a batch is empty");
  for (const BatchStep& step : steps) {
    if (step.map->closed()) return step.map->ClosedError();
  }
  if (wal.failed()) return wal.health();
  ChangeHistory& history = steps.front().map->changes_;
  const RevisionClock& clock = steps.front().map->clock_;

  // Decide every step before changing anything.
  const size_t n = steps.size();
  int64_t announced = 0;  // records of its frame: sets with expiries are 2
  const int64_t now = steps.front().map->NowNanos();
  std::vector<Change*> changes(n);
  BatchResult result;
  result.results.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const BatchStep& step = steps[i];
    const auto it = shards[i]->entries.find(step.key);
    // An expired entry is none (it is deleted below if the batch goes).
    const Entry* current =
        it == shards[i]->entries.end() || Expired(**it, now) ? nullptr : *it;
    absl::StatusOr<Change*> decided = step.decide(current);
    if (!decided.ok()) {
      return absl::Status(
          decided.status().code(),
          absl::StrCat("operations[", i, "]: ", decided.status().message(),
                       "; the batch changed nothing"));
    }
    changes[i] = *decided;
    if (changes[i]->kind != Change::Kind::kKeep) {
      announced += changes[i]->frame_records;
    }
    UpdateResult& done = result.results[i];
    done.outcome = OutcomeOf(changes[i]->kind);
    done.existed = current != nullptr;
    done.etag = clock.MakeEtag(current ? current->revision() : 0);
    done.revision = clock.current();
  }

  // A header no reader accepts would make the file unreadable: refused
  // before anything changes.
  if (announced > kMaxBatchRecords) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the batch writes ", announced,
        " records (a set with an expiry writes two), more than the ",
        kMaxBatchRecords, " one batch may hold; split it"));
  }

  // Apply: each set, and each delete of a key that exists, is a change of
  // its own with a revision of its own, taken together and last.
  std::vector<ChangeHistory::BatchChange> made;
  std::vector<size_t> made_by;  // the step of each change made
  std::vector<Entry*> set_entries(n, nullptr);
  int64_t frame_records = 0;  // S, D and E records, as its header counts
  for (size_t i = 0; i < n; ++i) {
    const BatchStep& step = steps[i];
    Change& change = *changes[i];
    Shard& shard = *shards[i];
    auto it = shard.entries.find(step.key);
    // Expired entries go first, each a change of its own before the
    // batch's revisions (their D records go to the dirty set, which this
    // batch's own records of those keys then supersede).
    if (it != shard.entries.end() && Expired(**it, now)) {
      step.map->Expire(shard, it, dropped);
      it = shard.entries.end();
    }
    switch (change.kind) {
      case Change::Kind::kKeep:
        continue;
      case Change::Kind::kSet: {
        // The old value, swapped into the change, is freed with it, once
        // the caller has unlocked the shards.
        Entry* const entry =
            step.map->Put(shard, it, step.key, change.value, change.expires);
        set_entries[i] = entry;
        made.push_back({&step.map->name_, entry->key(), entry->value_,
                        change.record.size(), entry->expires_});
        made_by.push_back(i);
        break;
      }
      case Change::Kind::kDelete:
        if (it != shard.entries.end()) {
          step.map->Erase(shard, it);
          made.push_back(
              {&step.map->name_, step.key, nullptr, change.record.size()});
          made_by.push_back(i);
        }
        break;
    }
    // Every set and delete is written (a delete of a missing key too, as a
    // single write's is) and supersedes a pending ASYNC record of its key.
    shard.dirty.erase(step.key);
    step.map->writes_[static_cast<int>(durability)].fetch_add(
        1, std::memory_order_relaxed);
    ++*records;
    frame_records += change.frame_records;
  }
  result.revision = clock.current();
  if (!made.empty()) {
    const uint64_t first = history.RecordBatch(made, dropped);
    for (size_t j = 0; j < made.size(); ++j) {
      const size_t i = made_by[j];
      const uint64_t revision = first + j;
      result.results[i].revision = revision;
      if (set_entries[i] != nullptr) {
        set_entries[i]->revision_ = revision;
        result.results[i].etag = clock.MakeEtag(revision);
      } else {
        result.results[i].etag = clock.MakeEtag(0);
      }
    }
    result.revision = first + made.size() - 1;
  }

  // One record needs no frame: a single record is atomic already.
  if (frame_records > 1) AppendBatchHeader(frame_records, frame);
  for (size_t i = 0; i < n; ++i) {
    if (changes[i]->kind != Change::Kind::kKeep) {
      frame->append(changes[i]->record);
    }
  }
  return result;
}

}  // namespace persist
