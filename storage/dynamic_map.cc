#include "storage/dynamic_map.h"

#include <atomic>
#include <bit>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/names.h"
#include "base/status_macros.h"
#include "storage/internal/store_context.h"
#include "storage/internal/wal_format.h"

namespace persist {
namespace {

using google::protobuf::Message;
using Done = absl::AnyInvocable<void(absl::Status)>;

// A key quoted for messages, cut to a readable length.
std::string Quoted(absl::string_view key) {
  return absl::StrCat("\"", absl::CHexEscape(key.substr(0, 200)),
                      key.size() > 200 ? "...\"" : "\"");
}

// Blocks until a Start* call completes. The completion may run on the WAL's
// thread after the caller gave up its stack, so the state is shared. A
// futex-backed atomic wait: the WAL thread wakes one caller per completed
// write, and this is the cheapest way to do it.
template <typename Result>
class Waiter {
 public:
  Waiter() : state_(std::make_shared<State>()) {}
  absl::AnyInvocable<void(absl::StatusOr<Result>)> Callback() {
    return [state = state_](absl::StatusOr<Result> result) {
      state->result = std::move(result);
      state->done.store(1, std::memory_order_release);
      state->done.notify_one();
    };
  }
  absl::StatusOr<Result> Wait() {
    while (state_->done.load(std::memory_order_acquire) == 0) {
      state_->done.wait(0, std::memory_order_acquire);
    }
    return std::move(state_->result);
  }

 private:
  struct State {
    std::atomic<uint32_t> done{0};
    absl::StatusOr<Result> result = absl::UnknownError("not completed");
  };
  const std::shared_ptr<State> state_;
};

// Runs a Start* call given as `start(callback)` and returns its result.
// MEMORY and ASYNC writes complete before Start* returns, so they need no
// Waiter.
template <typename Result, typename Start>
absl::StatusOr<Result> Blocking(Durability durability, Start start) {
  if (durability == Durability::kMemory || durability == Durability::kAsync) {
    absl::StatusOr<Result> result;
    start(absl::AnyInvocable<void(absl::StatusOr<Result>)>(
        [&result](absl::StatusOr<Result> r) { result = std::move(r); }));
    return result;
  }
  Waiter<Result> waiter;
  start(waiter.Callback());
  return waiter.Wait();
}

}  // namespace

DynamicMap::DynamicMap(StoreContext* context, std::string name,
                       const google::protobuf::Descriptor* type,
                       const Message* prototype, int shard_count)
    : context_(context),
      name_(std::move(name)),
      type_(type),
      prototype_(prototype),
      shard_shift_(64 - std::countr_zero(static_cast<unsigned>(shard_count))),
      shards_(new Shard[shard_count]),
      shard_count_(shard_count) {}

std::unique_ptr<Message> DynamicMap::NewValue() const {
  return std::unique_ptr<Message>(prototype_->New());
}

DynamicMap::Shard& DynamicMap::ShardFor(absl::string_view key) const {
  if (shard_count_ == 1) return shards_[0];
  // The high bits: flat_hash_map uses the low ones inside each shard.
  const uint64_t hash = absl::Hash<absl::string_view>{}(key);
  return shards_[hash >> shard_shift_];
}

absl::Status DynamicMap::CheckValue(const Message& value) const {
  if (value.GetDescriptor() != type_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "map \"", name_, "\" holds ", type_->full_name(), ", not ",
        value.GetDescriptor()->full_name(),
        value.GetDescriptor()->full_name() == type_->full_name()
            ? " from another descriptor pool; build values with the map's "
              "own type (DynamicMap::NewValue)"
            : ""));
  }
  // A DynamicMessage of a generated type has the right descriptor but is
  // not the generated class that Map<T> hands out.
  if (value.GetReflection() != prototype_->GetReflection()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "map \"", name_, "\" holds ", type_->full_name(),
        " made by its own message factory; this value was made by another "
        "(for example a DynamicMessage of a generated type). Build values "
        "with DynamicMap::NewValue or the generated class."));
  }
  return absl::OkStatus();
}

