#include "service/persist_service.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "service/any_values.h"
#include "service/expiry_proto.h"
#include "service/grpc_status.h"
#include "service/list_pages.h"
#include "service/unary_call.h"
#include "service/write_batch.h"
#include "service/write_requests.h"

namespace persist::service {
namespace {

using google::protobuf::Message;

void FillHeader(uint64_t epoch, uint64_t revision, v1::ResponseHeader* header) {
  header->set_revision(static_cast<int64_t>(revision));
  header->set_epoch(EpochToString(epoch));
}

// A write's: the revision it took, or the store's if it changed nothing.
template <typename Result>
void FillHeader(const Result& result, v1::ResponseHeader* header) {
  FillHeader(result.etag.epoch, result.revision, header);
}

}  // namespace

namespace {

PersistService::Counters FindCounters(RpcMetrics* metrics) {
  auto find = [metrics](absl::string_view method) -> RpcMetrics::Method* {
    if (metrics == nullptr) return nullptr;
    return metrics->Find(
        absl::StrCat("/", v1::Persist::service_full_name(), "/", method));
  };
  return {find("Get"),      find("Set"),    find("Delete"),   find("Update"),
          find("List"),     find("Shrink"), find("Flush"),    find("Stats"),
          find("ListMaps"), find("Watch"),  find("BatchGet"), find("Write"),
          find("Snapshot")};
}

}  // namespace

namespace {

// The hub ticks twice per progress interval: a notice is at most half an
// interval late.
absl::Duration HubTick(const ServiceOptions& options) {
  return options.watch.progress_interval / 2;
}

WatchOptions MakeWatchOptions(const ServiceOptions& options,
                              RpcMetrics::Method* calls) {
  WatchOptions watch = options.watch;
  watch.calls = calls;
  // Room for the header, as List keeps room for its token.
  watch.max_reply_bytes =
      static_cast<size_t>(MaxReplyBytes(options.max_message_bytes)) -
      kPageTokenRoomBytes;
  return watch;
}

// A Watch call refused before it starts; counted under `calls` if not
// null.
class WatchRefusal final : public grpc::ServerWriteReactor<v1::WatchResponse> {
 public:
  WatchRefusal(const absl::Status& status, RpcMetrics::Method* calls) {
    const grpc::Status refusal = ToGrpcStatus(status);
    if (calls != nullptr)
      calls->Handled(refusal.error_code(), calls->Started());
    Finish(refusal);
  }
  void OnDone() override { delete this; }
};

}  // namespace

PersistService::PersistService(ServiceOptions options)
    : options_(options),
      counters_(FindCounters(options_.metrics)),
      watch_hub_(HubTick(options_), options_.watch.batch_window) {
  UseArenas();
}

void PersistService::UseArenas() {
  SetMessageAllocatorFor_Get(&get_messages_);
  SetMessageAllocatorFor_BatchGet(&batch_get_messages_);
  SetMessageAllocatorFor_Set(&set_messages_);
  SetMessageAllocatorFor_Delete(&delete_messages_);
  SetMessageAllocatorFor_Update(&update_messages_);
  SetMessageAllocatorFor_Write(&write_messages_);
  SetMessageAllocatorFor_List(&list_messages_);
}

PersistService::PersistService(Store* store, ServiceOptions options)
    : PersistService(options) {
  SetStore(store);
}

CallDrain::Result PersistService::Drain(absl::Duration quiet,
                                        absl::Time deadline) {
  watch_hub_.Shutdown(absl::UnavailableError("persistd is shutting down"));
  return drain_.Drain(quiet, deadline);
}

void PersistService::SetStore(Store* store) {
  store_.store(store, std::memory_order_release);
}

absl::Status PersistService::FitsReply(const google::protobuf::Message& reply,
                                       absl::string_view map,
                                       absl::string_view key) const {
  const size_t bytes = reply.ByteSizeLong();
  const auto limit =
      static_cast<size_t>(MaxReplyBytes(options_.max_message_bytes));
  if (bytes <= limit) return absl::OkStatus();
  return ValueTooLargeForReplyError(map, key, bytes, limit);
}

absl::StatusOr<Store*> PersistService::Begin(
    const grpc::CallbackServerContext& context, const UnaryCall& call,
    bool write) const {
  if (!call.admitted()) {
    return absl::UnavailableError(
        "persistd is shutting down; retry on another replica or once it "
        "restarts");
  }
  if (options_.auth != nullptr) {
    PERSIST_RETURN_IF_ERROR(options_.auth->Check(context, write));
  }
  Store* const store = store_.load(std::memory_order_acquire);
  if (store == nullptr) {
    return absl::UnavailableError(
        "persistd is still loading its data file; retry shortly");
  }
  return store;
}

absl::StatusOr<PersistService::WriteTarget> PersistService::PrepareWrite(
    const grpc::CallbackServerContext& context, const UnaryCall& call,
    const std::string& map_name, v1::Durability durability,
    const v1::Precondition& precondition) const {
  WriteTarget target;
  PERSIST_ASSIGN_OR_RETURN(Store * store, Begin(context, call, /*write=*/true));
  PERSIST_ASSIGN_OR_RETURN(target.map, store->GetMap(map_name));
  PERSIST_ASSIGN_OR_RETURN(target.options,
                           MakeWriteOptions(durability, precondition));
  return target;
}

absl::StatusOr<WriteOptions> PersistService::MakeWriteOptions(
    v1::Durability durability, const v1::Precondition& precondition) const {
  WriteOptions options;
  PERSIST_ASSIGN_OR_RETURN(
      options.durability,
      DurabilityFromProto(durability, options_.default_durability));
  options.precondition = PreconditionFromProto(precondition);
  return options;
}

grpc::ServerUnaryReactor* PersistService::Get(
    grpc::CallbackServerContext* context, const v1::GetRequest* request,
    v1::GetResponse* response) {
  const UnaryCall call(context, counters_.get, &drain_);
  absl::StatusOr<Store*> store = Begin(*context, call, /*write=*/false);
  if (!store.ok()) return call.Finish(store.status());
  absl::StatusOr<DynamicMap*> map = (*store)->GetMap(request->map());
  if (!map.ok()) return call.Finish(map.status());
  // Taken before the read, which then reflects every change up to it.
  const uint64_t seen = (*store)->Revision();
  absl::StatusOr<Entry<Message>> entry = (*map)->Get(request->key());
  if (entry.ok()) {
    FillHeader((*store)->Epoch(), std::max(seen, entry->etag.revision),
               response->mutable_header());
  }
  if (entry.ok() && entry->found()) {
    response->set_found(true);
    PackValue(*entry->value, response->mutable_value());
    response->set_etag(entry->etag.ToString());
    response->set_mod_revision(static_cast<int64_t>(entry->etag.revision));
    SetExpireTime(entry->expires, response);
    if (absl::Status fits =
            FitsReply(*response, request->map(), request->key());
        !fits.ok()) {
      response->Clear();
      return call.Finish(fits);
    }
  }
  return call.Finish(entry.status());
}

grpc::ServerUnaryReactor* PersistService::BatchGet(
    grpc::CallbackServerContext* context, const v1::BatchGetRequest* request,
    v1::BatchGetResponse* response) {
  const UnaryCall call(context, counters_.batch_get, &drain_);
  absl::StatusOr<Store*> store = Begin(*context, call, /*write=*/false);
  if (!store.ok()) return call.Finish(store.status());
  if (request->gets_size() > options_.max_page_size) {
    return call.Finish(absl::InvalidArgumentError(
        absl::StrCat("BatchGet reads at most ", options_.max_page_size,
                     " keys per call (limits.maxPageSize); this call has ",
                     request->gets_size(), ": split it")));
  }
  // Taken before the reads, which then reflect every change up to it. Not
  // raised to a result's newer mod_revision, as Get does: with many keys,
  // an earlier result may miss a change older than a later one's.
  const uint64_t seen = (*store)->Revision();
  // Room kept for the header, as List keeps room for its token.
  const size_t limit =
      static_cast<size_t>(MaxReplyBytes(options_.max_message_bytes)) -
      kPageTokenRoomBytes;
  size_t bytes = 0;  // of the results so far, each with its framing
  for (int i = 0; i < request->gets_size(); ++i) {
    const v1::GetRequest& get = request->gets(i);
    auto at = [&](const absl::Status& status) {
      return absl::Status(status.code(),
                          absl::StrCat("gets[", i, "]: ", status.message()));
    };
    absl::StatusOr<DynamicMap*> map = (*store)->GetMap(get.map());
    if (!map.ok()) return call.Finish(at(map.status()));
    absl::StatusOr<Entry<Message>> entry = (*map)->Get(get.key());
    if (!entry.ok()) return call.Finish(at(entry.status()));
    v1::GetResponse* result = response->add_results();
    if (entry->found()) {
      result->set_found(true);
      PackValue(*entry->value, result->mutable_value());
      result->set_etag(entry->etag.ToString());
      result->set_mod_revision(static_cast<int64_t>(entry->etag.revision));
      SetExpireTime(entry->expires, result);
    }
    // Checked as it grows, so that a huge batch stops early; a tag and a
    // length of at most 6 bytes frame each result.
    const size_t result_bytes = result->ByteSizeLong() + 6;
    bytes += result_bytes;
    if (bytes <= limit) continue;
    response->Clear();
    if (result_bytes > limit) {  // too large even alone
      return call.Finish(at(ValueTooLargeForReplyError(get.map(), get.key(),
                                                       result_bytes, limit)));
    }
    return call.Finish(absl::ResourceExhaustedError(absl::StrCat(
        "the answers to gets[0..", i, "] take at least ", bytes,
        " bytes, more than the reply limit of ", limit,
        " (limits.maxMessageBytes plus headroom); read fewer keys per "
        "call")));
  }
  FillHeader((*store)->Epoch(), seen, response->mutable_header());
  return call.Finish(absl::OkStatus());
}

grpc::ServerUnaryReactor* PersistService::Set(
    grpc::CallbackServerContext* context, const v1::SetRequest* request,
    v1::SetResponse* response) {
  const UnaryCall call(context, counters_.set, &drain_);
  absl::StatusOr<WriteTarget> target =
      PrepareWrite(*context, call, request->map(), request->durability(),
                   request->precondition());
  if (!target.ok()) return call.Finish(target.status());
  absl::StatusOr<std::unique_ptr<Message>> value =
      UnpackValue(*target->map, request->key(), request->value());
  if (!value.ok()) return call.Finish(value.status());
  if (absl::Status expiry =
          ExpiryFromProto(*request, absl::Now(), &target->options);
      !expiry.ok()) {
    return call.Finish(expiry);
  }
  target->map->StartSet(
      request->key(), std::shared_ptr<const Message>(*std::move(value)),
      target->options, [call, response](absl::StatusOr<WriteResult> result) {
        if (result.ok()) {
          response->set_etag(result->etag.ToString());
          response->set_existed(result->existed);
          FillHeader(*result, response->mutable_header());
        }
        call.Finish(result.status());
      });
  return call.reactor();
}

grpc::ServerUnaryReactor* PersistService::Delete(
    grpc::CallbackServerContext* context, const v1::DeleteRequest* request,
    v1::DeleteResponse* response) {
  const UnaryCall call(context, counters_.del, &drain_);
  absl::StatusOr<WriteTarget> target =
      PrepareWrite(*context, call, request->map(), request->durability(),
                   request->precondition());
  if (!target.ok()) return call.Finish(target.status());
  target->map->StartDelete(
      request->key(), target->options,
      [call, response](absl::StatusOr<WriteResult> result) {
        if (result.ok()) {
          response->set_existed(result->existed);
          FillHeader(*result, response->mutable_header());
        }
        call.Finish(result.status());
      });
  return call.reactor();
}

grpc::ServerUnaryReactor* PersistService::Update(
    grpc::CallbackServerContext* context, const v1::UpdateRequest* request,
    v1::UpdateResponse* response) {
  const UnaryCall call(context, counters_.update, &drain_);
  absl::StatusOr<WriteTarget> target =
      PrepareWrite(*context, call, request->map(), request->durability(),
                   request->precondition());
  if (!target.ok()) return call.Finish(target.status());
  DynamicMap* const map = target->map;
  const google::protobuf::FieldMask& mask = request->update_mask();
  if (absl::Status valid = CheckUpdateMask(*map, mask); !valid.ok()) {
    return call.Finish(valid);
  }
  absl::StatusOr<std::unique_ptr<Message>> patch =
      UnpackValue(*map, request->key(), request->value());
  if (!patch.ok()) return call.Finish(patch.status());
  // Fields of the patch that its type does not know would vanish in the
  // merge unseen; refused as Set refuses them.
  if (absl::Status valid = map->CheckValue(request->key(), **patch);
      !valid.ok()) {
    return call.Finish(valid);
  }
  if (absl::Status expiry =
          ExpiryFromProto(*request, absl::Now(), &target->options);
      !expiry.ok()) {
    return call.Finish(expiry);
  }

  // The merged value, kept for the response once the write is durable.
  auto merged = std::make_shared<std::shared_ptr<const Message>>();
  const bool allow_missing = request->allow_missing();
  map->StartUpdate(
      request->key(),
      [&](const Message* current) {
        if (current == nullptr && !allow_missing) {
          return UpdateDecision<Message>::Cancel();  // reported as NOT_FOUND
        }
        *merged = std::shared_ptr<const Message>(
            MergeUpdate(*map, current, **patch, mask));
        return UpdateDecision<Message>::Set(*merged);
      },
      target->options,
      [call, response, merged, key = request->key(),
       name = map->name()](absl::StatusOr<UpdateResult> result) {
        absl::Status status = result.status();
        if (status.ok() &&
            result->outcome == UpdateResult::Outcome::kCancelled) {
          // The update function cancels only for a missing key.
          status = UpdateOfMissingKeyError(name, key);
        } else if (status.ok()) {
          PackValue(**merged, response->mutable_value());
          response->set_etag(result->etag.ToString());
          response->set_existed(result->existed);
          FillHeader(*result, response->mutable_header());
        }
        call.Finish(status);
      });
  return call.reactor();
}

grpc::ServerUnaryReactor* PersistService::Write(
    grpc::CallbackServerContext* context, const v1::WriteRequest* request,
    v1::WriteResponse* response) {
  const UnaryCall call(context, counters_.write, &drain_);
  absl::StatusOr<Store*> store = Begin(*context, call, /*write=*/true);
  if (!store.ok()) return call.Finish(store.status());
  absl::StatusOr<PreparedBatch> batch = PrepareBatch(
      **store, *request, options_.default_durability,
      options_.max_batch_operations,
      static_cast<size_t>(MaxReplyBytes(options_.max_message_bytes)));
  if (!batch.ok()) return call.Finish(batch.status());
  auto prepared = std::make_shared<PreparedBatch>(*std::move(batch));
  std::vector<BatchOperation> operations = std::move(prepared->operations);
  (*store)->StartWrite(std::move(operations), prepared->durability,
                       [call, response, prepared,
                        store = *store](absl::StatusOr<BatchResult> result) {
                         if (result.ok())
                           FillWriteResponse(*store, *prepared, *result,
                                             response);
                         call.Finish(result.status());
                       });
  return call.reactor();
}

grpc::ServerUnaryReactor* PersistService::List(
    grpc::CallbackServerContext* context, const v1::ListRequest* request,
    v1::ListResponse* response) {
  const UnaryCall call(context, counters_.list, &drain_);
  absl::StatusOr<Store*> store = Begin(*context, call, /*write=*/false);
  if (!store.ok()) return call.Finish(store.status());
  absl::StatusOr<DynamicMap*> map = (*store)->GetMap(request->map());
  if (!map.ok()) return call.Finish(map.status());
  if (request->page_size() < 0) {
    return call.Finish(absl::InvalidArgumentError(absl::StrCat(
        "page_size is ", request->page_size(), "; it must be 0 (the default, ",
        options_.default_page_size, ") or positive")));
  }
  std::string after;
  if (!request->page_token().empty()) {
    absl::StatusOr<PageToken> token = DecodePageToken(request->page_token());
    if (!token.ok()) return call.Finish(token.status());
    if (token->map != request->map() || token->prefix != request->prefix()) {
      return call.Finish(absl::InvalidArgumentError(
          "page_token belongs to a listing of another map or "
          "prefix; start again with an empty page_token"));
    }
    after = std::move(token->after);
  }
  const int size = request->page_size() == 0
                       ? options_.default_page_size
                       : std::min(request->page_size(), options_.max_page_size);
  // Taken before the page is read, which then reflects every change up to
  // it.
  FillHeader((*store)->Epoch(), (*store)->Revision(),
             response->mutable_header());
  return call.Finish(FillPage(**map, request->prefix(), after, size,
                              MaxReplyBytes(options_.max_message_bytes),
                              response));
}

grpc::ServerUnaryReactor* PersistService::Shrink(
    grpc::CallbackServerContext* context, const v1::ShrinkRequest*,
    v1::ShrinkResponse* response) {
  const UnaryCall call(context, counters_.shrink, &drain_);
  absl::StatusOr<Store*> store = Begin(*context, call, /*write=*/true);
  if (!store.ok()) return call.Finish(store.status());
  // It reads and writes the whole file on the store's shrink thread; this
  // server thread goes back to serving.
  (*store)->StartShrink([call, response](absl::StatusOr<ShrinkResult> result) {
    if (result.ok()) {
      response->set_records_before(result->records_before);
      response->set_records_after(result->records_after);
      response->set_bytes_before(result->bytes_before);
      response->set_bytes_after(result->bytes_after);
      *response->mutable_duration() =
          google::protobuf::util::TimeUtil::NanosecondsToDuration(
              absl::ToInt64Nanoseconds(result->duration));
    }
    call.Finish(result.status());
  });
  return call.reactor();
}

grpc::ServerUnaryReactor* PersistService::Flush(
    grpc::CallbackServerContext* context, const v1::FlushRequest*,
    v1::FlushResponse*) {
  const UnaryCall call(context, counters_.flush, &drain_);
  absl::StatusOr<Store*> store = Begin(*context, call, /*write=*/true);
  if (!store.ok()) return call.Finish(store.status());
  (*store)->StartFlush(
      [call](const absl::Status& status) { call.Finish(status); });
  return call.reactor();
}

grpc::ServerUnaryReactor* PersistService::Stats(
    grpc::CallbackServerContext* context, const v1::StatsRequest*,
    v1::StatsResponse* response) {
  const UnaryCall call(context, counters_.stats, &drain_);
  absl::StatusOr<Store*> store = Begin(*context, call, /*write=*/false);
  if (!store.ok()) return call.Finish(store.status());
  const StoreStats stats = (*store)->Stats();
  FillHeader(stats.epoch, stats.revision, response->mutable_header());
  for (const MapStats& map : stats.maps) {
    v1::MapInfo* info = response->add_maps();
    info->set_name(map.name);
    info->set_type(map.type);
    info->set_live_keys(map.live_keys);
    info->set_expiring_keys(map.expiring_keys);
    info->set_expirations(map.expirations);
  }
  response->set_live_keys(stats.live_keys);
  response->set_expiring_keys(stats.expiring_keys);
  response->set_expirations(stats.expirations);
  response->set_orphan_keys(stats.orphan_keys);
  response->set_wal_records(stats.wal_records);
  response->set_file_bytes(stats.file_bytes);
  response->set_wal_batches(stats.wal_batches);
  response->set_wal_syncs(stats.wal_syncs);
  response->set_torn_tail_bytes(stats.torn_tail_bytes);
  response->set_skipped_corrupt(stats.skipped_corrupt);
  response->set_ignored_unknown_fields(stats.ignored_unknown_fields);
  if (!stats.health.ok()) {
    response->set_write_error(std::string(stats.health.message()));
  }
  return call.Finish(absl::OkStatus());
}

grpc::ServerUnaryReactor* PersistService::ListMaps(
    grpc::CallbackServerContext* context, const v1::ListMapsRequest*,
    v1::ListMapsResponse* response) {
  const UnaryCall call(context, counters_.list_maps, &drain_);
  absl::StatusOr<Store*> store = Begin(*context, call, /*write=*/false);
  if (!store.ok()) return call.Finish(store.status());
  for (const DynamicMap* map : (*store)->Maps()) {
    v1::MapInfo* info = response->add_maps();
    info->set_name(map->name());
    info->set_type(map->type()->full_name());
    info->set_live_keys(map->Size());
  }
  return call.Finish(absl::OkStatus());
}

// Streams do not enter the drain, which would wait for them: Drain ends
// Watch streams, and a Snapshot stream ends itself once draining.
absl::StatusOr<Store*> PersistService::BeginStream(
    const grpc::CallbackServerContext& context,
    absl::string_view shutting_down) const {
  if (drain_.draining()) return absl::UnavailableError(shutting_down);
  if (options_.auth != nullptr) {
    PERSIST_RETURN_IF_ERROR(options_.auth->Check(context, /*write=*/false));
  }
  Store* const store = store_.load(std::memory_order_acquire);
  if (store == nullptr) {
    return absl::UnavailableError(
        "persistd is still loading its data file; retry shortly");
  }
  return store;
}

grpc::ServerWriteReactor<v1::WatchResponse>* PersistService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  absl::StatusOr<Store*> store = BeginStream(
      *context,
      "persistd is shutting down; watch another replica, or list again "
      "once it restarts");
  absl::StatusOr<DynamicMap*> map =
      store.ok() ? (*store)->GetMap(request->map()) : store.status();
  if (!map.ok()) return new WatchRefusal(map.status(), counters_.watch);
  return WatchStream::Start(*request, *store, *map, &watch_hub_,
                            MakeWatchOptions(options_, counters_.watch));
}

grpc::ServerWriteReactor<v1::SnapshotResponse>* PersistService::Snapshot(
    grpc::CallbackServerContext* context, const v1::SnapshotRequest*) {
  absl::StatusOr<Store*> store = BeginStream(
      *context, "persistd is shutting down; take the backup once it is back");
  // Chunks of 1 MiB, or less if replies are limited to less.
  const size_t chunk_bytes = std::min<size_t>(
      1 << 20, static_cast<size_t>(MaxReplyBytes(options_.max_message_bytes)) -
                   kPageTokenRoomBytes);
  return SnapshotStream::Start(store.ok() ? *store : nullptr, store.status(),
                               chunk_bytes, &drain_, counters_.snapshot);
}

}  // namespace persist::service
