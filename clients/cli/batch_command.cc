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
#include "json/json_codec.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace persist::cli {
namespace {

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

// One operation as a line of input holds it: the rest of the line, and its
// "value" (JSON of its map's type), apart. A SAX pass, so that numbers keep
// their text: a round trip through google.protobuf.Struct would turn each
// into a double and change 64-bit integers silently.
class ValueSplitter {
 public:
  using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

  const char* rest() const { return rest_buffer_.GetString(); }
  const char* value() const { return value_buffer_.GetString(); }
  bool has_value() const { return has_value_; }

  // rapidjson's Handler; with kParseNumbersAsStringsFlag every number
  // comes as RawNumber.
  bool Null() { return Scalar(Out().Null()); }
  bool Bool(bool b) { return Scalar(Out().Bool(b)); }
  bool Int(int i) { return Scalar(Out().Int(i)); }
  bool Uint(unsigned i) { return Scalar(Out().Uint(i)); }
  bool Int64(int64_t i) { return Scalar(Out().Int64(i)); }
  bool Uint64(uint64_t i) { return Scalar(Out().Uint64(i)); }
  bool Double(double d) { return Scalar(Out().Double(d)); }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    return Scalar(Out().RawValue(text, length, rapidjson::kNumberType));
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    return Scalar(Out().String(text, length));
  }
  bool StartObject() {
    ++depth_;
    return Out().StartObject();
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    // The operation's own object is at depth 2: {"set": {"value": ...}}.
    if (depth_ == 2 && !capturing_ &&
        absl::string_view(text, length) == "value") {
      capturing_ = true;
      has_value_ = true;
      return true;
    }
    return Out().Key(text, length);
  }
  bool EndObject(rapidjson::SizeType) { return End(Out().EndObject()); }
  bool StartArray() {
    ++depth_;
    return Out().StartArray();
  }
  bool EndArray(rapidjson::SizeType) { return End(Out().EndArray()); }

 private:
  Writer& Out() { return capturing_ ? value_ : rest_; }
  // A value at the operation's depth ends the capture.
  bool Scalar(bool ok) {
    if (capturing_ && depth_ == 2) capturing_ = false;
    return ok;
  }
  bool End(bool ok) {
    --depth_;
    return Scalar(ok);
  }

  int depth_ = 0;
  bool capturing_ = false;
  bool has_value_ = false;
  rapidjson::StringBuffer rest_buffer_;
  rapidjson::StringBuffer value_buffer_;
  Writer rest_{rest_buffer_};
  Writer value_{value_buffer_};
};

// `text`, one line of the input, as a WriteOperation with its value packed
// in its map's type. InvalidArgument for what is wrong with the line; the
// server's answers while learning a map keep their codes.
absl::StatusOr<v1::WriteOperation> ParseOperation(const std::string& text,
                                                  Maps& maps) {
  ValueSplitter splitter;
  rapidjson::Reader reader;
  rapidjson::StringStream stream(text.c_str());
  if (!reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, splitter)) {
    return absl::InvalidArgumentError(
        absl::StrCat("is not JSON: ",
                     rapidjson::GetParseError_En(reader.GetParseErrorCode()),
                     " at byte ", reader.GetErrorOffset()));
  }
  const JsonCodec codec;
  v1::WriteOperation operation;
  PERSIST_RETURN_IF_ERROR(codec.Decode(splitter.rest(), &operation));
  if (operation.operation_case() == v1::WriteOperation::OPERATION_NOT_SET) {
    return absl::InvalidArgumentError(
        "is no operation; give an object with \"set\", \"delete\" or "
        "\"update\"");
  }
  const bool takes_value = operation.has_set() || operation.has_update();
  if (takes_value && !splitter.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "has no \"value\"; a ", operation.has_set() ? "set" : "update",
        " needs one, as JSON of its map's type"));
  }
  if (!takes_value && splitter.has_value()) {
    return absl::InvalidArgumentError("a delete takes no \"value\"");
  }
  if (operation.has_set()) {
    v1::SetRequest& set = *operation.mutable_set();
    PERSIST_ASSIGN_OR_RETURN(MapClient * map, maps.Get(set.map()));
    PERSIST_RETURN_IF_ERROR(map->Pack(splitter.value(), set.mutable_value()));
  } else if (operation.has_update()) {
    v1::UpdateRequest& update = *operation.mutable_update();
    PERSIST_ASSIGN_OR_RETURN(MapClient * map, maps.Get(update.map()));
    PERSIST_RETURN_IF_ERROR(
        map->Pack(splitter.value(), update.mutable_value()));
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
    absl::StatusOr<v1::WriteOperation> operation =
        ParseOperation(std::string(line), maps);
    if (!operation.ok()) {
      return absl::Status(operation.status().code(),
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
        // The batch is applied: a value that cannot be shown is reported,
        // not made an error.
        absl::StatusOr<MapClient*> map = maps.Get(operation.update().map());
        absl::StatusOr<std::string> value =
            map.ok() ? (*map)->Unpack(result.updated[i]) : map.status();
        if (!value.ok()) {
          std::fprintf(stderr,
                       "persistctl: operations[%zu] applied; its value cannot "
                       "be shown: %s\n",
                       i, std::string(value.status().message()).c_str());
        }
        line.String("map", operation.update().map())
            .String("key", operation.update().key())
            .Raw("value", value.ok() ? *value : "null")
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
