#include "clients/cli/map_commands.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "clients/cli/json_output.h"
#include "clients/cli/remote_types.h"
#include "clients/cpp/persist_client.h"
#include "json/json_codec.h"
#include "persist/v1/persist.grpc.pb.h"

namespace persist::cli {
namespace {

using client::FromGrpc;
using google::protobuf::Descriptor;
using ContextFactory = std::function<std::unique_ptr<grpc::ClientContext>()>;

absl::StatusOr<v1::Durability> ParseDurability(const std::string& text) {
  if (text.empty()) return v1::DURABILITY_UNSPECIFIED;
  v1::Durability value;
  if (!v1::Durability_Parse(absl::AsciiStrToUpper(text), &value) ||
      value == v1::DURABILITY_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--durability: \"", text, "\" is not memory, async, write or fsync"));
  }
  return value;
}

absl::StatusOr<v1::Precondition> ParsePrecondition(
    const MapCommandFlags& flags) {
  v1::Precondition precondition;
  int given = 0;
  if (!flags.etag.empty()) {
    precondition.set_etag(flags.etag);
    ++given;
  }
  if (flags.must_exist) {
    precondition.set_must_exist(true);
    ++given;
  }
  if (flags.must_not_exist) {
    precondition.set_must_not_exist(true);
    ++given;
  }
  if (given > 1) {
    return absl::InvalidArgumentError(
        "give at most one of --etag, --must_exist and --must_not_exist");
  }
  return precondition;
}

// The durability and precondition of a Set, Delete or Update request.
template <typename Request>
absl::Status SetWriteOptions(const MapCommandFlags& flags, Request* request) {
  PERSIST_ASSIGN_OR_RETURN(v1::Durability durability,
                           ParseDurability(flags.durability));
  request->set_durability(durability);
  PERSIST_ASSIGN_OR_RETURN(*request->mutable_precondition(),
                           ParsePrecondition(flags));
  return absl::OkStatus();
}

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
        FromGrpc(stub_->ListMaps(new_context_().get(), {}, &maps)));
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
    const Descriptor* type = type_;
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
        const Descriptor* type,
        types_.Find(std::string(url.substr(url.rfind('/') + 1))));
    std::unique_ptr<google::protobuf::Message> value = types_.New(type);
    if (!value->ParseFromString(any.value())) {
      return absl::DataLossError(absl::StrCat(
          "the server sent a ", type->full_name(), " that does not parse"));
    }
    return codec_.Encode(*value);
  }

  // {"key":..,"value":..,"etag":..,"mod_revision":..} for an entry.
  absl::StatusOr<std::string> EntryJson(const std::string& key,
                                        const google::protobuf::Any& value,
                                        const std::string& etag,
                                        int64_t mod_revision) {
    PERSIST_ASSIGN_OR_RETURN(std::string json, Unpack(value));
    return JsonObject()
        .String("key", key)
        .Raw("value", json)
        .String("etag", etag)
        .Int("mod_revision", mod_revision)
        .Done();
  }

 private:
  std::unique_ptr<v1::Persist::Stub> stub_;
  const ContextFactory& new_context_;
  RemoteTypes types_;
  JsonCodec codec_;
  std::string map_;
  const Descriptor* type_ = nullptr;
};

void Print(const std::string& line) { std::printf("%s\n", line.c_str()); }

absl::Status Get(MapClient& client, const std::string& key) {
  v1::GetRequest request;
  request.set_map(client.map());
  request.set_key(key);
  v1::GetResponse response;
  PERSIST_RETURN_IF_ERROR(
      FromGrpc(client.stub().Get(client.Context().get(), request, &response)));
  if (!response.found()) {
    return absl::NotFoundError(
        absl::StrCat("no key \"", key, "\" in map \"", client.map(), "\""));
  }
  PERSIST_ASSIGN_OR_RETURN(
      std::string line, client.EntryJson(key, response.value(), response.etag(),
                                         response.mod_revision()));
  Print(line);
  return absl::OkStatus();
}

absl::Status Set(MapClient& client, const std::string& key,
                 const std::string& json, const MapCommandFlags& flags) {
  v1::SetRequest request;
  request.set_map(client.map());
  request.set_key(key);
  PERSIST_RETURN_IF_ERROR(client.Pack(json, request.mutable_value()));
  PERSIST_RETURN_IF_ERROR(SetWriteOptions(flags, &request));
  v1::SetResponse response;
  PERSIST_RETURN_IF_ERROR(
      FromGrpc(client.stub().Set(client.Context().get(), request, &response)));
  Print(JsonObject()
            .String("key", key)
            .String("etag", response.etag())
            .Bool("existed", response.existed())
            .Int("revision", response.header().revision())
            .Done());
  return absl::OkStatus();
}

absl::Status Delete(MapClient& client, const std::string& key,
                    const MapCommandFlags& flags) {
  v1::DeleteRequest request;
  request.set_map(client.map());
  request.set_key(key);
  PERSIST_RETURN_IF_ERROR(SetWriteOptions(flags, &request));
  v1::DeleteResponse response;
  PERSIST_RETURN_IF_ERROR(FromGrpc(
      client.stub().Delete(client.Context().get(), request, &response)));
  Print(JsonObject()
            .String("key", key)
            .Bool("existed", response.existed())
            .Int("revision", response.header().revision())
            .Done());
  return absl::OkStatus();
}

