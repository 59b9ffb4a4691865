#include "service/write_batch.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "service/any_values.h"
#include "service/expiry_proto.h"
#include "service/message_limits.h"
#include "service/write_requests.h"
#include "storage/names.h"

namespace persist::service {
namespace {

using google::protobuf::Message;

// The most bytes an operation's result takes in the answer besides an
// Update's merged value: an etag of at most 37 characters, existed, and the
// tags and lengths around them.
size_t ResultBytes(BatchOperation::Kind kind) {
  switch (kind) {
    case BatchOperation::Kind::kSet:
      return 48;
    case BatchOperation::Kind::kDelete:
      return 8;
    case BatchOperation::Kind::kUpdate:
      return 64;
  }
  return 64;
}
constexpr size_t kHeaderBytes = 64;

absl::Status At(int index, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("operations[", index,
                                                  "]: ", status.message()));
}

// A batch has one durability, the request's.
absl::Status CheckNoDurability(v1::Durability durability) {
  if (durability == v1::DURABILITY_UNSPECIFIED) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "an operation of a batch has no durability of its own; leave it "
      "unspecified and set WriteRequest.durability");
}

// Unspecified: the server's default, unless that is MEMORY or ASYNC, which
// the store refuses for batches (storage/batch.h): then WRITE.
absl::StatusOr<Durability> BatchDurability(v1::Durability durability,
                                           Durability default_durability) {
  if (durability == v1::DURABILITY_UNSPECIFIED) {
    return default_durability == Durability::kFsync ? Durability::kFsync
                                                    : Durability::kWrite;
  }
  if (!v1::Durability_IsValid(durability)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown durability ", static_cast<int>(durability),
                     "; a Write takes WRITE or FSYNC"));
  }
  return DurabilityFromProto(durability, default_durability);
}

absl::StatusOr<BatchOperation> SetOperation(Store& store,
                                            const v1::SetRequest& set) {
  PERSIST_RETURN_IF_ERROR(CheckNoDurability(set.durability()));
  PERSIST_ASSIGN_OR_RETURN(DynamicMap * map, store.GetMap(set.map()));
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<Message> value,
                           UnpackValue(*map, set.key(), set.value()));
  WriteOptions expiry;
  PERSIST_RETURN_IF_ERROR(ExpiryFromProto(set, absl::Now(), &expiry));
  BatchOperation operation = BatchOperation::Set(
      map, set.key(), std::shared_ptr<const Message>(std::move(value)),
      PreconditionFromProto(set.precondition()));
  operation.expires = expiry.expires;
  return operation;
}

absl::StatusOr<BatchOperation> DeleteOperation(Store& store,
                                               const v1::DeleteRequest& del) {
  PERSIST_RETURN_IF_ERROR(CheckNoDurability(del.durability()));
  PERSIST_ASSIGN_OR_RETURN(DynamicMap * map, store.GetMap(del.map()));
  return BatchOperation::Delete(map, del.key(),
                                PreconditionFromProto(del.precondition()));
}

absl::StatusOr<BatchOperation> UpdateOperation(
    Store& store, const v1::UpdateRequest& update,
    std::shared_ptr<std::shared_ptr<const Message>> merged,
    std::shared_ptr<ReplyBudget> budget) {
  PERSIST_RETURN_IF_ERROR(CheckNoDurability(update.durability()));
  PERSIST_ASSIGN_OR_RETURN(DynamicMap * map, store.GetMap(update.map()));
  PERSIST_RETURN_IF_ERROR(CheckUpdateMask(*map, update.update_mask()));
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<Message> patch,
                           UnpackValue(*map, update.key(), update.value()));
  // Fields of the patch that its type does not know would vanish in the
  // merge unseen; refused as Set refuses them.
  PERSIST_RETURN_IF_ERROR(map->CheckValue(update.key(), *patch));
  WriteOptions expiry;
  PERSIST_RETURN_IF_ERROR(ExpiryFromProto(update, absl::Now(), &expiry));
  auto decide =
      [map, patch = std::shared_ptr<const Message>(std::move(patch)),
       mask = update.update_mask(), allow_missing = update.allow_missing(),
       key = update.key(), merged = std::move(merged),
       budget = std::move(budget)](
          const Message* current) -> absl::StatusOr<UpdateDecision<Message>> {
    // Unlike a lone Update, which changes nothing and answers NOT_FOUND, a
    // batch must fail whole here.
    if (current == nullptr && !allow_missing) {
      return UpdateOfMissingKeyError(map->name(), key);
    }
    *merged = std::shared_ptr<const Message>(
        MergeUpdate(*map, current, *patch, mask));
    // The answer carries every merged value: a batch whose answer could not
    // be sent must fail here, before it applies, not once it is durable.
    // The decide functions of one batch run one after another.
    budget->bytes += PackedValueBytes(**merged);
    if (budget->bytes > budget->limit) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "map \"", map->name(), "\" key ", QuotedKey(key),
          ": with its merged value the answer takes up to ", budget->bytes,
          " bytes, more than the reply limit of ", budget->limit,
          " (limits.maxMessageBytes plus headroom); split the batch"));
    }
    return UpdateDecision<Message>::Set(*merged);
  };
  BatchOperation operation =
      BatchOperation::Update(map, update.key(), std::move(decide),
                             PreconditionFromProto(update.precondition()));
  operation.expires = expiry.expires;
  operation.keep_expiry = expiry.keep_expiry;
  return operation;
}

}  // namespace

