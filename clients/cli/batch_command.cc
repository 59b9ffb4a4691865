#include "clients/cli/batch_command.h"

#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "clients/cli/json_output.h"
#include "clients/cli/map_commands.h"
#include "clients/cpp/write_batch.h"
#include "google/protobuf/struct.pb.h"
#include "json/json_codec.h"

namespace persist::cli {
namespace {

using google::protobuf::Struct;

constexpr const char* kKinds[] = {"set", "delete", "update"};

// One operation of the input, and the line it came from.
struct InputOperation {
  int line = 0;
  v1::WriteOperation operation;
};

// The maps of the batch, each learnt from the server once.
class Maps {
 public:
  Maps(const std::shared_ptr<grpc::Channel>& channel,
       const ContextFactory& new_context)
      : channel_(channel), new_context_(new_context) {}

  absl::StatusOr<MapClient*> Get(const std::string& name) {
    auto it = clients_.find(name);
    if (it != clients_.end()) return it->second.get();
    auto client = std::make_unique<MapClient>(channel_, new_context_);
    PERSIST_RETURN_IF_ERROR(client->Open(name));
    return clients_.emplace(name, std::move(client)).first->second.get();
  }

 private:
  const std::shared_ptr<grpc::Channel> channel_;
  const ContextFactory& new_context_;
  std::map<std::string, std::unique_ptr<MapClient>> clients_;
};

// `text`, one line of the input, as a WriteOperation with its value packed
// in its map's type.
absl::StatusOr<v1::WriteOperation> ParseOperation(absl::string_view text,
                                                  Maps& maps) {
  const JsonCodec codec;
  Struct line;
  PERSIST_RETURN_IF_ERROR(codec.Decode(text, &line));
  const char* kind = nullptr;
  for (const char* candidate : kKinds) {
    if (line.fields().contains(candidate)) {
      if (kind != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("has both \"", kind, "\" and \"", candidate,
                         "\"; give one operation per line"));
      }
      kind = candidate;
    }
  }
  if (kind == nullptr) {
    return absl::InvalidArgumentError(
        "is no operation; give an object with \"set\", \"delete\" or "
        "\"update\"");
  }
  // The value is JSON of the map's type: taken out, to be packed once the
  // map's type is known; the rest is a WriteOperation as it is.
  std::string value_json;
  google::protobuf::Value& inner = (*line.mutable_fields())[kind];
  if (inner.has_struct_value()) {
    auto& fields = *inner.mutable_struct_value()->mutable_fields();
    if (auto it = fields.find("value"); it != fields.end()) {
      PERSIST_ASSIGN_OR_RETURN(value_json, codec.Encode(it->second));
      fields.erase(it);
    }
  }
  PERSIST_ASSIGN_OR_RETURN(const std::string rest, codec.Encode(line));
  v1::WriteOperation operation;
  PERSIST_RETURN_IF_ERROR(codec.Decode(rest, &operation));
  const bool takes_value = operation.has_set() || operation.has_update();
  if (takes_value && value_json.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "has no \"value\"; a ", kind, " needs one, as JSON of its map's type"));
  }
  if (!takes_value && !value_json.empty()) {
    return absl::InvalidArgumentError("a delete takes no \"value\"");
  }
  if (operation.has_set()) {
    v1::SetRequest& set = *operation.mutable_set();
    PERSIST_ASSIGN_OR_RETURN(MapClient * map, maps.Get(set.map()));
    PERSIST_RETURN_IF_ERROR(map->Pack(value_json, set.mutable_value()));
  } else if (operation.has_update()) {
    v1::UpdateRequest& update = *operation.mutable_update();
    PERSIST_ASSIGN_OR_RETURN(MapClient * map, maps.Get(update.map()));
    PERSIST_RETURN_IF_ERROR(map->Pack(value_json, update.mutable_value()));
    for (std::string& path : *update.mutable_update_mask()->mutable_paths()) {
      path = map->ProtoPath(path);
    }
  } else {
    PERSIST_RETURN_IF_ERROR(maps.Get(operation.delete_().map()).status());
  }
  return operation;
}

// "operations[i]: ..." from the server, with the line operation i came
// from.
absl::Status WithLine(const absl::Status& status,
                      const std::vector<InputOperation>& operations,
                      const std::string& input_name) {
  for (size_t i = 0; i < operations.size(); ++i) {
    if (absl::StartsWith(status.message(),
                         absl::StrCat("operations[", i, "]"))) {
      return absl::Status(status.code(),
                          absl::StrCat(status.message(), " (", input_name,
                                       " line ", operations[i].line, ")"));
    }
  }
  return status;
}

}  // namespace

absl::Status RunBatch(const std::string& input_name, const std::string& input,
                      const std::string& durability,
                      const std::shared_ptr<grpc::Channel>& channel,
                      const ContextFactory& new_context) {
  v1::WriteRequest request;
  PERSIST_ASSIGN_OR_RETURN(v1::Durability parsed, ParseDurability(durability));
  request.set_durability(parsed);
  Maps maps(channel, new_context);
  std::vector<InputOperation> operations;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    absl::StatusOr<v1::WriteOperation> operation = ParseOperation(line, maps);
    if (!operation.ok()) {
      return absl::Status(
          operation.status().code() == absl::StatusCode::kNotFound
              ? absl::StatusCode::kNotFound
              : absl::StatusCode::kInvalidArgument,
          absl::StrCat(input_name, " line ", number, ": ",
                       operation.status().message()));
    }
    *request.add_operations() = *operation;
    operations.push_back({number, *std::move(operation)});
  }
  if (operations.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        input_name, " holds no operation; give one per line, as JSON"));
  }
  v1::WriteResponse response;
  if (absl::Status written =
          client::FromGrpc(v1::Persist::NewStub(channel)->Write(
              new_context().get(), request, &response));
      !written.ok()) {
    return WithLine(written, operations, input_name);
  }
  const client::BatchResult result = client::ReadBatchResult(response);
  for (size_t i = 0; i < operations.size(); ++i) {
    const v1::WriteOperation& operation = operations[i].operation;
    const client::WriteResult& done = result.results[i];
    JsonObject line;
    switch (operation.operation_case()) {
      case v1::WriteOperation::kSet:
        line.String("map", operation.set().map())
            .String("key", operation.set().key())
            .String("etag", done.etag);
        break;
      case v1::WriteOperation::kDelete:
        line.String("map", operation.delete_().map())
            .String("key", operation.delete_().key());
        break;
      case v1::WriteOperation::kUpdate: {
        PERSIST_ASSIGN_OR_RETURN(MapClient * map,
                                 maps.Get(operation.update().map()));
        PERSIST_ASSIGN_OR_RETURN(std::string value,
                                 map->Unpack(result.updated[i]));
        line.String("map", operation.update().map())
            .String("key", operation.update().key())
            .Raw("value", value)
            .String("etag", done.etag);
        break;
      }
      case v1::WriteOperation::OPERATION_NOT_SET:
        break;
    }
    std::printf("%s\n", line.Bool("existed", done.existed)
                            .Int("revision", done.revision)
                            .Done()
                            .c_str());
  }
  return absl::OkStatus();
}

}  // namespace persist::cli
