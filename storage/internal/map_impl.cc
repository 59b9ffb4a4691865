#include "storage/internal/map_impl.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "storage/expiry.h"
#include "storage/internal/wal_format.h"
#include "storage/names.h"

namespace persist {
namespace {

// The expiry an update's set writes: `expires`, or the key's own.
absl::Time ExpiryOfUpdate(const ShardedMap::Entry* current, absl::Time expires,
                          bool keep_expiry) {
  if (!keep_expiry) return expires;
  return current == nullptr ? absl::InfiniteFuture()
                            : ExpiryTime(current->expires());
}

}  // namespace

MapImpl::MapImpl(const google::protobuf::Descriptor* type,
                 const Message* prototype, std::unique_ptr<ShardedMap> entries,
                 const JsonCodec& codec, GroupCommitQueue& wal,
                 const RevisionClock& clock)
    : type_(type),
      prototype_(prototype),
      entries_(std::move(entries)),
      codec_(codec),
      wal_(wal),
      clock_(clock) {}

std::unique_ptr<google::protobuf::Message> MapImpl::NewValue() const {
  return std::unique_ptr<Message>(prototype_->New());
}

absl::Status MapImpl::CheckKey(absl::string_view key) const {
  if (absl::Status status = ValidateKey(key); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("map \"", name(), "\": ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status MapImpl::CheckValue(absl::string_view key,
                                 const Message& value) const {
  PERSIST_RETURN_IF_ERROR(CheckKey(key));
  PERSIST_RETURN_IF_ERROR(CheckType(value));
  std::string json;
  return Encode(key, value, &json, nullptr);
}

absl::Status MapImpl::Encode(absl::string_view key, const Message& value,
                             std::string* json, JsonEncodeStats* stats) const {
  if (absl::Status status = codec_.Encode(value, json, stats); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "map \"", name(), "\" key ", QuotedKey(key),
        ": the value cannot be written as JSON: ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status MapImpl::CheckType(const Message& value) const {
  if (value.GetDescriptor() != type_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "map \"", name(), "\" holds ", type_->full_name(), ", not ",
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
        "map \"", name(), "\" holds ", type_->full_name(),
        " made by its own message factory; this value was made by another "
        "(for example a DynamicMessage of a generated type). Build values "
        "with DynamicMap::NewValue or the generated class."));
  }
  return absl::OkStatus();
}

absl::StatusOr<MapImpl::Change> MapImpl::Prepare(
    absl::string_view key, std::shared_ptr<const Message> value,
    const ExpiryOf& expiry) const {
  PERSIST_RETURN_IF_ERROR(CheckKey(key));
  Change change;
  if (value == nullptr) {
    change.kind = Change::Kind::kDelete;
    AppendDeleteRecord(name(), key, &change.record);
    return change;
  }
  PERSIST_RETURN_IF_ERROR(CheckType(*value));
  thread_local std::string json;
  json.clear();
  JsonEncodeStats stats;
  PERSIST_RETURN_IF_ERROR(Encode(key, *value, &json, &stats));
  if (stats.ignored_unknown_fields > 0) {
    // The JSON dropped them; so must the value kept in memory, or a read
    // would return what a restart cannot bring back. The value as its JSON
    // reads back is exactly what the WAL holds.
    std::unique_ptr<Message> kept = NewValue();
    if (absl::Status status = codec_.Decode(json, kept.get()); !status.ok()) {
      return absl::InternalError(absl::StrCat(
          "map \"", name(), "\" key ", QuotedKey(key),
          ": the value's JSON does not read back: ", status.message()));
    }
    value = std::move(kept);
    ignored_unknown_fields_.fetch_add(stats.ignored_unknown_fields,
                                      std::memory_order_relaxed);
  }
  change.kind = Change::Kind::kSet;
  change.expires = ExpiryNanos(expiry.expires);
  if (change.expires == kNoExpiry) {
    AppendSetRecord(name(), key, json, &change.record);
  } else {
    // The value and its expiry in one frame: no crash leaves the value
    // without it (wal_format.h). A batch's frame holds them already.
    change.frame_records = 2;
    if (!expiry.in_batch) AppendBatchHeader(2, &change.record);
    AppendSetRecord(name(), key, json, &change.record);
    AppendExpireRecord(name(), key, change.expires, &change.record);
  }
  change.value = std::move(value);
  return change;
}

absl::Status MapImpl::CheckPrecondition(const ShardedMap::Entry* current,
                                        const Precondition& precondition,
                                        absl::string_view key) const {
  switch (precondition.kind) {
    case Precondition::Kind::kNone:
      return absl::OkStatus();
    case Precondition::Kind::kMustExist:
      if (current != nullptr) return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("map \"", name(), "\" has no key ", QuotedKey(key),
                       " and the write required it to exist"));
    case Precondition::Kind::kMustNotExist:
      if (current == nullptr) return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("map \"", name(), "\" already has key ", QuotedKey(key),
                       " and the write required it to be absent"));
    case Precondition::Kind::kEtagMatches: {
      PERSIST_ASSIGN_OR_RETURN(const Etag wanted,
                               Etag::Parse(precondition.etag));
      const Etag actual =
          clock_.MakeEtag(current == nullptr ? 0 : current->revision());
      if (current != nullptr && wanted == actual) return absl::OkStatus();
      return absl::AbortedError(absl::StrCat(
          "map \"", name(), "\" key ", QuotedKey(key), " is ",
          current == nullptr ? "absent" : "at etag " + actual.ToString(),
          ", the write expected etag ", precondition.etag,
          "; read the key again and retry"));
    }
  }
  return absl::InvalidArgumentError("unknown precondition kind");
}

