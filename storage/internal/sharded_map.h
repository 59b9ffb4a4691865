// ShardedMap: one map's entries in memory, and the one path by which they
// change (DESIGN.md section 5).
//
// Entries live in a fixed number of shards, each a hash set under its own
// mutex, so that writers of different keys rarely meet and readers of a
// shard share its lock. Each entry is one allocation holding its key, its
// value and its revision. An ordered index of the keys (one per map,
// under its own mutex) serves Scan in O(log n + entries visited); only writes
// that add or remove a key touch it, never a write of an existing key.
//
// Every write of a key happens with its shard locked (Write): it is refused
// if the map is closed or the WAL stopped, the caller decides from the
// current entry, the change takes the store's next revision and its record
// goes to the WAL (ASYNC: to the shard's dirty set, which FlushDirty hands
// to the WAL later). So for any key, the order of its records in the WAL is
// the order of its changes in memory. The change takes its revision last,
// once readers can find it (revision_clock.h); a write that changes
// nothing (a delete of a missing key, a cancelled update) takes none.
//
// Expiry (expiry.h): an entry whose expiry time has come is invisible to
// Find, Scan and the decisions of writes. It is deleted (its D record to the
// shard's dirty set, as an ASYNC write; a change marked expired with a
// revision of its own) by the first write of its key that comes, or by
// ExpireDue, which the store runs in the background. Each shard keeps its
// expiring entries ordered by time, so ExpireDue costs O(log n) per entry
// it deletes and nothing for the others.
//
// Close is a barrier: once it returned, no write changes the map any more.
//
// Thread-safety: every method may be called concurrently. Lock order: a
// shard, then the index, then the WAL queue's own lock. Scan holds the
// index and only try-locks a shard: it must never block on one while
// holding the index.
#ifndef PERSIST_STORAGE_INTERNAL_SHARDED_MAP_H_
#define PERSIST_STORAGE_INTERNAL_SHARDED_MAP_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "google/protobuf/message.h"
#include "storage/batch.h"
#include "storage/durability.h"
#include "storage/expiry.h"
#include "storage/internal/change_history.h"
#include "storage/internal/group_commit_queue.h"
#include "storage/write_options.h"

namespace persist {

class ShardedMap {
 public:
  using Message = google::protobuf::Message;

  // One key's entry. Its value and revision change only under its shard's
  // lock; its key never changes.
  class Entry {
   public:
    absl::string_view key() const {
      return {reinterpret_cast<const char*>(this + 1), key_size_};
    }
    const std::shared_ptr<const Message>& value() const { return value_; }
    uint64_t revision() const { return revision_; }
    int64_t expires() const { return expires_; }  // nanos; kNoExpiry

   private:
    friend class ShardedMap;
    explicit Entry(size_t key_size) : key_size_(key_size) {}
    // One allocation: the Entry, then the key's bytes.
    static Entry* New(absl::string_view key);
    static void Delete(Entry* entry);

    std::shared_ptr<const Message> value_;
    uint64_t revision_ = 0;
    int64_t expires_ = kNoExpiry;
    const size_t key_size_;
  };

  // An entry as a reader gets it.
  struct Found {
    std::shared_ptr<const Message> value;
    uint64_t revision = 0;
    int64_t expires = kNoExpiry;
  };

  // What a write does to its key, decided with the key's shard locked.
  struct Change {
    enum class Kind { kKeep, kSet, kDelete };
    Kind kind = Kind::kKeep;  // kKeep: nothing (an update that cancelled)
    std::shared_ptr<const Message> value;  // kSet
    int64_t expires = kNoExpiry;           // kSet: the value's expiry
    // kSet, kDelete: its WAL records (a set's with its E record, when it
    // has an expiry, framed in "B 2" unless `records` goes into a batch).
    std::string record;
    int64_t frame_records = 1;  // two-line records of `record` in a batch
  };
  // Sees the key's entry (null: none) and chooses the change, or refuses
  // the write with an error. The change is the caller's (Write moves from
  // it), so that a prepared change is never copied or moved on the way.
  using Decide =
      absl::FunctionRef<absl::StatusOr<Change*>(const Entry* current)>;
  template <typename Result>
  using Callback = absl::AnyInvocable<void(absl::StatusOr<Result>)>;

