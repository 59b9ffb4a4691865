// JsonDecoder: fills messages from a parsed JsonTape (internal to JsonCodec;
// the accepted forms are described in json_codec.h).
#ifndef PERSIST_JSON_INTERNAL_JSON_DECODER_H_
#define PERSIST_JSON_INTERNAL_JSON_DECODER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "json/internal/json_codec_state.h"
#include "json/internal/json_path.h"
#include "json/internal/json_tape.h"
#include "json/json_codec.h"

namespace persist {

class JsonDecoder {
 public:
  // All arguments must outlive the decoder. `stats` must not be null.
  JsonDecoder(const JsonCodecState& state,
              const google::protobuf::DescriptorPool* any_pool,
              const JsonTape& tape, JsonDecodeStats* stats)
      : state_(state), any_pool_(any_pool), tape_(tape), stats_(*stats) {}

  // Reads the JSON value that starts at tape index `i` into `message`, which
  // should be empty. On error `message` holds partial data.
  absl::Status ReadMessage(uint32_t i, google::protobuf::Message* message,
                           const JsonPath& path);

 private:
  using Message = google::protobuf::Message;
  using FieldDescriptor = google::protobuf::FieldDescriptor;

  // The members of the object at `object` into `message`, passing over the
  // member named `skip_key` (an Any's "@type") if not empty.
  absl::Status ReadMembers(uint32_t object, Message* message,
                           const JsonPath& path, absl::string_view skip_key);
  absl::Status ReadNull(Message* message, const FieldDescriptor* field,
                        const JsonPath& path);
  absl::Status ReadField(uint32_t i, Message* message,
                         const FieldDescriptor* field, const JsonPath& path);
  absl::Status ReadMap(uint32_t i, Message* message,
                       const FieldDescriptor* field, const JsonPath& path);
  // Sets a singular field, or appends to a repeated one, from the non-null
  // value at `i`. `*skipped` (if given) is set when an unknown enum name was
  // passed over under ignore_unknown_fields.
  absl::Status ReadValue(uint32_t i, Message* message,
                         const FieldDescriptor* field, const JsonPath& path,
                         bool* skipped = nullptr);
  absl::Status ReadSigned(const JsonToken& token, const FieldDescriptor* field,
                          int64_t min, int64_t max, const JsonPath& path,
                          int64_t* value);
  absl::Status ReadUnsigned(const JsonToken& token,
                            const FieldDescriptor* field, uint64_t max,
                            const JsonPath& path, uint64_t* value);
  absl::Status ReadDouble(const JsonToken& token, const JsonPath& path,
                          double* value);
  absl::Status ReadFloat(const JsonToken& token, const JsonPath& path,
                         float* value);
  // False in `*known` when the name is unknown and ignored.
  absl::Status ReadEnum(const JsonToken& token, const FieldDescriptor* field,
                        const JsonPath& path, int* number, bool* known);
  absl::Status ReadMapKey(const JsonToken& key, Message* entry,
                          const FieldDescriptor* key_field,
                          const JsonPath& path);

  absl::Status ReadWellKnown(uint32_t i, Message* message,
                             const JsonPath& path);
  absl::Status ReadAny(uint32_t i, Message* message, const JsonPath& path);
  absl::Status ReadStruct(uint32_t i, Message* message, const JsonPath& path);
  absl::Status ReadStructValue(uint32_t i, Message* message,
                               const JsonPath& path);
  absl::Status ReadListValue(uint32_t i, Message* message,
                             const JsonPath& path);
  absl::Status ReadFieldMask(const JsonToken& token, Message* message,
                             const JsonPath& path);

  // `unknown field "name" in type.Name`, or a count under
  // ignore_unknown_fields.
  absl::Status UnknownField(absl::string_view name,
                            const google::protobuf::Descriptor* type,
                            const JsonPath& path);
  // "expected <what>, got <type of token>".
  absl::Status Expected(absl::string_view what, const JsonToken& token,
                        const JsonPath& path) const;

  const JsonCodecState& state_;
  const google::protobuf::DescriptorPool* const any_pool_;
  const JsonTape& tape_;
  JsonDecodeStats& stats_;
};

}  // namespace persist

#endif  // PERSIST_JSON_INTERNAL_JSON_DECODER_H_