absl::Status Update(MapClient& client, const std::string& key,
                    const std::string& json, const MapCommandFlags& flags) {
  if (flags.mask.empty()) {
    return absl::InvalidArgumentError(
        "update needs --mask=field,field: the fields to change, by their "
        "proto or JSON names (the others keep their values)");
  }
  v1::UpdateRequest request;
  request.set_map(client.map());
  request.set_key(key);
  PERSIST_RETURN_IF_ERROR(client.Pack(json, request.mutable_value()));
  for (const std::string& path : flags.mask) {
    request.mutable_update_mask()->add_paths(client.ProtoPath(path));
  }
  PERSIST_RETURN_IF_ERROR(SetWriteOptions(flags, &request));
  request.set_allow_missing(flags.allow_missing);
  v1::UpdateResponse response;
  PERSIST_RETURN_IF_ERROR(FromGrpc(
      client.stub().Update(client.Context().get(), request, &response)));
  PERSIST_ASSIGN_OR_RETURN(std::string value, client.Unpack(response.value()));
  Print(JsonObject()
            .String("key", key)
            .Raw("value", value)
            .String("etag", response.etag())
            .Bool("existed", response.existed())
            .Int("revision", response.header().revision())
            .Done());
  return absl::OkStatus();
}

// Every page, one line per entry, up to --limit.
absl::Status List(MapClient& client, const MapCommandFlags& flags) {
  v1::ListRequest request;
  request.set_map(client.map());
  request.set_prefix(flags.prefix);
  request.set_page_size(flags.page_size);
  int64_t printed = 0;
  do {
    v1::ListResponse response;
    PERSIST_RETURN_IF_ERROR(FromGrpc(
        client.stub().List(client.Context().get(), request, &response)));
    for (const v1::Entry& entry : response.entries()) {
      if (flags.limit > 0 && printed == flags.limit) return absl::OkStatus();
      PERSIST_ASSIGN_OR_RETURN(
          std::string line,
          client.EntryJson(entry.key(), entry.value(), entry.etag(),
                           entry.mod_revision()));
      Print(line);
      ++printed;
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return absl::OkStatus();
}

// Every message of a Watch stream, one line per entry, event or progress
// notice (each with "type"), flushed at once for whoever reads the pipe.
absl::Status Watch(MapClient& client, const MapCommandFlags& flags) {
  v1::WatchRequest request;
  request.set_map(client.map());
  request.set_prefix(flags.prefix);
  request.set_start_revision(flags.from_revision);
  request.set_epoch(flags.epoch);
  request.set_send_initial(flags.initial);
  std::unique_ptr<grpc::ClientContext> context = client.Context();
  // --timeout bounds calls, not a stream that runs until stopped.
  context->set_deadline(std::chrono::system_clock::time_point::max());
  auto reader = client.stub().Watch(context.get(), request);
  int64_t printed = 0;
  auto print = [&](const std::string& line, bool counts) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (counts) ++printed;
    return flags.limit > 0 && printed >= flags.limit;
  };
  v1::WatchResponse response;
  bool done = false;
  while (!done && reader->Read(&response)) {
    const v1::ResponseHeader& header = response.header();
    for (const v1::Entry& entry : response.initial()) {
      PERSIST_ASSIGN_OR_RETURN(std::string value, client.Unpack(entry.value()));
      done = print(JsonObject()
                       .String("type", "INITIAL")
                       .String("key", entry.key())
                       .Raw("value", value)
                       .String("etag", entry.etag())
                       .Int("mod_revision", entry.mod_revision())
                       .Done(),
                   true);
      if (done) break;
    }
    if (done) break;
    if (response.initial_done()) {
      print(JsonObject()
                .String("type", "SYNCED")
                .Int("revision", header.revision())
                .String("epoch", header.epoch())
                .Done(),
            false);
    }
    for (const v1::WatchEvent& event : response.events()) {
      JsonObject line;
      if (event.type() == v1::WatchEvent::DELETE) {
        line.String("type", "DELETE").String("key", event.key());
      } else {
        PERSIST_ASSIGN_OR_RETURN(std::string value,
                                 client.Unpack(event.value()));
        line.String("type", "PUT")
            .String("key", event.key())
            .Raw("value", value)
            .String("etag", event.etag());
      }
      done = print(line.Int("revision", event.revision()).Done(), true);
      if (done) break;
    }
    if (done) break;
    // Where to resume from: the stream's start, and quiet spells.
    if (response.initial().empty() && !response.initial_done() &&
        response.events().empty()) {
      print(JsonObject()
                .String("type", "PROGRESS")
                .Int("revision", header.revision())
                .String("epoch", header.epoch())
                .Done(),
            false);
    }
  }
  if (done) {
    context->TryCancel();
    while (reader->Read(&response)) {
    }
    reader->Finish();
    return absl::OkStatus();
  }
  return FromGrpc(reader->Finish());
}

}  // namespace

int MapCommandArgCount(const std::string& command) {
  if (command == "list" || command == "watch") return 1;
  if (command == "get" || command == "delete") return 2;
  if (command == "set" || command == "update") return 3;
  return -1;
}

absl::Status RunMapCommand(const std::string& command,
                           const std::vector<std::string>& args,
                           const MapCommandFlags& flags,
                           std::shared_ptr<grpc::Channel> channel,
                           const ContextFactory& new_context) {
  MapClient client(std::move(channel), new_context);
  PERSIST_RETURN_IF_ERROR(client.Open(args.at(0)));
  if (command == "list") return List(client, flags);
  if (command == "watch") return Watch(client, flags);
  if (command == "get") return Get(client, args.at(1));
  if (command == "delete") return Delete(client, args.at(1), flags);
  if (command == "set") return Set(client, args.at(1), args.at(2), flags);
  return Update(client, args.at(1), args.at(2), flags);
}

}  // namespace persist::cli
