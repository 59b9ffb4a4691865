#include "clients/cpp/write_batch.h"

#include <utility>

namespace persist::client {

absl::StatusOr<BatchResult> Client::Write(const Batch& batch,
                                          const CallOptions& options) {
  v1::WriteRequest request = batch.request();
  request.set_durability(options.durability);
  absl::StatusOr<v1::WriteResponse> response =
      Call(connection_, &v1::Persist::StubInterface::Write, request, options);
  if (!response.ok()) return response.status();
  return ReadBatchResult(*std::move(response));
}

BatchResult ReadBatchResult(v1::WriteResponse response) {
  BatchResult result;
  result.revision = response.header().revision();
  result.epoch = response.header().epoch();
  result.results.resize(response.results_size());
  result.updated.resize(response.results_size());
  // The changes took consecutive revisions up to the header's, one for
  // each operation but a delete of a missing key: counted back from it.
  int64_t revision = result.revision;
  for (int i = response.results_size() - 1; i >= 0; --i) {
    v1::WriteOperationResult& done = *response.mutable_results(i);
    WriteResult& out = result.results[i];
    out.revision = result.revision;
    out.epoch = result.epoch;
    switch (done.result_case()) {
      case v1::WriteOperationResult::kSet:
        out.etag = done.set().etag();
        out.existed = done.set().existed();
        out.revision = revision--;
        break;
      case v1::WriteOperationResult::kDelete:
        out.existed = done.delete_().existed();
        if (out.existed) out.revision = revision--;
        break;
      case v1::WriteOperationResult::kUpdate:
        out.etag = done.update().etag();
        out.existed = done.update().existed();
        out.revision = revision--;
        result.updated[i] = std::move(*done.mutable_update()->mutable_value());
        break;
      case v1::WriteOperationResult::RESULT_NOT_SET:
        break;
    }
  }
  return result;
}

}  // namespace persist::client
