// JsonTape: one JSON text parsed into a flat array of tokens (internal to the
// codec).
//
// RapidJSON parses the text in situ (strings are unescaped inside a private
// copy of the input, so tokens point into it without further copies) and
// with numbers kept as their original text, so that 64-bit integers, -0 and
// the shortest float forms are converted exactly by us rather than rounded
// by the parser. Every string and key is checked to be UTF-8 after
// unescaping. Containers record where they end, so a reader can look
// ahead (an Any's "@type") or skip a value it does not want in O(1).
//
// Layout: a scalar is one token. An object is a kObject token followed, for
// each member, by a kString token (the key) and the member's value; an array
// is a kArray token followed by its elements. `end` of a container is the
// index just past its last token.
#ifndef PERSIST_JSON_INTERNAL_JSON_TAPE_H_
#define PERSIST_JSON_INTERNAL_JSON_TAPE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace persist {

enum class JsonType : uint8_t {
  kNull,
  kFalse,
  kTrue,
  kNumber,
  kString,
  kObject,
  kArray,
};

// "null", "number", "object", ...: for error messages.
absl::string_view JsonTypeName(JsonType type);

struct JsonToken {
  JsonType type;
  // Strings and numbers: their text (strings unescaped). Not null-terminated
  // for numbers.
  const char* data;
  uint32_t size;
  // Containers: index of the first token after the container.
  uint32_t end;

  absl::string_view text() const { return absl::string_view(data, size); }
  bool is_container() const {
    return type == JsonType::kObject || type == JsonType::kArray;
  }
};

class JsonTape {
 public:
  JsonTape() = default;
  JsonTape(const JsonTape&) = delete;
  JsonTape& operator=(const JsonTape&) = delete;

  // Parses `json`, which must be exactly one JSON value of valid UTF-8 with
  // objects and arrays nested at most `max_depth` deep. Replaces any earlier
  // contents; the tape owns a copy of the text.
  absl::Status Parse(absl::string_view json, int max_depth);

  const JsonToken& operator[](uint32_t i) const { return tokens_[i]; }
  uint32_t size() const { return static_cast<uint32_t>(tokens_.size()); }

  // Frees the tape's memory if it holds more than `bytes`, so that one huge
  // text does not pin its buffers for the life of a thread.
  void ReleaseIfLarger(size_t bytes);

  // Index of the token after the value that starts at `i`.
  uint32_t Skip(uint32_t i) const {
    return tokens_[i].is_container() ? tokens_[i].end : i + 1;
  }

 private:
  friend class JsonTapeBuilder;
  std::string text_;  // the in-situ parsed copy that tokens point into
  std::vector<JsonToken> tokens_;
};

}  // namespace persist

#endif  // PERSIST_JSON_INTERNAL_JSON_TAPE_H_
