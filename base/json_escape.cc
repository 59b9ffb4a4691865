#include "base/json_escape.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/escaping.h"
#include "base/utf8.h"

namespace persist {
namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// Nonzero if any byte of `v` is zero (exact: no false negatives).
constexpr uint64_t HasZeroByte(uint64_t v) { return (v - kOnes) & ~v & kHighs; }

// True if any of the eight bytes needs escaping: below 0x20, '"' or '\\'.
bool NeedsEscape(uint64_t v) {
  const uint64_t below_space = (v - kOnes * 0x20) & ~v & kHighs;
  return (below_space | HasZeroByte(v ^ (kOnes * '"')) |
          HasZeroByte(v ^ (kOnes * '\\'))) != 0;
}

char* EscapeByte(unsigned char c, char* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  switch (c) {
    case '"':
      *out++ = '\\';
      *out++ = '"';
      return out;
    case '\\':
      *out++ = '\\';
      *out++ = '\\';
      return out;
    case '\b':
      *out++ = '\\';
      *out++ = 'b';
      return out;
    case '\f':
      *out++ = '\\';
      *out++ = 'f';
      return out;
    case '\n':
      *out++ = '\\';
      *out++ = 'n';
      return out;
    case '\r':
      *out++ = '\\';
      *out++ = 'r';
      return out;
    case '\t':
      *out++ = '\\';
      *out++ = 't';
      return out;
    default:
      if (c < 0x20) {
        out[0] = '\\';
        out[1] = 'u';
        out[2] = '0';
        out[3] = '0';
        out[4] = kHex[c >> 4];
        out[5] = kHex[c & 0xF];
        return out + 6;
      }
      *out++ = static_cast<char>(c);
      return out;
  }
}

}  // namespace

size_t EscapeJsonString(absl::string_view text, char* out) {
  char* const start = out;
  const char* p = text.data();
  const char* const end = p + text.size();
  *out++ = '"';
  while (p < end) {
    if (end - p >= 8) {
      uint64_t chunk;
      std::memcpy(&chunk, p, sizeof(chunk));
      if (!NeedsEscape(chunk)) {
        std::memcpy(out, p, sizeof(chunk));
        out += 8;
        p += 8;
        continue;
      }
    }
    out = EscapeByte(static_cast<unsigned char>(*p++), out);
  }
  *out++ = '"';
  return static_cast<size_t>(out - start);
}

std::string QuoteJsonString(absl::string_view text) {
  const bool valid = IsValidUtf8(text);
  const std::string hex = valid ? std::string() : absl::CHexEscape(text);
  const absl::string_view shown = valid ? text : hex;
  std::string out(MaxEscapedJsonStringSize(shown.size()), '\0');
  out.resize(EscapeJsonString(shown, out.data()));
  return out;
}

}  // namespace persist
