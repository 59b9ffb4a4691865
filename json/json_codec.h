// JsonCodec: protobuf messages to and from proto3 JSON text, as the WAL holds
// them (DESIGN.md section 4).
//
// The codec walks messages with protobuf reflection, so it serves generated
// classes and DynamicMessage alike, and reads and writes text with RapidJSON.
// It agrees with google::protobuf::util's JSON functions on every message
// with one deliberate difference in what it writes: 64-bit integers are JSON
// numbers (exact, as go-persist writes them), not strings. It reads both.
//
// Written form:
//   - one line, no whitespace, no trailing newline; control characters and
//     line breaks inside strings are escaped;
//   - fields by json_name; fields at their default value are omitted, fields
//     with explicit presence (proto3 `optional`, messages, oneof members) are
//     written when set;
//   - map entries sorted by key (numerically for integer keys), so that equal
//     messages always give equal text;
//   - enums by name (by number when the value has no name); bytes as
//     standard base64 with padding; float and double in the shortest form
//     that reads back to the same bits, "NaN", "Infinity" and "-Infinity" as
//     strings, negative zero as "-0.0" (protobuf reads "-0" as +0);
//   - the well-known types in their JSON forms (Timestamp, Duration,
//     FieldMask, Struct, Value, ListValue, NullValue, wrappers, Any, Empty).
//
// Read form: all of the above, plus original proto field names, integers as
// strings or as integral numbers (1e3), enums by number, URL-safe and
// unpadded base64, and numeric strings for floats. `null` leaves a field
// unset (except for google.protobuf.Value and NullValue, where it is data).
//
// Errors never crash and never leave a partly filled message behind: a failed
// Decode clears its output. Messages name the JSON path of the problem, for
// example `field "address.zip": expected string, got number`.
//
// Thread-safety: all methods are const and may be called concurrently.
#ifndef PERSIST_JSON_JSON_CODEC_H_
#define PERSIST_JSON_JSON_CODEC_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace persist {

class JsonCodecState;

struct JsonCodecOptions {
  // Resolves the types named by google.protobuf.Any's "@type". It must
  // outlive the codec. nullptr: the pool of the message being encoded or
  // decoded.
  const google::protobuf::DescriptorPool* any_type_pool = nullptr;

  // When reading, skip (and count) fields the message type does not have and
  // enum names it does not know, instead of failing. When writing, skip
  // (and count) the unknown fields a message carries (fields protobuf's
  // parser found in its bytes but not in its type, or with another wire
  // type), instead of failing: JSON has no form for them.
  bool ignore_unknown_fields = false;

  // Deepest nesting of JSON objects and arrays accepted when reading; deeper
  // input is an error rather than a stack overflow. Protobuf's own parser
  // uses the same limit.
  int max_depth = 100;

  // When reading, also take google.protobuf.Duration values in Go's and
  // abseil's form ("500ms", "1m30s", "2h"), besides proto3's ("0.5s"): for
  // configuration files people write, never for the WAL.
  bool read_go_durations = false;
};

// What a successful Encode passed over.
struct JsonEncodeStats {
  // Unknown fields skipped under ignore_unknown_fields.
  int64_t ignored_unknown_fields = 0;
};

// What a successful Decode passed over.
struct JsonDecodeStats {
  // Unknown fields and unknown enum names skipped under
  // ignore_unknown_fields.
  int64_t ignored_unknown_fields = 0;
};

class JsonCodec {
 public:
  explicit JsonCodec(JsonCodecOptions options = {});
  ~JsonCodec();
  JsonCodec(const JsonCodec&) = delete;
  JsonCodec& operator=(const JsonCodec&) = delete;

  // Appends the JSON form of `message` to `*out`. On error `*out` is left as
  // it was. Fails for values that have no JSON form: strings that are not
  // valid UTF-8, Timestamps and Durations out of range, an Any whose type is
  // unknown or whose bytes do not parse, a Value with no kind or a
  // non-finite number, FieldMask paths that do not map to lowerCamelCase,
  // and messages (or Any payloads) holding unknown fields, unless
  // ignore_unknown_fields. `stats`, if not null, receives counts of what
  // was skipped.
  absl::Status Encode(const google::protobuf::Message& message,
                      std::string* out, JsonEncodeStats* stats = nullptr) const;
  absl::StatusOr<std::string> Encode(
      const google::protobuf::Message& message) const;

  // Replaces the contents of `*message` with the value read from `json`,
  // which must hold exactly one JSON value (surrounding whitespace allowed).
  // On error `*message` is cleared. `stats`, if not null, receives counts of
  // what was skipped.
  absl::Status Decode(absl::string_view json,
                      google::protobuf::Message* message,
                      JsonDecodeStats* stats = nullptr) const;

  const JsonCodecOptions& options() const;

 private:
  const std::unique_ptr<JsonCodecState> state_;
};

}  // namespace persist

#endif  // PERSIST_JSON_JSON_CODEC_H_
