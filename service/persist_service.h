// PersistService: persist.v1.Persist over a Store, with gRPC's callback API.
//
// It only translates: request -> engine call -> response and status (the
// codes in grpc_status.h). Writes finish from the engine's completion
// callbacks, so no server thread waits for the disk.
//
// Thread-safety: all RPCs may run concurrently. The store must outlive the
// service.
#ifndef PERSIST_SERVICE_PERSIST_SERVICE_H_
#define PERSIST_SERVICE_PERSIST_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <functional>

#include "persist/v1/persist.grpc.pb.h"
#include "service/arena_messages.h"
#include "service/call_drain.h"
#include "service/message_limits.h"
#include "service/rpc_metrics.h"
#include "service/snapshot_stream.h"
#include "service/token_auth.h"
#include "service/unary_call.h"
#include "service/watch_hub.h"
#include "service/watch_stream.h"
#include "storage/durability.h"
#include "storage/store.h"

namespace persist::service {

struct ServiceOptions {
  // For writes that leave their durability unspecified.
  Durability default_durability = Durability::kWrite;
  // List pages: the size when the request gives none, and the largest.
  int default_page_size = 100;
  int max_page_size = 1000;
  // Most operations in one Write.
  int max_batch_operations = 128;
  // The request limit the server applies (message_limits.h): replies, List
  // pages included, stay within MaxReplyBytes of it.
  int max_message_bytes = kDefaultMaxMessageBytes;
  // When set, every call needs a token (token_auth.h). Must outlive the
  // service.
  const TokenAuth* auth = nullptr;
  // When set, every call is counted there (its persist.v1.Persist methods).
  // Must outlive the service.
  RpcMetrics* metrics = nullptr;
  // Watch streams: progress notices and slow watchers (max_reply_bytes
  // is set from max_message_bytes).
  WatchOptions watch;
};

class PersistService final : public persist::v1::Persist::CallbackService {
 public:
  // Serves UNAVAILABLE ("still loading") until SetStore.
  explicit PersistService(ServiceOptions options);
  PersistService(Store* store, ServiceOptions options);

  // The store to serve, once it is open. Call once.
  void SetStore(Store* store);

  // What the store's StoreOptions::on_change must call, for Watch. Valid
  // while the service is.
  std::function<void()> ChangeListener() {
    return [hub = &watch_hub_] { hub->Notify(); };
  }

  // Stopping: open Watch streams end (UNAVAILABLE, with the revision to
  // resume from); new calls answer UNAVAILABLE from now on; returns once
  // the calls in flight finished and clients stopped sending
  // (call_drain.h), or at `deadline`.
  CallDrain::Result Drain(absl::Duration quiet, absl::Time deadline);

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const v1::GetRequest* request,
                                v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* BatchGet(grpc::CallbackServerContext* context,
                                     const v1::BatchGetRequest* request,
                                     v1::BatchGetResponse* response) override;
  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context,
                                const v1::SetRequest* request,
                                v1::SetResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* context,
                                   const v1::UpdateRequest* request,
                                   v1::UpdateResponse* response) override;
  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context,
                                  const v1::WriteRequest* request,
                                  v1::WriteResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const v1::ListRequest* request,
                                 v1::ListResponse* response) override;
  grpc::ServerUnaryReactor* Shrink(grpc::CallbackServerContext* context,
                                   const v1::ShrinkRequest* request,
                                   v1::ShrinkResponse* response) override;
  grpc::ServerUnaryReactor* Flush(grpc::CallbackServerContext* context,
                                  const v1::FlushRequest* request,
                                  v1::FlushResponse* response) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                  const v1::StatsRequest* request,
                                  v1::StatsResponse* response) override;
  grpc::ServerUnaryReactor* ListMaps(grpc::CallbackServerContext* context,
                                     const v1::ListMapsRequest* request,
                                     v1::ListMapsResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(
      grpc::CallbackServerContext* context,
      const v1::WatchRequest* request) override;
  grpc::ServerWriteReactor<v1::SnapshotResponse>* Snapshot(
      grpc::CallbackServerContext* context,
      const v1::SnapshotRequest* request) override;

  // Open Watch streams.
  size_t watchers() const { return watch_hub_.size(); }

  // What each RPC is counted under; null without metrics.
  struct Counters {
    RpcMetrics::Method *get, *set, *del, *update, *list, *shrink, *flush,
        *stats, *list_maps, *watch, *batch_get, *write, *snapshot;
  };

 private:
  // The store for a call: checks the call's token (if tokens are
  // configured) and that the store is loaded.
  absl::StatusOr<Store*> Begin(const grpc::CallbackServerContext& context,
                               const UnaryCall& call, bool write) const;
  // The store for a stream (Watch, Snapshot): the token checked (reading),
  // the store loaded; Unavailable with `shutting_down` once draining.
  absl::StatusOr<Store*> BeginStream(const grpc::CallbackServerContext& context,
                                     absl::string_view shutting_down) const;
  // What a Set, Delete or Update writes to, once the call is authorized,
  // the store loaded, the map found and the options valid.
  struct WriteTarget {
    DynamicMap* map = nullptr;
    WriteOptions options;
  };
  absl::StatusOr<WriteTarget> PrepareWrite(
      const grpc::CallbackServerContext& context, const UnaryCall& call,
      const std::string& map_name, v1::Durability durability,
      const v1::Precondition& precondition) const;
  // ResourceExhausted if `reply` is larger than a reply may be: a value
  // stored by other means than this server's Set (its limit keeps every
  // value it accepted readable).
  absl::Status FitsReply(const google::protobuf::Message& reply,
                         absl::string_view map, absl::string_view key) const;
  absl::StatusOr<WriteOptions> MakeWriteOptions(
      v1::Durability durability, const v1::Precondition& precondition) const;

  // The unary calls that carry values build their messages on an arena
  // (arena_messages.h).
  void UseArenas();

  std::atomic<Store*> store_{nullptr};
  CallDrain drain_;
  const ServiceOptions options_;
  const Counters counters_;
  WatchHub watch_hub_;
  ArenaMessageAllocator<v1::GetRequest, v1::GetResponse> get_messages_;
  ArenaMessageAllocator<v1::BatchGetRequest, v1::BatchGetResponse>
      batch_get_messages_;
  ArenaMessageAllocator<v1::SetRequest, v1::SetResponse> set_messages_;
  ArenaMessageAllocator<v1::DeleteRequest, v1::DeleteResponse> delete_messages_;
  ArenaMessageAllocator<v1::UpdateRequest, v1::UpdateResponse> update_messages_;
  ArenaMessageAllocator<v1::WriteRequest, v1::WriteResponse> write_messages_;
  ArenaMessageAllocator<v1::ListRequest, v1::ListResponse> list_messages_;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_PERSIST_SERVICE_H_
