// The body of a JSON string: escapes for the writer (internal to the codec).
#ifndef PERSIST_BASE_JSON_ESCAPE_H_
#define PERSIST_BASE_JSON_ESCAPE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace persist {

// The most bytes EscapeJsonString can write for `size` input bytes: every
// byte a six-character \u00XX escape, plus the quotes.
constexpr size_t MaxEscapedJsonStringSize(size_t size) { return size * 6 + 2; }

// Writes `text` as a quoted JSON string to `out`, which must have room for
// MaxEscapedJsonStringSize(text.size()) bytes, and returns the bytes written.
// Escapes '"', '\\' and control characters below U+0020 as RapidJSON does
// (\b \f \n \r \t, else \u00XX); other bytes, UTF-8 included, are copied,
// eight at a time where none needs escaping. `text` must be valid UTF-8.
size_t EscapeJsonString(absl::string_view text, char* out);

// `text` as a quoted JSON string, for logs and tool output: never fails.
// Text that is not valid UTF-8 is shown C-hex-escaped (\xff) instead.
std::string QuoteJsonString(absl::string_view text);

}  // namespace persist

#endif  // PERSIST_BASE_JSON_ESCAPE_H_