absl::StatusOr<PreparedBatch> PrepareBatch(Store& store,
                                           const v1::WriteRequest& request,
                                           Durability default_durability,
                                           int max_operations,
                                           size_t max_reply_bytes) {
  const int n = request.operations_size();
  if (n == 0) {
    return absl::InvalidArgumentError(
        "a Write needs at least one operation (a set, a delete or an "
        "update)");
  }
  if (n > max_operations) {
    return absl::InvalidArgumentError(
        absl::StrCat("a Write takes at most ", max_operations,
                     " operations (limits.maxBatchOperations); this one has ",
                     n, ": split it, or raise the limit"));
  }
  auto budget = std::make_shared<ReplyBudget>(
      ReplyBudget{.bytes = kHeaderBytes, .limit = max_reply_bytes});
  PreparedBatch prepared;
  PERSIST_ASSIGN_OR_RETURN(
      prepared.durability,
      BatchDurability(request.durability(), default_durability));
  prepared.operations.reserve(n);
  prepared.merged.resize(n);
  for (int i = 0; i < n; ++i) {
    const v1::WriteOperation& operation = request.operations(i);
    absl::StatusOr<BatchOperation> made;
    switch (operation.operation_case()) {
      case v1::WriteOperation::kSet:
        made = SetOperation(store, operation.set());
        break;
      case v1::WriteOperation::kDelete:
        made = DeleteOperation(store, operation.delete_());
        break;
      case v1::WriteOperation::kUpdate:
        prepared.merged[i] = std::make_shared<std::shared_ptr<const Message>>();
        made = UpdateOperation(store, operation.update(), prepared.merged[i],
                               budget);
        break;
      case v1::WriteOperation::OPERATION_NOT_SET:
        made = absl::InvalidArgumentError(
            "sets no operation; give it a set, a delete or an update");
        break;
    }
    if (!made.ok()) return At(i, made.status());
    prepared.kinds.push_back(made->kind);
    budget->bytes += ResultBytes(made->kind);
    prepared.operations.push_back(*std::move(made));
  }
  if (budget->bytes > budget->limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the answer to a Write of ", n, " operations takes up to ",
        budget->bytes, " bytes, more than the reply limit of ", budget->limit,
        " (limits.maxMessageBytes plus headroom); split the batch"));
  }
  return prepared;
}

void FillWriteResponse(const Store& store, const PreparedBatch& prepared,
                       const BatchResult& result, v1::WriteResponse* response) {
  for (size_t i = 0; i < result.results.size(); ++i) {
    const UpdateResult& done = result.results[i];
    v1::WriteOperationResult* out = response->add_results();
    switch (prepared.kinds[i]) {
      case BatchOperation::Kind::kSet:
        out->mutable_set()->set_etag(done.etag.ToString());
        out->mutable_set()->set_existed(done.existed);
        break;
      case BatchOperation::Kind::kDelete:
        out->mutable_delete_()->set_existed(done.existed);
        break;
      case BatchOperation::Kind::kUpdate:
        PackValue(**prepared.merged[i], out->mutable_update()->mutable_value());
        out->mutable_update()->set_etag(done.etag.ToString());
        out->mutable_update()->set_existed(done.existed);
        break;
    }
  }
  v1::ResponseHeader* header = response->mutable_header();
  header->set_revision(static_cast<int64_t>(result.revision));
  header->set_epoch(EpochToString(store.Epoch()));
}

}  // namespace persist::service