  // `name` is for messages and changes; `changes` gives the changes their
  // revisions, keeps them, and must outlive the map, as must `clock`, which
  // says when entries expire. `shard_count` is a power of two.
  ShardedMap(std::string name, ChangeHistory& changes, const Clock& clock,
             int shard_count);
  ~ShardedMap();
  ShardedMap(const ShardedMap&) = delete;
  ShardedMap& operator=(const ShardedMap&) = delete;

  const std::string& name() const { return name_; }

  // The key's entry; false if there is none.
  bool Find(absl::string_view key, Found* found) const;

  // Calls `fn` for the entries whose keys start with `prefix` and sort
  // after `start_after`, in key order, until it returns false. Each key is
  // seen at most once, with a value it had during the call; keys written
  // meanwhile may or may not be seen. `fn` runs with no lock held.
  using ScanFunction =
      absl::FunctionRef<bool(absl::string_view key, const Found& entry)>;
  void Scan(absl::string_view prefix, absl::string_view start_after,
            ScanFunction fn) const;

  // Live keys (with those expired that are not deleted yet).
  int64_t size() const { return size_.load(std::memory_order_relaxed); }
  // Entries that have an expiry, and expirations since open.
  int64_t expiring() const { return expiring_.load(std::memory_order_relaxed); }
  uint64_t expirations() const {
    return expirations_.load(std::memory_order_relaxed);
  }

  // Deletes the entries whose expiry has come (see the file comment), at
  // most `limit` of them per shard, unless the map is closed or `wal`
  // failed. Returns how many.
  int64_t ExpireDue(const GroupCommitQueue& wal, size_t limit);

  // The one write path (see the file comment). `done` runs exactly once:
  // before Write returns (errors, cancelled updates, MEMORY and ASYNC, and
  // a WRITE this thread wrote itself), or on the thread that made a WRITE
  // or FSYNC record durable (another writer's, or one of the WAL's). Result is
  // UpdateResult or WriteResult. `decide` runs with the shard locked: it
  // must be quick and must not call the store.
  template <typename Result>
  void Write(GroupCommitQueue& wal, absl::string_view key,
             Durability durability, Decide decide, Callback<Result> done);

  // One operation of an atomic batch (batch.h): its map, its key and how
  // it decides, as Write's `decide`.
  struct BatchStep {
    ShardedMap* map = nullptr;
    absl::string_view key;
    Decide decide;
  };
  // Writes a batch all or nothing: locks every shard it touches (of any
  // maps of one store, whose ChangeHistory they share) in one global order,
  // decides every step, and only if all of them can go, applies them,
  // takes consecutive revisions and queues one WAL frame (wal_format.h).
  // The first step that refuses fails the whole batch with its error,
  // prefixed "operations[i]: ". No two steps may have the same key of the
  // same map (the caller checks). `done` runs as Write's does.
  static void WriteBatch(GroupCommitQueue& wal,
                         const std::vector<BatchStep>& steps,
                         Durability durability, BatchCallback done);

  // Recovery: sets the key's state as the WAL says (null value: deleted),
  // with no expiry. The entry carries RevisionClock::kRecovered: recovery
  // takes no revisions.
  void Restore(absl::string_view key, std::shared_ptr<const Message> value);
  // Recovery of an E record: the key's value expires at `nanos`. Nothing
  // if the key has no value.
  void RestoreExpiry(absl::string_view key, int64_t nanos);

  // Hands every ASYNC change to `wal` (with each shard locked, so that a
  // later write of the same key queues after it). Returns how many. They
  // are written by the next Commit (the caller's Sync, or any writer's).
  int64_t FlushDirty(GroupCommitQueue& wal);

  // Shrink: calls `fn` with a copy of each shard's entries in turn, those
  // expired left out.
  struct SnapshotEntry {
    std::string key;
    std::shared_ptr<const Message> value;
    int64_t expires = kNoExpiry;
  };
  using ShardSnapshot = std::vector<SnapshotEntry>;
  absl::Status ForEachShardSnapshot(
      absl::FunctionRef<absl::Status(const ShardSnapshot&)> fn) const;

  // Refuses every later write and waits out those in progress.
  void Close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  // What calls of a closed map get: Unavailable.
  absl::Status ClosedError() const;

  // Changes made since open, indexed by Durability.
  std::array<uint64_t, kDurabilityCount> writes() const;