absl::StatusOr<Entry<google::protobuf::Message>> MapImpl::Get(
    absl::string_view key) const {
  if (entries_->closed()) return entries_->ClosedError();
  PERSIST_RETURN_IF_ERROR(CheckKey(key));
  Entry<Message> entry;
  ShardedMap::Found found;
  if (entries_->Find(key, &found)) {
    entry.value = std::move(found.value);
    entry.etag = clock_.MakeEtag(found.revision);
    entry.expires = ExpiryTime(found.expires);
  }
  return entry;
}

void MapImpl::StartWrite(absl::string_view key,
                         std::shared_ptr<const Message> value,
                         const WriteOptions& options, WriteCallback done) {
  absl::StatusOr<Change> change =
      Prepare(key, std::move(value), {options.expires, /*in_batch=*/false});
  if (!change.ok()) {
    done(change.status());
    return;
  }
  entries_->Write<WriteResult>(
      wal_, key, options.durability,
      [&](const ShardedMap::Entry* current) -> absl::StatusOr<Change*> {
        PERSIST_RETURN_IF_ERROR(
            CheckPrecondition(current, options.precondition, key));
        return &*change;
      },
      std::move(done));
}

void MapImpl::StartSet(absl::string_view key,
                       std::shared_ptr<const Message> value,
                       const WriteOptions& options, WriteCallback done) {
  if (value == nullptr) {
    done(absl::InvalidArgumentError(
        absl::StrCat("map \"", name(), "\" key ", QuotedKey(key),
                     ": Set needs a value (use Delete to remove a key)")));
    return;
  }
  StartWrite(key, std::move(value), options, std::move(done));
}

void MapImpl::StartDelete(absl::string_view key, const WriteOptions& options,
                          WriteCallback done) {
  StartWrite(key, nullptr, options, std::move(done));
}

void MapImpl::StartUpdate(absl::string_view key, UpdateFunction fn,
                          const WriteOptions& options, UpdateCallback done) {
  if (absl::Status status = CheckKey(key); !status.ok()) {
    done(status);
    return;
  }
  Change change;  // what the update chose, prepared under the key's lock
  entries_->Write<UpdateResult>(
      wal_, key, options.durability,
      [&](const ShardedMap::Entry* current) -> absl::StatusOr<Change*> {
        return DecideUpdate(current, key, fn, options, &change);
      },
      std::move(done));
}

