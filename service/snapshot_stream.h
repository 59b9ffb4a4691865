// SnapshotStream: one Snapshot call (persist.proto's SnapshotRequest and
// SnapshotResponse). It asks the store for a copy of its WAL
// (Store::StartSnapshot), sends its size, then the copy in chunks, the
// next once the last is written: one chunk in memory whatever the client's
// pace, read from the file as it goes.
//
// It ends UNAVAILABLE once persistd is stopping (the drain), so that a
// backup never holds up shutdown; the client discards what it got.
//
// Thread-safety: its steps run one after another (the store's callback
// starts the first write, each write's completion the next), each on
// whichever thread gRPC or the store calls it.
#ifndef PERSIST_SERVICE_SNAPSHOT_STREAM_H_
#define PERSIST_SERVICE_SNAPSHOT_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/persist.grpc.pb.h"
#include "service/call_drain.h"
#include "service/rpc_metrics.h"
#include "storage/store.h"

namespace persist::service {

class SnapshotStream final
    : public grpc::ServerWriteReactor<v1::SnapshotResponse> {
 public:
  // Serves a Snapshot call on `store` (the caller checked the token), in
  // chunks of at most `chunk_bytes`; counted under `calls` if not null.
  // Ends at once with `refusal` if it is not OK. The stream owns itself
  // until gRPC is done with it.
  static SnapshotStream* Start(Store* store, const absl::Status& refusal,
                               size_t chunk_bytes, const CallDrain* drain,
                               RpcMetrics::Method* calls);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  SnapshotStream(size_t chunk_bytes, const CallDrain* drain,
                 RpcMetrics::Method* calls);
  // The store's answer: the copy, or why there is none.
  void Taken(absl::StatusOr<WalSnapshot> snapshot);
  // Writes the chunk at next_, or finishes once the copy is sent.
  void SendNext();
  void CountAndFinish(const absl::Status& status);

  const size_t chunk_bytes_;
  const CallDrain* const drain_;
  RpcMetrics::Method* const calls_;
  RpcMetrics::Method::Clock::time_point counted_since_;
  std::optional<WalSnapshot> snapshot_;
  uint64_t next_ = 0;              // the offset of the next chunk
  v1::SnapshotResponse response_;  // the chunk being written
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_SNAPSHOT_STREAM_H_