 private:
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(absl::string_view key) const;
    size_t operator()(const Entry* entry) const {
      return (*this)(entry->key());
    }
  };
  struct KeyEq {
    using is_transparent = void;
    static absl::string_view KeyOf(absl::string_view key) { return key; }
    static absl::string_view KeyOf(const Entry* entry) { return entry->key(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return KeyOf(a) == KeyOf(b);
    }
  };
  struct KeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return KeyEq::KeyOf(a) < KeyEq::KeyOf(b);
    }
  };
  // Apart from its neighbours' cache lines: writers of different shards
  // should not slow each other down.
  using EntrySet = absl::flat_hash_set<Entry*, KeyHash, KeyEq>;
  struct alignas(64) Shard {
    mutable Mutex mu;
    EntrySet entries ABSL_GUARDED_BY(mu);
    // ASYNC changes not yet in the WAL: key -> its latest record, and
    // whether it is the D record of an expiry (which a MEMORY write leaves
    // alone: that write stays in memory, whatever expired before it).
    struct Pending {
      std::string record;
      bool expiry = false;
    };
    absl::flat_hash_map<std::string, Pending> dirty ABSL_GUARDED_BY(mu);
    // The entries that have an expiry, soonest first.
    absl::btree_set<std::pair<int64_t, Entry*>> expiring ABSL_GUARDED_BY(mu);
  };
  // What a write did, and the record it leaves for the WAL to complete.
  struct Applied {
    absl::StatusOr<UpdateResult> result;
    bool wal_completes = false;  // WRITE or FSYNC: `record` is to be queued
    std::string record;
    // The changes the history dropped, freed once the shard is unlocked.
    ChangeHistory::Dropped dropped;
  };

  Shard& ShardFor(absl::string_view key) const;
  // WriteBatch's work with every shard of `steps` locked (shards[i] is
  // steps[i]'s): the result, and the frame to queue with its record count.
  static absl::StatusOr<BatchResult> ApplyBatch(
      const GroupCommitQueue& wal, const std::vector<BatchStep>& steps,
      const std::vector<Shard*>& shards, Durability durability,
      std::string* frame, int64_t* records, ChangeHistory::Dropped& dropped);
  Applied Apply(Shard& shard, const GroupCommitQueue& wal,
                absl::string_view key, Durability durability, Decide decide)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Sets or removes the key's entry, `it` (end() if there is none): the
  // caller has looked the key up already. Put returns the entry, whose
  // revision the caller sets. It takes `value` and leaves there the
  // entry's old value (null if none), for the caller to free once it has
  // unlocked the shard.
  Entry* Put(Shard& shard, EntrySet::iterator it, absl::string_view key,
             std::shared_ptr<const Message>& value, int64_t expires)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  void Erase(Shard& shard, EntrySet::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  void SetExpiry(Shard& shard, Entry* entry, int64_t expires)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Whether `entry` has expired at `now` (nanos).
  static bool Expired(const Entry& entry, int64_t now) {
    return entry.expires_ != kNoExpiry && entry.expires_ <= now;
  }
  int64_t NowNanos() const { return absl::ToUnixNanos(clock_now_.Now()); }
  // If the entry at `it` has expired, deletes it (see the file comment)
  // and sets `*it` to end(). Returns whether it did.
  // The changes the history drops go to `dropped`.
  bool ExpireIfDue(Shard& shard, EntrySet::iterator* it,
                   ChangeHistory::Dropped& dropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  void Expire(Shard& shard, EntrySet::iterator it,
              ChangeHistory::Dropped& dropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // A key Scan visits, with its entry when it could be read at once.
  struct Scanned {
    std::string key;
    Found found;
    bool read = false;  // false: look the key up (its shard was busy)
  };
  // Up to `limit` keys of the index from `from` on (after it if `after`),
  // while they start with `prefix`, with their entries.
  std::vector<Scanned> IndexRange(absl::string_view prefix,
                                  absl::string_view from, bool after,
                                  size_t limit) const;

  const std::string name_;
  ChangeHistory& changes_;
  const RevisionClock& clock_;  // changes_'s
  const Clock& clock_now_;      // for expiry
  const int shard_shift_;       // shard = hash >> shard_shift_
  const int shard_count_;
  const std::unique_ptr<Shard[]> shards_;
  std::atomic<int64_t> size_{0};
  std::atomic<int64_t> expiring_{0};
  std::atomic<uint64_t> expirations_{0};
  std::atomic<bool> closed_{false};
  std::array<std::atomic<uint64_t>, kDurabilityCount> writes_{};

  mutable Mutex index_mu_;
  absl::btree_set<const Entry*, KeyLess> index_ ABSL_GUARDED_BY(index_mu_);
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_SHARDED_MAP_H_
