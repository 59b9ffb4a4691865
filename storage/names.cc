#include "storage/names.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace persist {
namespace {

bool IsMapNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// Length of the UTF-8 sequence starting at key[i] if it is valid and not a
// control character, else 0.
size_t AcceptedSequenceLength(absl::string_view key, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(key[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return (b0 < 0x20 || b0 == 0x7F) ? 0 : 1;
  size_t len;
  uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > key.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates, beyond U+10FFFF, and the C1 controls.
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF ||
      (cp >= 0x80 && cp <= 0x9F)) {
    return 0;
  }
  return len;
}

}  // namespace

absl::Status ValidateMapName(absl::string_view name) {
  if (name.size() > kMaxMapNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "map name \"", name.substr(0, kMaxMapNameLength), "\" has ",
        name.size(), " characters; a map name has at most ", kMaxMapNameLength,
        " characters of [A-Za-z0-9_.-]"));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsMapNameChar(name[i])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "map name \"%s\" has byte 0x%02X at position %d; a map name has "
          "at most %d characters of [A-Za-z0-9_.-] (':' separates map and key "
          "in the WAL)",
          absl::CHexEscape(name), static_cast<uint8_t>(name[i]), i,
          kMaxMapNameLength));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateKey(absl::string_view key) {
  if (key.empty()) {
    return absl::InvalidArgumentError(
        "key is empty; a key has 1 to 4096 bytes of UTF-8");
  }
  if (key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key of ", key.size(), " bytes (starting \"",
        absl::CHexEscape(key.substr(0, 32)), "\") is too long; a key has 1 to ",
        kMaxKeyBytes, " bytes"));
  }
  for (size_t i = 0; i < key.size();) {
    const size_t len = AcceptedSequenceLength(key, i);
    if (len == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "key \"%s\" has byte 0x%02X at position %d, which is invalid "
          "UTF-8 or a control character; keys are UTF-8 text without control "
          "characters (U+0000-U+001F, U+007F-U+009F)",
          absl::CHexEscape(key.substr(0, 256)), static_cast<uint8_t>(key[i]),
          i));
    }
    i += len;
  }
  return absl::OkStatus();
}

std::string QuotedKey(absl::string_view key) {
  constexpr size_t kShown = 200;
  return absl::StrCat("\"", absl::CHexEscape(key.substr(0, kShown)),
                      key.size() > kShown ? "...\"" : "\"");
}

}  // namespace persist
