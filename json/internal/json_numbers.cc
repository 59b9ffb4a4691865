#include "json/internal/json_numbers.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

namespace persist {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses "-?[0-9]+" into magnitude and sign. False if `text` has any other
// character or the magnitude overflows uint64.
bool ParsePlainInteger(absl::string_view text, bool* negative,
                       uint64_t* magnitude) {
  size_t i = 0;
  *negative = !text.empty() && text[0] == '-';
  if (*negative) i = 1;
  if (i == text.size()) return false;
  uint64_t v = 0;
  for (; i < text.size(); ++i) {
    if (!IsDigit(text[i])) return false;
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *magnitude = v;
  return true;
}

bool AllDigits(absl::string_view text) {
  size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
  if (i == text.size()) return false;
  for (; i < text.size(); ++i) {
    if (!IsDigit(text[i])) return false;
  }
  return true;
}

// For integers written with a fraction or an exponent: the value as a
// double, which must be integral.
NumberParse IntegralDouble(absl::string_view text, double* value) {
  NumberParse r = ParseDouble(text, value);
  if (r != NumberParse::kOk) return r;
  if (std::trunc(*value) != *value) return NumberParse::kNotInteger;
  return NumberParse::kOk;
}

}  // namespace

bool IsJsonNumber(absl::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  if (i < n && text[i] == '-') ++i;
  if (i >= n) return false;
  if (text[i] == '0') {
    ++i;
  } else if (IsDigit(text[i])) {
    while (i < n && IsDigit(text[i])) ++i;
  } else {
    return false;
  }
  if (i < n && text[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(text[i])) return false;
    while (i < n && IsDigit(text[i])) ++i;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (i >= n || !IsDigit(text[i])) return false;
    while (i < n && IsDigit(text[i])) ++i;
  }
  return i == n;
}

NumberParse ParseInt64(absl::string_view text, int64_t* value) {
  bool negative;
  uint64_t magnitude;
  if (ParsePlainInteger(text, &negative, &magnitude)) {
    constexpr uint64_t kMaxMagnitude =
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (negative) {
      if (magnitude > kMaxMagnitude + 1) return NumberParse::kOutOfRange;
      *value = magnitude == kMaxMagnitude + 1
                   ? std::numeric_limits<int64_t>::min()
                   : -static_cast<int64_t>(magnitude);
    } else {
      if (magnitude > kMaxMagnitude) return NumberParse::kOutOfRange;
      *value = static_cast<int64_t>(magnitude);
    }
    return NumberParse::kOk;
  }
  if (AllDigits(text)) return NumberParse::kOutOfRange;  // too many digits
  double d;
  NumberParse r = IntegralDouble(text, &d);
  if (r != NumberParse::kOk) return r;
  // 2^63 is exactly representable; anything at or above it is out of range.
  if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
    return NumberParse::kOutOfRange;
  }
  *value = static_cast<int64_t>(d);
  return NumberParse::kOk;
}

NumberParse ParseUint64(absl::string_view text, uint64_t* value) {
  bool negative;
  uint64_t magnitude;
  if (ParsePlainInteger(text, &negative, &magnitude)) {
    if (negative && magnitude != 0) return NumberParse::kOutOfRange;
    *value = magnitude;
    return NumberParse::kOk;
  }
  if (AllDigits(text)) return NumberParse::kOutOfRange;
  double d;
  NumberParse r = IntegralDouble(text, &d);
  if (r != NumberParse::kOk) return r;
  if (d < 0 || d >= 18446744073709551616.0) return NumberParse::kOutOfRange;
  *value = static_cast<uint64_t>(d);
  return NumberParse::kOk;
}

NumberParse ParseDouble(absl::string_view text, double* value) {
  if (!IsJsonNumber(text)) return NumberParse::kSyntax;
  const char* end = text.data() + text.size();
  std::from_chars_result r = std::from_chars(text.data(), end, *value);
  if (r.ec == std::errc::result_out_of_range) return NumberParse::kOutOfRange;
  if (r.ec != std::errc() || r.ptr != end) return NumberParse::kSyntax;
  return NumberParse::kOk;
}

// std::to_chars without a precision gives the shortest form that reads back
// to the same bits. Negative zero is the exception: its shortest form "-0"
// looks like an integer, and readers that parse integers as integers (such
// as protobuf's own) lose the sign; "-0.0" keeps it everywhere.
template <typename Float>
size_t FormatShortest(Float value, char (&buf)[kShortestNumberBufferSize]) {
  if (value == 0 && std::signbit(value)) {
    std::memcpy(buf, "-0.0", 4);
    return 4;
  }
  return static_cast<size_t>(std::to_chars(buf, buf + sizeof(buf), value).ptr -
                             buf);
}

size_t FormatDouble(double value, char (&buf)[kShortestNumberBufferSize]) {
  return FormatShortest(value, buf);
}

size_t FormatFloat(float value, char (&buf)[kShortestNumberBufferSize]) {
  return FormatShortest(value, buf);
}

}  // namespace persist
