#include "json/json_codec.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "json/internal/json_codec_state.h"
#include "json/internal/json_decoder.h"
#include "json/internal/json_encoder.h"
#include "json/internal/json_tape.h"
#include "rapidjson/stringbuffer.h"

namespace persist {
namespace {

// Per-thread scratch reused across calls, so that encoding and decoding do
// not allocate their working buffers each time. Buffers that grew large for
// one unusual record are released afterwards rather than kept forever.
constexpr size_t kKeptScratchBytes = 1 << 20;

rapidjson::StringBuffer& EncodeBuffer() {
  thread_local rapidjson::StringBuffer buffer;
  buffer.Clear();
  return buffer;
}

JsonTape& DecodeTape() {
  thread_local JsonTape tape;
  return tape;
}

}  // namespace

JsonCodecState::JsonCodecState(JsonCodecOptions options) : options_(options) {
  factory_.SetDelegateToGeneratedFactory(true);
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>>
JsonCodecState::NewMessageForAny(
    absl::string_view type_url,
    const google::protobuf::DescriptorPool* fallback_pool) const {
  const size_t slash = type_url.rfind('/');
  const absl::string_view name = slash == absl::string_view::npos
                                     ? absl::string_view()
                                     : type_url.substr(slash + 1);
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("google.protobuf.Any type URL \"", type_url,
                     "\" is malformed: expected \"type.googleapis.com/<full "
                     "message name>\""));
  }
  const google::protobuf::DescriptorPool* pool =
      options_.any_type_pool != nullptr ? options_.any_type_pool
                                        : fallback_pool;
  const google::protobuf::Descriptor* type =
      pool->FindMessageTypeByName(std::string(name));
  if (type == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "google.protobuf.Any holds type \"", name,
        "\", which the schema does not define (add its .proto to the "
        "schema)"));
  }
  const google::protobuf::Message* prototype = factory_.GetPrototype(type);
  return std::unique_ptr<google::protobuf::Message>(prototype->New());
}

JsonCodec::JsonCodec(JsonCodecOptions options)
    : state_(std::make_unique<JsonCodecState>(options)) {}

JsonCodec::~JsonCodec() = default;

const JsonCodecOptions& JsonCodec::options() const { return state_->options(); }

absl::Status JsonCodec::Encode(const google::protobuf::Message& message,
                               std::string* out, JsonEncodeStats* stats) const {
  rapidjson::StringBuffer& buffer = EncodeBuffer();
  JsonEncoder encoder(*state_, message.GetDescriptor()->file()->pool(),
                      &buffer);
  absl::Status status = encoder.WriteMessage(message, JsonPath::Root(), 0);
  if (status.ok()) {
    out->append(buffer.GetString(), buffer.GetSize());
    if (stats != nullptr) {
      stats->ignored_unknown_fields = encoder.ignored_unknown_fields();
    }
  }
  if (buffer.GetSize() > kKeptScratchBytes) buffer.ShrinkToFit();
  return status;
}

absl::StatusOr<std::string> JsonCodec::Encode(
    const google::protobuf::Message& message) const {
  std::string out;
  absl::Status status = Encode(message, &out);
  if (!status.ok()) return status;
  return out;
}

absl::Status JsonCodec::Decode(absl::string_view json,
                               google::protobuf::Message* message,
                               JsonDecodeStats* stats) const {
  message->Clear();
  JsonDecodeStats local_stats;
  JsonTape& tape = DecodeTape();
  absl::Status status = tape.Parse(json, state_->options().max_depth);
  if (status.ok()) {
    if (tape[0].type == JsonType::kNull &&
        message->GetDescriptor()->well_known_type() !=
            google::protobuf::Descriptor::WELLKNOWNTYPE_VALUE) {
      status = absl::InvalidArgumentError(
          absl::StrCat("expected object for ",
                       message->GetDescriptor()->full_name(), ", got null"));
    } else {
      JsonDecoder decoder(*state_, message->GetDescriptor()->file()->pool(),
                          tape, &local_stats);
      status = decoder.ReadMessage(0, message, JsonPath::Root());
    }
  }
  if (status.ok() && !message->IsInitialized()) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "missing required fields: ", message->InitializationErrorString()));
  }
  tape.ReleaseIfLarger(kKeptScratchBytes);
  if (!status.ok()) {
    message->Clear();
    return status;
  }
  if (stats != nullptr) *stats = local_stats;
  return absl::OkStatus();
}

}  // namespace persist
