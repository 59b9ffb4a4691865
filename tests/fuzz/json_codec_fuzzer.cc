// libFuzzer target for JsonCodec::Decode. Any input must decode or fail
// cleanly; whatever decodes must encode, and the encoding must decode to an
// equal message (the codec's round-trip promise). Built by the "fuzz" preset
// with ASan and UBSan; .ci/run runs it for a minute.
#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "json/json_codec.h"
#include "persist/test/v1/all_types.pb.h"

namespace {

void CheckRoundTrip(const persist::JsonCodec& codec,
                    google::protobuf::Message* message,
                    const std::string& json) {
  if (!codec.Decode(json, message).ok()) return;
  absl::StatusOr<std::string> encoded = codec.Encode(*message);
  // A decoded message can lack a JSON form only where JSON itself cannot
  // say it: a google.protobuf.Value holding a number too large for a double
  // cannot be decoded in the first place, so every decoded message encodes.
  if (!encoded.ok()) __builtin_trap();
  std::unique_ptr<google::protobuf::Message> again(message->New());
  if (!codec.Decode(*encoded, again.get()).ok()) __builtin_trap();
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  if (!differencer.Compare(*message, *again)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const persist::JsonCodec* strict = new persist::JsonCodec();
  static const persist::JsonCodec* lenient = [] {
    persist::JsonCodecOptions options;
    options.ignore_unknown_fields = true;
    return new persist::JsonCodec(options);
  }();
  const std::string json(reinterpret_cast<const char*>(data), size);
  persist::test::v1::AllTypes all_types;
  CheckRoundTrip(*strict, &all_types, json);
  CheckRoundTrip(*lenient, &all_types, json);
  google::protobuf::Value value;
  CheckRoundTrip(*strict, &value, json);
  return 0;
}
