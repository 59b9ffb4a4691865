#include "service/snapshot_stream.h"

#include <algorithm>
#include <utility>

#include "service/grpc_status.h"

namespace persist::service {

SnapshotStream* SnapshotStream::Start(Store* store, const absl::Status& refusal,
                                      size_t chunk_bytes,
                                      const CallDrain* drain,
                                      RpcMetrics::Method* calls) {
  auto* stream = new SnapshotStream(chunk_bytes, drain, calls);
  if (!refusal.ok()) {
    stream->CountAndFinish(refusal);
  } else {
    store->StartSnapshot([stream](absl::StatusOr<WalSnapshot> snapshot) {
      stream->Taken(std::move(snapshot));
    });
  }
  return stream;
}

SnapshotStream::SnapshotStream(size_t chunk_bytes, const CallDrain* drain,
                               RpcMetrics::Method* calls)
    : chunk_bytes_(std::max<size_t>(chunk_bytes, 1)),
      drain_(drain),
      calls_(calls) {
  if (calls_ != nullptr) counted_since_ = calls_->Started();
}

void SnapshotStream::Taken(absl::StatusOr<WalSnapshot> snapshot) {
  if (!snapshot.ok()) {
    CountAndFinish(snapshot.status());
    return;
  }
  snapshot_ = *std::move(snapshot);
  response_.set_total_bytes(snapshot_->bytes);
  response_.set_records(snapshot_->records);
  // This runs on the WAL's sync thread: the first message says what comes
  // and carries no data, so that no read of the file delays the fsyncs of
  // writers. The reads come on gRPC's threads, as each write completes.
  response_.set_offset(0);
  StartWrite(&response_);
}

void SnapshotStream::OnWriteDone(bool ok) {
  if (!ok) {  // the client went away: nothing more can be sent
    CountAndFinish(absl::CancelledError("the client stopped reading"));
    return;
  }
  SendNext();
}

void SnapshotStream::SendNext() {
  if (next_ >= snapshot_->bytes) {
    CountAndFinish(absl::OkStatus());
    return;
  }
  if (drain_ != nullptr && drain_->draining()) {
    CountAndFinish(absl::UnavailableError(
        "persistd is shutting down; take the backup again once it is "
        "back (the partial copy is of no use)"));
    return;
  }
  response_.set_offset(next_);
  if (absl::Status read =
          snapshot_->Read(next_, chunk_bytes_, response_.mutable_data());
      !read.ok()) {
    CountAndFinish(read);
    return;
  }
  next_ += response_.data().size();
  StartWrite(&response_);
}

void SnapshotStream::CountAndFinish(const absl::Status& status) {
  const grpc::Status sent = ToGrpcStatus(status);
  if (calls_ != nullptr) calls_->Handled(sent.error_code(), counted_since_);
  Finish(sent);
}

}  // namespace persist::service
