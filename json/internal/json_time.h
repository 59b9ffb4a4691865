// Text forms of google.protobuf.Timestamp and google.protobuf.Duration in
// proto3 JSON (internal to the codec).
//
// Timestamp: RFC 3339, "1972-01-01T10:00:20.021Z", between
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z. Written in UTC
// with 0, 3, 6 or 9 fractional digits; read with 0 to 9 digits and a "Z" or
// "+hh:mm"/"-hh:mm" offset.
// Duration: "-1.5s", at most 315,576,000,000 seconds (10,000 years) either
// way. Written with 0, 3, 6 or 9 fractional digits; read with 0 to 9.
#ifndef PERSIST_JSON_INTERNAL_JSON_TIME_H_
#define PERSIST_JSON_INTERNAL_JSON_TIME_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace persist {

// Errors are InvalidArgument and say what is wrong without saying where; the
// codec adds the field path.
absl::Status AppendTimestamp(int64_t seconds, int32_t nanos, std::string* out);
absl::Status ParseTimestamp(absl::string_view text, int64_t* seconds,
                            int32_t* nanos);

absl::Status AppendDuration(int64_t seconds, int32_t nanos, std::string* out);
absl::Status ParseDuration(absl::string_view text, int64_t* seconds,
                           int32_t* nanos);
// Go's and abseil's form: "500ms", "1m30s", "-2h", "1.5us" (units ns, us,
// ms, s, m, h), within google.protobuf.Duration's range.
absl::Status ParseGoDuration(absl::string_view text, int64_t* seconds,
                             int32_t* nanos);

}  // namespace persist

#endif  // PERSIST_JSON_INTERNAL_JSON_TIME_H_
