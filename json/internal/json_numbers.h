// Exact conversions between JSON number text and C++ numbers (internal to the
// codec). RapidJSON hands the codec numbers as their original text; these
// functions turn that text, or the text of a quoted number, into values
// without rounding, and write floating point in the shortest form that reads
// back to the same bits.
#ifndef PERSIST_JSON_INTERNAL_JSON_NUMBERS_H_
#define PERSIST_JSON_INTERNAL_JSON_NUMBERS_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace persist {

enum class NumberParse {
  kOk,
  kSyntax,      // not a JSON number
  kOutOfRange,  // a number, but not in the target type's range
  kNotInteger,  // has a fractional part where an integer is needed
};

// True if `text` is a number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?
// ([eE][+-]?[0-9]+)?
bool IsJsonNumber(absl::string_view text);

// Integers accept plain digits and, like protobuf, integral values written
// with a fraction or exponent ("1e3", "2.0"), as long as the value is exact.
NumberParse ParseInt64(absl::string_view text, int64_t* value);
NumberParse ParseUint64(absl::string_view text, uint64_t* value);

// Any JSON number; finite results only (1e400 is kOutOfRange).
NumberParse ParseDouble(absl::string_view text, double* value);

// Writes to `buf` the shortest decimal that reads back to exactly `value`,
// which must be finite, and returns its length. Negative zero is "-0.0", so
// that readers which take "-0" for the integer 0 keep its sign.
inline constexpr size_t kShortestNumberBufferSize = 32;
size_t FormatDouble(double value, char (&buf)[kShortestNumberBufferSize]);
size_t FormatFloat(float value, char (&buf)[kShortestNumberBufferSize]);

}  // namespace persist

#endif  // PERSIST_JSON_INTERNAL_JSON_NUMBERS_H_
