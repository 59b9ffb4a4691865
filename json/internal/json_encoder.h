// JsonEncoder: writes messages as proto3 JSON through a RapidJSON writer
// (internal to JsonCodec; the format is described in json_codec.h).
#ifndef PERSIST_JSON_INTERNAL_JSON_ENCODER_H_
#define PERSIST_JSON_INTERNAL_JSON_ENCODER_H_

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "json/internal/json_codec_state.h"
#include "json/internal/json_path.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace persist {

// The writer copies string bytes as they are; the encoder checks them with
// IsValidUtf8 first, which is several times faster than RapidJSON's own
// validation.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

class JsonEncoder {
 public:
  // `any_pool` resolves Any types; `out` receives the text. Both must
  // outlive the encoder.
  JsonEncoder(const JsonCodecState& state,
              const google::protobuf::DescriptorPool* any_pool,
              rapidjson::StringBuffer* out);

  // Writes `message` as one JSON value. On error the writer holds partial
  // output that the caller must discard.
  absl::Status WriteMessage(const google::protobuf::Message& message,
                            const JsonPath& path, int depth);

  // Unknown fields skipped so far (under ignore_unknown_fields).
  int64_t ignored_unknown_fields() const { return ignored_unknown_fields_; }

 private:
  using Message = google::protobuf::Message;
  using FieldDescriptor = google::protobuf::FieldDescriptor;

  // Fields of `message` that its type does not know (protobuf keeps them
  // as unknown fields): an error naming the first, or counted and skipped
  // under ignore_unknown_fields.
  absl::Status CheckUnknownFields(const Message& message, const JsonPath& path);
  // The members of `message`'s object, without the braces.
  absl::Status WriteMembers(const Message& message, const JsonPath& path,
                            int depth);
  absl::Status WriteField(const Message& message, const FieldDescriptor* field,
                          const JsonPath& path, int depth);
  absl::Status WriteMap(const Message& message, const FieldDescriptor* field,
                        const JsonPath& path, int depth);
  // One value of `field`: the singular value if `index` < 0, else element
  // `index` of the repeated field.
  absl::Status WriteValue(const Message& message, const FieldDescriptor* field,
                          int index, const JsonPath& path, int depth);
  absl::Status WriteString(absl::string_view text, const JsonPath& path);
  void WriteDouble(double value);
  void WriteFloat(float value);

  absl::Status WriteWellKnown(const Message& message, const JsonPath& path,
                              int depth);
  absl::Status WriteAny(const Message& message, const JsonPath& path,
                        int depth);
  absl::Status WriteStruct(const Message& message, const JsonPath& path,
                           int depth);
  absl::Status WriteStructValue(const Message& message, const JsonPath& path,
                                int depth);
  absl::Status WriteListValue(const Message& message, const JsonPath& path,
                              int depth);
  absl::Status WriteFieldMask(const Message& message, const JsonPath& path);

  const JsonCodecState& state_;
  const google::protobuf::DescriptorPool* const any_pool_;
  rapidjson::StringBuffer& out_;
  JsonWriter w_;
  int64_t ignored_unknown_fields_ = 0;
};

}  // namespace persist

#endif  // PERSIST_JSON_INTERNAL_JSON_ENCODER_H_