absl::StatusOr<DynamicMap::Change> DynamicMap::Prepare(
    absl::string_view key, std::shared_ptr<const Message> value) const {
  if (absl::Status status = ValidateKey(key); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("map \"", name_, "\": ", status.message()));
  }
  Change change;
  if (value != nullptr) {
    PERSIST_RETURN_IF_ERROR(CheckValue(*value));
    thread_local std::string json;
    json.clear();
    if (absl::Status status = context_->codec.Encode(*value, &json);
        !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("map \"", name_, "\" key ", Quoted(key),
                       ": the value cannot be written as JSON: ",
                       status.message()));
    }
    // Built for MEMORY too: it replaces a pending ASYNC record of the key.
    AppendSetRecord(name_, key, json, &change.record);
    change.value = std::move(value);
  } else {
    AppendDeleteRecord(name_, key, &change.record);
  }
  return change;
}

absl::Status DynamicMap::CheckPrecondition(const StoredEntry* current,
                                           const Precondition& precondition,
                                           absl::string_view key) const {
  switch (precondition.kind) {
    case Precondition::Kind::kNone:
      return absl::OkStatus();
    case Precondition::Kind::kMustExist:
      if (current != nullptr) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat(
          "map \"", name_, "\" has no key ", Quoted(key),
          " and the write required it to exist"));
    case Precondition::Kind::kMustNotExist:
      if (current == nullptr) return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("map \"", name_, "\" already has key ", Quoted(key),
                       " and the write required it to be absent"));
    case Precondition::Kind::kEtagMatches: {
      PERSIST_ASSIGN_OR_RETURN(const Etag wanted,
                               Etag::Parse(precondition.etag));
      const Etag actual = context_->MakeEtag(
          current == nullptr ? 0 : current->sequence);
      if (current != nullptr && wanted == actual) return absl::OkStatus();
      return absl::AbortedError(absl::StrCat(
          "map \"", name_, "\" key ", Quoted(key), " is ",
          current == nullptr ? "absent" : "at etag " + actual.ToString(),
          ", the write expected etag ", precondition.etag,
          "; read the key again and retry"));
    }
  }
  return absl::InvalidArgumentError("unknown precondition kind");
}

WriteResult DynamicMap::Commit(
    Shard& shard, absl::string_view key, Change change, Durability durability,
    absl::FunctionRef<Done(const WriteResult&)> on_durable, bool* queued) {
  WriteResult result;
  const uint64_t sequence = context_->NextSequence();
  if (change.value != nullptr) {
    auto [it, inserted] = shard.entries.try_emplace(key);
    result.existed = !inserted;
    it->second.value = std::move(change.value);
    it->second.sequence = sequence;
    result.etag = context_->MakeEtag(sequence);
    if (inserted) size_.fetch_add(1, std::memory_order_relaxed);
  } else {
    result.existed = shard.entries.erase(key) > 0;
    result.etag = context_->MakeEtag(0);
    if (result.existed) size_.fetch_sub(1, std::memory_order_relaxed);
  }
  *queued = false;
  context_->writes[static_cast<int>(durability)].fetch_add(
      1, std::memory_order_relaxed);
  switch (durability) {
    case Durability::kMemory:
      // The WAL is not written, but an unflushed ASYNC change of this key
      // must not be flushed over the newer value: the flusher writes the
      // key's latest state.
      if (auto it = shard.dirty.find(key); it != shard.dirty.end()) {
        it->second = std::move(change.record);
      }
      break;
    case Durability::kAsync:
      shard.dirty.insert_or_assign(key, std::move(change.record));
      break;
    case Durability::kWrite:
    case Durability::kFsync:
      shard.dirty.erase(key);  // this record supersedes a pending one
      context_->queue->Enqueue(change.record, 1, durability,
                               on_durable(result));
      *queued = true;
      break;
  }
  return result;
}

absl::StatusOr<Entry<Message>> DynamicMap::Get(absl::string_view key) const {
  PERSIST_RETURN_IF_ERROR(context_->CheckOpen());
  Shard& shard = ShardFor(key);
  Entry<Message> entry;
  ReaderMutexLock lock(&shard.mu);
  if (auto it = shard.entries.find(key); it != shard.entries.end()) {
    entry.value = it->second.value;
    entry.etag = context_->MakeEtag(it->second.sequence);
  }
  return entry;
}

