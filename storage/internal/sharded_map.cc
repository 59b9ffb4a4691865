#include "storage/internal/sharded_map.h"

#include <bit>
#include <cstring>
#include <new>

#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/wal_format.h"

namespace persist {
namespace {

// Keys Scan copies from the index per visit of it: enough to amortize the
// lock, few enough that writers of new keys hardly wait.
constexpr size_t kScanChunk = 64;

template <typename Result>
Result ResultOf(const UpdateResult& update);
template <>
UpdateResult ResultOf<UpdateResult>(const UpdateResult& update) {
  return update;
}
template <>
WriteResult ResultOf<WriteResult>(const UpdateResult& update) {
  return WriteResult{update.existed, update.etag, update.revision};
}

}  // namespace

ShardedMap::Entry* ShardedMap::Entry::New(absl::string_view key) {
  void* memory = ::operator new(sizeof(Entry) + key.size());
  Entry* entry = new (memory) Entry(key.size());
  std::memcpy(reinterpret_cast<char*>(entry + 1), key.data(), key.size());
  return entry;
}

void ShardedMap::Entry::Delete(Entry* entry) {
  entry->~Entry();
  ::operator delete(entry);
}

size_t ShardedMap::KeyHash::operator()(absl::string_view key) const {
  return absl::Hash<absl::string_view>{}(key);
}

ShardedMap::ShardedMap(std::string name, ChangeHistory& changes,
                       const Clock& clock, int shard_count)
    : name_(std::move(name)),
      changes_(changes),
      clock_(changes.clock()),
      clock_now_(clock),
      shard_shift_(64 - std::countr_zero(static_cast<unsigned>(shard_count))),
      shard_count_(shard_count),
      shards_(new Shard[shard_count]) {}

ShardedMap::~ShardedMap() {
  for (int i = 0; i < shard_count_; ++i) {
    MutexLock lock(&shards_[i].mu);
    for (Entry* entry : shards_[i].entries) Entry::Delete(entry);
  }
}

ShardedMap::Shard& ShardedMap::ShardFor(absl::string_view key) const {
  if (shard_count_ == 1) return shards_[0];
  // The high bits: the hash set uses the low ones inside each shard.
  return shards_[KeyHash{}(key) >> shard_shift_];
}

bool ShardedMap::Find(absl::string_view key, Found* found) const {
  Shard& shard = ShardFor(key);
  ReaderMutexLock lock(&shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return false;
  if ((*it)->expires_ != kNoExpiry && Expired(**it, NowNanos())) return false;
  found->value = (*it)->value_;
  found->revision = (*it)->revision_;
  found->expires = (*it)->expires_;
  return true;
}

std::vector<ShardedMap::Scanned> ShardedMap::IndexRange(
    absl::string_view prefix, absl::string_view from, bool after,
    size_t limit) const {
  std::vector<Scanned> chunk;
  chunk.reserve(limit);
  ReaderMutexLock lock(&index_mu_);
  auto it = after ? index_.upper_bound(from) : index_.lower_bound(from);
  for (; it != index_.end() && chunk.size() < limit; ++it) {
    const Entry* entry = *it;
    const absl::string_view key = entry->key();
    if (!absl::StartsWith(key, prefix)) break;
    Scanned& scanned = chunk.emplace_back();
    scanned.key.assign(key.data(), key.size());
    // The entry stays allocated while the index is locked (Erase takes it
    // out of the index first), and its shard's lock makes its value safe
    // to read. Never blocking for the shard here: a writer may hold it
    // while it waits for the index (the lock order is shard, then index).
    // Should the shard be busy, the key is looked up once the index is
    // released instead.
    Shard& shard = ShardFor(key);
    if (shard.mu.ReaderTryLock()) {
      scanned.found.value = entry->value_;
      scanned.found.revision = entry->revision_;
      scanned.found.expires = entry->expires_;
      scanned.read = true;
      shard.mu.ReaderUnlock();
    }
  }
  return chunk;
}

void ShardedMap::Scan(absl::string_view prefix, absl::string_view start_after,
                      ScanFunction fn) const {
  // Keys starting with `prefix` sort from `prefix` itself on.
  std::string cursor(start_after < prefix ? prefix : start_after);
  bool after = start_after >= prefix;
  for (;;) {
    std::vector<Scanned> chunk = IndexRange(prefix, cursor, after, kScanChunk);
    const int64_t now = NowNanos();
    for (Scanned& scanned : chunk) {
      // Deleted since the index was read: not part of the scan any more.
      if (!scanned.read && !Find(scanned.key, &scanned.found)) continue;
      if (scanned.found.expires != kNoExpiry && scanned.found.expires <= now) {
        continue;
      }
      if (!fn(scanned.key, scanned.found)) return;
    }
    if (chunk.size() < kScanChunk) return;
    cursor = std::move(chunk.back().key);
    after = true;
  }
}

void ShardedMap::SetExpiry(Shard& shard, Entry* entry, int64_t expires) {
  if (entry->expires_ == expires) return;
  if (entry->expires_ != kNoExpiry) {
    shard.expiring.erase({entry->expires_, entry});
    expiring_.fetch_sub(1, std::memory_order_relaxed);
  }
  entry->expires_ = expires;
  if (expires != kNoExpiry) {
    shard.expiring.insert({expires, entry});
    expiring_.fetch_add(1, std::memory_order_relaxed);
  }
}

ShardedMap::Entry* ShardedMap::Put(Shard& shard, EntrySet::iterator it,
                                   absl::string_view key,
                                   std::shared_ptr<const Message>& value,
                                   int64_t expires) {
  if (it != shard.entries.end()) {  // a key that exists: no index work
    (*it)->value_.swap(value);
    SetExpiry(shard, *it, expires);
    return *it;
  }
  Entry* const entry = Entry::New(key);
  entry->value_ = std::move(value);
  SetExpiry(shard, entry, expires);
  shard.entries.insert(entry);
  size_.fetch_add(1, std::memory_order_relaxed);
  MutexLock lock(&index_mu_);
  index_.insert(entry);
  return entry;
}

void ShardedMap::Erase(Shard& shard, EntrySet::iterator it) {
  if (it == shard.entries.end()) return;
  Entry* const entry = *it;
  SetExpiry(shard, entry, kNoExpiry);
  {
    // Out of the index before it is freed: Scan reads keys under the
    // index's lock only.
    MutexLock lock(&index_mu_);
    index_.erase(entry);
  }
  shard.entries.erase(it);
  Entry::Delete(entry);
  size_.fetch_sub(1, std::memory_order_relaxed);
}

bool ShardedMap::ExpireIfDue(Shard& shard, EntrySet::iterator* it,
                             ChangeHistory::Dropped& dropped) {
  if (*it == shard.entries.end() || (**it)->expires_ == kNoExpiry ||
      !Expired(***it, NowNanos())) {
    return false;
  }
  Expire(shard, *it, dropped);
  *it = shard.entries.end();
  return true;
}

void ShardedMap::Expire(Shard& shard, EntrySet::iterator it,
                        ChangeHistory::Dropped& dropped) {
  // The key is copied out of the entry before Erase frees it.
  const std::string key((*it)->key());
  std::string record;
  AppendDeleteRecord(name_, key, &record);
  const size_t record_bytes = record.size();
  // Written as an ASYNC change: should it be lost in a crash, the E record
  // still in the file makes the entry expire again after a restart.
  shard.dirty.insert_or_assign(key, Shard::Pending{std::move(record), true});
  Erase(shard, it);
  // Last, once readers can no longer find the entry, as for a delete.
  changes_.Record(dropped, name_, key, nullptr, record_bytes, kNoExpiry,
                  /*expired=*/true);
  expirations_.fetch_add(1, std::memory_order_relaxed);
}

int64_t ShardedMap::ExpireDue(const GroupCommitQueue& wal, size_t limit) {
  int64_t expired = 0;
  for (int i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    ChangeHistory::Dropped dropped;  // freed once the shard is unlocked
    MutexLock lock(&shard.mu);
    if (closed() || wal.failed()) return expired;
    const int64_t now = NowNanos();
    for (size_t n = 0; n < limit && !shard.expiring.empty() &&
                       shard.expiring.begin()->first <= now;
         ++n) {
      Expire(shard, shard.entries.find(shard.expiring.begin()->second->key()),
             dropped);
      ++expired;
    }
  }
  return expired;
}

ShardedMap::Applied ShardedMap::Apply(Shard& shard, const GroupCommitQueue& wal,
                                      absl::string_view key,
                                      Durability durability, Decide decide) {
  Applied applied;
  if (closed()) {
    applied.result = ClosedError();
    return applied;
  }
  if (wal.failed()) {
    applied.result = wal.health();
    return applied;
  }
  if (durability == Durability::kMemory && wal.replicated()) {
    applied.result = absl::FailedPreconditionError(absl::StrCat(
        "map \"", name_,
        "\": MEMORY writes are refused in a replicated store (they would "
        "never reach the commit log, so other replicas would never see "
        "them); write at ASYNC, WRITE or FSYNC"));
    return applied;
  }
  auto it = shard.entries.find(key);
  // An expired entry is deleted first, as a change of its own: the write
  // then sees no entry.
  ExpireIfDue(shard, &it, applied.dropped);
  const Entry* current = it == shard.entries.end() ? nullptr : *it;
  absl::StatusOr<Change*> decided = decide(current);
  if (!decided.ok()) {
    applied.result = decided.status();
    return applied;
  }
  Change* const change = *decided;
  UpdateResult result;
  result.existed = current != nullptr;
  result.etag = clock_.MakeEtag(current ? current->revision() : 0);
  switch (change->kind) {
    case Change::Kind::kKeep:
      result.outcome = UpdateResult::Outcome::kCancelled;
      result.revision = clock_.current();
      applied.result = result;
      return applied;
    case Change::Kind::kSet: {
      result.outcome = UpdateResult::Outcome::kSet;
      // The old value, swapped into the change, is freed with it, once the
      // caller has unlocked the shard.
      Entry* const entry = Put(shard, it, key, change->value, change->expires);
      // Last, once readers can find the change (revision_clock.h).
      entry->revision_ =
          changes_.Record(applied.dropped, name_, key, entry->value_,
                          change->record.size(), entry->expires_);
      result.etag = clock_.MakeEtag(entry->revision_);
      result.revision = entry->revision_;
      break;
    }
    case Change::Kind::kDelete:
      result.outcome = UpdateResult::Outcome::kDeleted;
      result.etag = clock_.MakeEtag(0);
      if (current != nullptr) {
        Erase(shard, it);
        // Last, as for a set.
        result.revision = changes_.Record(applied.dropped, name_, key, nullptr,
                                          change->record.size());
      } else {
        // Nothing changes (its D record is still written, as go-persist
        // writes one): no revision of its own.
        result.revision = clock_.current();
      }
      break;
  }
  writes_[static_cast<int>(durability)].fetch_add(1, std::memory_order_relaxed);
  switch (durability) {
    case Durability::kMemory:
      // The WAL is not written, but an unflushed ASYNC change of this key
      // must not be flushed over the newer value: the flusher writes the
      // key's latest state.
      // (Not the D record of an expiry: the key expired before this
      // write, which stays in memory as MEMORY writes do.)
      if (auto dirty = shard.dirty.find(key);
          dirty != shard.dirty.end() && !dirty->second.expiry) {
        dirty->second.record = std::move(change->record);
      }
      break;
    case Durability::kAsync:
      shard.dirty.insert_or_assign(key,
                                   Shard::Pending{std::move(change->record)});
      break;
    case Durability::kWrite:
    case Durability::kFsync:
      shard.dirty.erase(key);  // this record supersedes a pending one
      applied.wal_completes = true;
      applied.record = std::move(change->record);
      break;
  }
  applied.result = result;
  return applied;
}

template <typename Result>
void ShardedMap::Write(GroupCommitQueue& wal, absl::string_view key,
                       Durability durability, Decide decide,
                       Callback<Result> done) {
  Shard& shard = ShardFor(key);
  Applied applied;
  {
    MutexLock lock(&shard.mu);
    applied = Apply(shard, wal, key, durability, decide);
    if (applied.wal_completes) {
      // Queued under the shard's lock: the key's records stay in order.
      wal.Enqueue(applied.record, 1, durability,
                  [done = std::move(done),
                   result = *applied.result](absl::Status durable) mutable {
                    if (durable.ok()) {
                      done(ResultOf<Result>(result));
                    } else {
                      done(std::move(durable));
                    }
                  });
    }
  }
  if (applied.wal_completes) {
    wal.Commit();  // with the shard unlocked: this thread may write the WAL
    return;
  }
  // Only a change the WAL completes moved `done` away, and it returned.
  if (applied.result.ok()) {
    done(ResultOf<Result>(*applied.result));  // NOLINT(bugprone-use-after-move)
  } else {
    done(applied.result.status());  // NOLINT(bugprone-use-after-move)
  }
}

template void ShardedMap::Write<WriteResult>(GroupCommitQueue&,
                                             absl::string_view, Durability,
                                             Decide, Callback<WriteResult>);
template void ShardedMap::Write<UpdateResult>(GroupCommitQueue&,
                                              absl::string_view, Durability,
                                              Decide, Callback<UpdateResult>);

void ShardedMap::Restore(absl::string_view key,
                         std::shared_ptr<const Message> value) {
  Shard& shard = ShardFor(key);
  MutexLock lock(&shard.mu);
  const auto it = shard.entries.find(key);
  if (value != nullptr) {
    Put(shard, it, key, value, kNoExpiry)->revision_ =
        RevisionClock::kRecovered;
  } else {
    Erase(shard, it);
  }
}

void ShardedMap::RestoreExpiry(absl::string_view key, int64_t nanos) {
  Shard& shard = ShardFor(key);
  MutexLock lock(&shard.mu);
  const auto it = shard.entries.find(key);
  if (it != shard.entries.end()) SetExpiry(shard, *it, nanos);
}

int64_t ShardedMap::FlushDirty(GroupCommitQueue& wal) {
  int64_t flushed = 0;
  std::string batch;
  for (int i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    MutexLock lock(&shard.mu);
    if (shard.dirty.empty()) continue;
    batch.clear();
    for (const auto& [key, pending] : shard.dirty) batch += pending.record;
    const auto count = static_cast<int64_t>(shard.dirty.size());
    shard.dirty.clear();
    wal.Enqueue(batch, count, Durability::kAsync);
    flushed += count;
  }
  return flushed;
}

absl::Status ShardedMap::ForEachShardSnapshot(
    absl::FunctionRef<absl::Status(const ShardSnapshot&)> fn) const {
  ShardSnapshot snapshot;
  for (int i = 0; i < shard_count_; ++i) {
    snapshot.clear();
    {
      ReaderMutexLock lock(&shards_[i].mu);
      snapshot.reserve(shards_[i].entries.size());
      const int64_t now = NowNanos();
      for (const Entry* entry : shards_[i].entries) {
        if (Expired(*entry, now)) continue;
        snapshot.push_back(
            {std::string(entry->key()), entry->value(), entry->expires()});
      }
    }
    if (absl::Status status = fn(snapshot); !status.ok()) return status;
  }
  return absl::OkStatus();
}

void ShardedMap::Close() {
  closed_.store(true, std::memory_order_release);
  // A write checks `closed_` with its shard locked, so once every shard has
  // been locked here, no write can change the map any more.
  for (int i = 0; i < shard_count_; ++i) MutexLock lock(&shards_[i].mu);
}

absl::Status ShardedMap::ClosedError() const {
  return absl::UnavailableError(
      absl::StrCat("map \"", name_,
                   "\" is closed with its store; open the store again to "
                   "use it"));
}

std::array<uint64_t, kDurabilityCount> ShardedMap::writes() const {
  std::array<uint64_t, kDurabilityCount> counts{};
  for (int i = 0; i < kDurabilityCount; ++i) {
    counts[i] = writes_[i].load(std::memory_order_relaxed);
  }
  return counts;
}

}  // namespace persist
