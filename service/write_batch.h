// The Write RPC (an atomic batch) in the engine's terms: its operations as
// BatchOperations (storage/batch.h), and the answer from what the batch
// did. Every check that can be made before the batch runs is made here, so
// that a bad operation fails the call before any key is locked.
#ifndef PERSIST_SERVICE_WRITE_BATCH_H_
#define PERSIST_SERVICE_WRITE_BATCH_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "persist/v1/persist.pb.h"
#include "storage/batch.h"
#include "storage/durability.h"
#include "storage/store.h"

namespace persist::service {

// How much of the reply limit a batch's answer takes, counted as its
// Updates decide (their merged values are in the answer).
struct ReplyBudget {
  size_t bytes = 0;
  size_t limit = 0;
};

struct PreparedBatch {
  std::vector<BatchOperation> operations;  // moved to the store to run
  // Each operation's kind, for the answer.
  std::vector<BatchOperation::Kind> kinds;
  Durability durability = Durability::kWrite;
  // For each Update operation, the value it stores once decided (for its
  // answer); null for the others.
  std::vector<std::shared_ptr<std::shared_ptr<const google::protobuf::Message>>>
      merged;
};

// InvalidArgument naming operations[i] for what is wrong (no operations or
// more than `max_operations`, an operation that sets none, a durability of
// its own, a bad value or mask), NotFound for a map not declared,
// ResourceExhausted for an answer that would not fit in `max_reply_bytes`
// (checked here for the fixed part, and as each Update decides for its
// merged value, so that such a batch changes nothing).
absl::StatusOr<PreparedBatch> PrepareBatch(Store& store,
                                           const v1::WriteRequest& request,
                                           Durability default_durability,
                                           int max_operations,
                                           size_t max_reply_bytes);

// Fills `response` from `result`, the batch `prepared` made.
void FillWriteResponse(const Store& store, const PreparedBatch& prepared,
                       const BatchResult& result, v1::WriteResponse* response);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_WRITE_BATCH_H_