void DynamicMap::StartWrite(absl::string_view key,
                            std::shared_ptr<const Message> value,
                            const WriteOptions& options, WriteCallback done) {
  absl::StatusOr<Change> change =
      Prepare(key, std::move(value));
  if (!change.ok()) {
    done(change.status());
    return;
  }
  Shard& shard = ShardFor(key);
  absl::StatusOr<WriteResult> result;
  bool queued = false;
  {
    MutexLock lock(&shard.mu);
    absl::Status status = context_->CheckWritable();
    if (status.ok() && options.precondition.kind != Precondition::Kind::kNone) {
      auto it = shard.entries.find(key);
      status = CheckPrecondition(
          it == shard.entries.end() ? nullptr : &it->second,
          options.precondition, key);
    }
    if (!status.ok()) {
      result = status;
    } else {
      result = Commit(
          shard, key, *std::move(change), options.durability,
          [&done](const WriteResult& committed) -> Done {
            return [done = std::move(done),
                    committed](absl::Status durable) mutable {
              if (durable.ok()) {
                done(committed);
              } else {
                done(std::move(durable));
              }
            };
          },
          &queued);
    }
  }
  if (!queued) done(std::move(result));
}

void DynamicMap::StartSet(absl::string_view key,
                          std::shared_ptr<const Message> value,
                          const WriteOptions& options, WriteCallback done) {
  if (value == nullptr) {
    done(absl::InvalidArgumentError(absl::StrCat(
        "map \"", name_, "\" key ", Quoted(key),
        ": Set needs a value (use Delete to remove a key)")));
    return;
  }
  StartWrite(key, std::move(value), options, std::move(done));
}

void DynamicMap::StartDelete(absl::string_view key,
                             const WriteOptions& options, WriteCallback done) {
  StartWrite(key, nullptr, options, std::move(done));
}

absl::StatusOr<WriteResult> DynamicMap::Set(
    absl::string_view key, std::shared_ptr<const Message> value,
    const WriteOptions& options) {
  return Blocking<WriteResult>(options.durability, [&](auto done) {
    StartSet(key, std::move(value), options, std::move(done));
  });
}

absl::StatusOr<WriteResult> DynamicMap::Delete(absl::string_view key,
                                               const WriteOptions& options) {
  return Blocking<WriteResult>(options.durability, [&](auto done) {
    StartDelete(key, options, std::move(done));
  });
}

void DynamicMap::StartUpdate(absl::string_view key, UpdateFunction fn,
                             const WriteOptions& options,
                             UpdateCallback done) {
  if (absl::Status status = ValidateKey(key); !status.ok()) {
    done(absl::InvalidArgumentError(
        absl::StrCat("map \"", name_, "\": ", status.message())));
    return;
  }
  Shard& shard = ShardFor(key);
  absl::StatusOr<UpdateResult> result;
  bool queued = false;
  {
    MutexLock lock(&shard.mu);
    auto it = shard.entries.find(key);
    const StoredEntry* current =
        it == shard.entries.end() ? nullptr : &it->second;
    absl::Status status = context_->CheckWritable();
    if (status.ok()) {
      status = CheckPrecondition(current, options.precondition, key);
    }
    UpdateResult update;
    update.existed = current != nullptr;
    update.etag = context_->MakeEtag(current ? current->sequence : 0);
    absl::StatusOr<Change> change;
    if (status.ok()) {
      const UpdateDecision<Message> decision =
          fn(current ? current->value.get() : nullptr);
      switch (decision.kind()) {
        case UpdateDecision<Message>::Kind::kCancel:
          update.outcome = UpdateResult::Outcome::kCancelled;
          result = update;
          break;
        case UpdateDecision<Message>::Kind::kSet:
          if (decision.value() == nullptr) {
            status = absl::InvalidArgumentError(absl::StrCat(
                "map \"", name_, "\" key ", Quoted(key),
                ": the update function chose Set without a value"));
            break;
          }
          update.outcome = UpdateResult::Outcome::kSet;
          change = Prepare(key, decision.value());
          break;
        case UpdateDecision<Message>::Kind::kDelete:
          update.outcome = UpdateResult::Outcome::kDeleted;
          change = Prepare(key, nullptr);
          break;
      }
      if (status.ok() && !change.ok() &&
          update.outcome != UpdateResult::Outcome::kCancelled) {
        status = change.status();
      }
    }
    if (!status.ok()) {
      result = status;
    } else if (update.outcome != UpdateResult::Outcome::kCancelled) {
      const WriteResult committed = Commit(
          shard, key, *std::move(change), options.durability,
          [&done, &update](const WriteResult& committed) -> Done {
            UpdateResult final_result = update;
            final_result.etag = committed.etag;
            return [done = std::move(done),
                    final_result](absl::Status durable) mutable {
              if (durable.ok()) {
                done(final_result);
              } else {
                done(std::move(durable));
              }
            };
          },
          &queued);
      update.etag = committed.etag;
      result = update;
    }
  }
  if (!queued) done(std::move(result));
}

