// MapClient: one map of a persistd, its values as JSON in the map's type,
// which RemoteTypes learns from the server (persistctl's data commands).
#ifndef PERSIST_CLIENTS_CLI_MAP_CLIENT_H_
#define PERSIST_CLIENTS_CLI_MAP_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "clients/cli/json_output.h"
#include "clients/cli/remote_types.h"
#include "clients/cpp/persist_client.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"
#include "json/json_codec.h"
#include "persist/v1/persist.grpc.pb.h"
#include "storage/expiry.h"

namespace persist::cli {

using ContextFactory = std::function<std::unique_ptr<grpc::ClientContext>()>;

// A map's values, as JSON, over the server's types.
class MapClient {
 public:
  MapClient(const std::shared_ptr<grpc::Channel>& channel,
            const ContextFactory& new_context)
      : stub_(v1::Persist::NewStub(channel)),
        new_context_(new_context),
        types_(channel, new_context),
        codec_(JsonCodecOptions{.any_type_pool = types_.pool()}) {}

  // Learns `map`'s type; NotFound names the maps the server has.
  absl::Status Open(const std::string& map) {
    v1::ListMapsResponse maps;
    PERSIST_RETURN_IF_ERROR(
        client::FromGrpc(stub_->ListMaps(new_context_().get(), {}, &maps)));
    std::vector<std::string> names;
    for (const v1::MapInfo& info : maps.maps()) {
      if (info.name() == map) {
        PERSIST_ASSIGN_OR_RETURN(type_, types_.Find(info.type()));
        map_ = map;
        return absl::OkStatus();
      }
      // The map with the empty name (go-persist's single map) as "".
      names.push_back(info.name().empty() ? "\"\"" : info.name());
    }
    return absl::NotFoundError(
        absl::StrCat("no map \"", map, "\" on the server; it has: ",
                     names.empty() ? "none" : absl::StrJoin(names, ", ")));
  }

  v1::Persist::Stub& stub() { return *stub_; }
  const std::string& map() const { return map_; }
  std::unique_ptr<grpc::ClientContext> Context() { return new_context_(); }

  // `json` as an Any of the map's type.
  absl::Status Pack(const std::string& json, google::protobuf::Any* any) {
    std::unique_ptr<google::protobuf::Message> value = types_.New(type_);
    if (absl::Status decoded = codec_.Decode(json, value.get());
        !decoded.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the value is not JSON of ", type_->full_name(),
                       " (map \"", map_, "\"): ", decoded.message()));
    }
    any->set_type_url(absl::StrCat("type.googleapis.com/", type_->full_name()));
    value->SerializeToString(any->mutable_value());
    return absl::OkStatus();
  }

  // `path` with each segment by its proto name: a JSON name (totalCents)
  // is taken for the proto name (total_cents). Segments the type lacks stay
  // as they are, for the server to refuse by name.
  std::string ProtoPath(absl::string_view path) const {
    const google::protobuf::Descriptor* type = type_;
    std::vector<std::string> segments;
    for (absl::string_view segment : absl::StrSplit(path, '.')) {
      const google::protobuf::FieldDescriptor* field = nullptr;
      if (type != nullptr) {
        field = type->FindFieldByName(std::string(segment));
        for (int i = 0; field == nullptr && i < type->field_count(); ++i) {
          if (type->field(i)->json_name() == segment) field = type->field(i);
        }
      }
      segments.push_back(field != nullptr ? field->name()
                                          : std::string(segment));
      type = field != nullptr ? field->message_type() : nullptr;
    }
    return absl::StrJoin(segments, ".");
  }

  // An Any from the server, as JSON.
  absl::StatusOr<std::string> Unpack(const google::protobuf::Any& any) {
    const absl::string_view url = any.type_url();
    PERSIST_ASSIGN_OR_RETURN(
        const google::protobuf::Descriptor* type,
        types_.Find(std::string(url.substr(url.rfind('/') + 1))));
    std::unique_ptr<google::protobuf::Message> value = types_.New(type);
    if (!value->ParseFromString(any.value())) {
      return absl::DataLossError(absl::StrCat(
          "the server sent a ", type->full_name(), " that does not parse"));
    }
    return codec_.Encode(*value);
  }

  // {"key":..,"value":..,"etag":..,"mod_revision":..} for an entry.
  // `expire_time` null: the entry does not expire.
  absl::StatusOr<std::string> EntryJson(
      const std::string& key, const google::protobuf::Any& value,
      const std::string& etag, int64_t mod_revision,
      const google::protobuf::Timestamp* expire_time) {
    PERSIST_ASSIGN_OR_RETURN(std::string json, Unpack(value));
    JsonObject object;
    object.String("key", key)
        .Raw("value", json)
        .String("etag", etag)
        .Int("mod_revision", mod_revision);
    if (expire_time != nullptr) {
      object.String("expire_time", TimestampText(*expire_time));
    }
    return object.Done();
  }

  // "2026-12-03T16:00:00.5Z".
  static std::string TimestampText(const google::protobuf::Timestamp& time) {
    return FormatExpiry(time.seconds() * 1000000000 + time.nanos());
  }

 private:
  std::unique_ptr<v1::Persist::Stub> stub_;
  const ContextFactory& new_context_;
  RemoteTypes types_;
  JsonCodec codec_;
  std::string map_;
  const google::protobuf::Descriptor* type_ = nullptr;
};

}  // namespace persist::cli

#endif  // PERSIST_CLIENTS_CLI_MAP_CLIENT_H_