absl::StatusOr<MapImpl::Change*> MapImpl::DecideUpdate(
    const ShardedMap::Entry* current, absl::string_view key, UpdateFunction fn,
    const WriteOptions& options, Change* change) const {
  PERSIST_RETURN_IF_ERROR(
      CheckPrecondition(current, options.precondition, key));
  return PrepareDecision(
      key, fn(current != nullptr ? current->value().get() : nullptr),
      {ExpiryOfUpdate(current, options.expires, options.keep_expiry),
       /*in_batch=*/false},
      change);
}

absl::StatusOr<MapImpl::Change*> MapImpl::PrepareDecision(
    absl::string_view key, const UpdateDecision<Message>& decision,
    const ExpiryOf& expiry, Change* change) const {
  switch (decision.kind()) {
    case UpdateDecision<Message>::Kind::kCancel:
      *change = Change{};  // kKeep
      return change;
    case UpdateDecision<Message>::Kind::kSet: {
      if (decision.value() == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("map \"", name(), "\" key ", QuotedKey(key),
                         ": the update function chose Set without a value"));
      }
      PERSIST_ASSIGN_OR_RETURN(*change, Prepare(key, decision.value(), expiry));
      return change;
    }
    case UpdateDecision<Message>::Kind::kDelete: {
      PERSIST_ASSIGN_OR_RETURN(*change, Prepare(key, nullptr, expiry));
      return change;
    }
  }
  return absl::InternalError("unknown update decision");
}

absl::Status MapImpl::PrepareBatch(const BatchOperation& operation,
                                   Change* change) const {
  switch (operation.kind) {
    case BatchOperation::Kind::kSet: {
      if (operation.value == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "map \"", name(), "\" key ", QuotedKey(operation.key),
            ": a set needs a value (use a delete to remove a key)"));
      }
      PERSIST_ASSIGN_OR_RETURN(*change,
                               Prepare(operation.key, operation.value,
                                       {operation.expires, /*in_batch=*/true}));
      return absl::OkStatus();
    }
    case BatchOperation::Kind::kDelete: {
      PERSIST_ASSIGN_OR_RETURN(
          *change, Prepare(operation.key, nullptr, {absl::InfiniteFuture()}));
      return absl::OkStatus();
    }
    case BatchOperation::Kind::kUpdate:
      if (!operation.update) {
        return absl::InvalidArgumentError(
            absl::StrCat("map \"", name(), "\" key ", QuotedKey(operation.key),
                         ": an update needs a function"));
      }
      return CheckKey(operation.key);
  }
  return absl::InvalidArgumentError("unknown batch operation kind");
}

absl::StatusOr<MapImpl::Change*> MapImpl::DecideBatch(
    const ShardedMap::Entry* current, const BatchOperation& operation,
    Change* change) const {
  PERSIST_RETURN_IF_ERROR(
      CheckPrecondition(current, operation.precondition, operation.key));
  if (operation.kind != BatchOperation::Kind::kUpdate) return change;
  PERSIST_ASSIGN_OR_RETURN(
      const UpdateDecision<Message> decision,
      operation.update(current != nullptr ? current->value().get() : nullptr));
  return PrepareDecision(
      operation.key, decision,
      {ExpiryOfUpdate(current, operation.expires, operation.keep_expiry),
       /*in_batch=*/true},
      change);
}

absl::Status MapImpl::Scan(absl::string_view prefix,
                           absl::string_view start_after,
                           ScanFunction fn) const {
  if (entries_->closed()) return entries_->ClosedError();
  entries_->Scan(
      prefix, start_after,
      [&](absl::string_view key, const ShardedMap::Found& found) {
        return fn(key,
                  Entry<Message>{found.value, clock_.MakeEtag(found.revision),
                                 ExpiryTime(found.expires)});
      });
  return absl::OkStatus();
}

}  // namespace persist
