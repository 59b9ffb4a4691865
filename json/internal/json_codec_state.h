// JsonCodecState: what JsonCodec's encoder and decoder share (internal).
#ifndef PERSIST_JSON_INTERNAL_JSON_CODEC_STATE_H_
#define PERSIST_JSON_INTERNAL_JSON_CODEC_STATE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "json/internal/field_name_index.h"
#include "json/json_codec.h"

namespace persist {

// Thread-safety: safe for concurrent use.
class JsonCodecState {
 public:
  explicit JsonCodecState(JsonCodecOptions options);
  JsonCodecState(const JsonCodecState&) = delete;
  JsonCodecState& operator=(const JsonCodecState&) = delete;

  const JsonCodecOptions& options() const { return options_; }
  FieldNameIndex& field_names() const { return field_names_; }

  // An empty message of the type named by an Any's type URL (the part after
  // the last '/'), looked up in options().any_type_pool or, if that is null,
  // in `fallback_pool`. NotFound-style InvalidArgument naming the type if the
  // pool does not have it.
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> NewMessageForAny(
      absl::string_view type_url,
      const google::protobuf::DescriptorPool* fallback_pool) const;

 private:
  const JsonCodecOptions options_;
  mutable FieldNameIndex field_names_;
  // Makes messages for Any types outside the generated pool. GetPrototype is
  // thread-safe; generated types are delegated to their generated classes.
  mutable google::protobuf::DynamicMessageFactory factory_;
};

}  // namespace persist

#endif  // PERSIST_JSON_INTERNAL_JSON_CODEC_STATE_H_