absl::StatusOr<UpdateResult> DynamicMap::Update(absl::string_view key,
                                                UpdateFunction fn,
                                                const WriteOptions& options) {
  return Blocking<UpdateResult>(options.durability, [&](auto done) {
    StartUpdate(key, fn, options, std::move(done));
  });
}

absl::Status DynamicMap::SetInMemory(absl::string_view key,
                                     std::shared_ptr<const Message> value) {
  WriteOptions options;
  options.durability = Durability::kMemory;
  return Set(key, std::move(value), options).status();
}

absl::StatusOr<UpdateResult> DynamicMap::UpdateInMemory(absl::string_view key,
                                                        UpdateFunction fn) {
  WriteOptions options;
  options.durability = Durability::kMemory;
  return Update(key, fn, options);
}

absl::Status DynamicMap::Range(RangeFunction fn) const {
  PERSIST_RETURN_IF_ERROR(context_->CheckOpen());
  std::vector<std::pair<std::string, Entry<Message>>> snapshot;
  for (int i = 0; i < shard_count_; ++i) {
    snapshot.clear();
    {
      ReaderMutexLock lock(&shards_[i].mu);
      snapshot.reserve(shards_[i].entries.size());
      for (const auto& [key, stored] : shards_[i].entries) {
        snapshot.push_back(
            {key, {stored.value, context_->MakeEtag(stored.sequence)}});
      }
    }
    for (const auto& [key, entry] : snapshot) {
      if (!fn(key, entry)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

void DynamicMap::Recover(absl::string_view key,
                         std::shared_ptr<const Message> value) {
  Shard& shard = ShardFor(key);
  MutexLock lock(&shard.mu);
  const uint64_t sequence = context_->NextSequence();
  if (value != nullptr) {
    auto [it, inserted] = shard.entries.try_emplace(key);
    it->second.value = std::move(value);
    it->second.sequence = sequence;
    if (inserted) size_.fetch_add(1, std::memory_order_relaxed);
  } else if (shard.entries.erase(key) > 0) {
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
}

int64_t DynamicMap::FlushDirty() {
  int64_t flushed = 0;
  std::string batch;
  for (int i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    MutexLock lock(&shard.mu);
    if (shard.dirty.empty()) continue;
    batch.clear();
    for (const auto& [key, record] : shard.dirty) batch += record;
    const auto count = static_cast<int>(shard.dirty.size());
    shard.dirty.clear();
    // Queued under the shard lock: a later WRITE of the same key queues
    // after this.
    context_->queue->Enqueue(batch, count, Durability::kAsync);
    flushed += count;
  }
  return flushed;
}

absl::Status DynamicMap::ForEachShardSnapshot(SnapshotFunction fn) const {
  std::vector<std::pair<std::string, std::shared_ptr<const Message>>> snapshot;
  for (int i = 0; i < shard_count_; ++i) {
    snapshot.clear();
    {
      ReaderMutexLock lock(&shards_[i].mu);
      snapshot.reserve(shards_[i].entries.size());
      for (const auto& [key, stored] : shards_[i].entries) {
        snapshot.emplace_back(key, stored.value);
      }
    }
    PERSIST_RETURN_IF_ERROR(fn(snapshot));
  }
  return absl::OkStatus();
}

}  // namespace persist
