// UTF-8 validation for the codec's writer (internal).
#ifndef PERSIST_BASE_UTF8_H_
#define PERSIST_BASE_UTF8_H_

#include "absl/strings/string_view.h"

namespace persist {

// True if `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no
// surrogates, nothing above U+10FFFF. Runs of ASCII are checked eight bytes
// at a time, which is what most text is made of.
bool IsValidUtf8(absl::string_view text);

}  // namespace persist

#endif  // PERSIST_BASE_UTF8_H_
