#include "json/internal/json_tape.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/utf8.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"

namespace persist {

absl::string_view JsonTypeName(JsonType type) {
  switch (type) {
    case JsonType::kNull:
      return "null";
    case JsonType::kFalse:
    case JsonType::kTrue:
      return "boolean";
    case JsonType::kNumber:
      return "number";
    case JsonType::kString:
      return "string";
    case JsonType::kObject:
      return "object";
    case JsonType::kArray:
      return "array";
  }
  return "unknown";
}

// The SAX handler that appends tokens. Returning false stops the parse; the
// builder remembers why, so that the error names the depth limit rather than
// RapidJSON's generic "terminated by handler".
class JsonTapeBuilder
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonTapeBuilder> {
 public:
  JsonTapeBuilder(std::vector<JsonToken>* tokens, int max_depth)
      : tokens_(tokens), max_depth_(max_depth) {}

  bool too_deep() const { return too_deep_; }
  bool bad_utf8() const { return bad_utf8_; }

  bool Null() { return Scalar(JsonType::kNull, nullptr, 0); }
  bool Bool(bool b) {
    return Scalar(b ? JsonType::kTrue : JsonType::kFalse, nullptr, 0);
  }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    return Scalar(JsonType::kNumber, str, length);
  }
  bool String(const char* str, rapidjson::SizeType length, bool) {
    return Text(str, length);
  }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    return Text(str, length);
  }
  bool StartObject() { return Open(JsonType::kObject); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(JsonType::kArray); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

  // Never called: the reader runs with kParseNumbersAsStringsFlag.
  bool Default() { return false; }

 private:
  bool Scalar(JsonType type, const char* data, uint32_t size) {
    tokens_->push_back(JsonToken{type, data, size, 0});
    return true;
  }
  // Strings are checked after unescaping, which covers both raw bytes and
  // what escapes produce: RapidJSON 1.1.0 turns a lone "\udc00" into an
  // encoded surrogate, which is not UTF-8.
  bool Text(const char* str, uint32_t length) {
    if (!IsValidUtf8(absl::string_view(str, length))) {
      bad_utf8_ = true;
      return false;
    }
    return Scalar(JsonType::kString, str, length);
  }
  bool Open(JsonType type) {
    if (static_cast<int>(open_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    open_.push_back(static_cast<uint32_t>(tokens_->size()));
    tokens_->push_back(JsonToken{type, nullptr, 0, 0});
    return true;
  }
  bool Close() {
    (*tokens_)[open_.back()].end = static_cast<uint32_t>(tokens_->size());
    open_.pop_back();
    return true;
  }

  std::vector<JsonToken>* tokens_;
  std::vector<uint32_t> open_;  // indices of the containers being filled
  const int max_depth_;
  bool too_deep_ = false;
  bool bad_utf8_ = false;
};

absl::Status JsonTape::Parse(absl::string_view json, int max_depth) {
  tokens_.clear();
  text_.assign(json.data(), json.size());
  if (json.size() > UINT32_MAX / 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JSON text of ", json.size(), " bytes is larger than 2 GiB"));
  }
  // In-situ parsing ends at the first NUL byte, which JSON never allows
  // unescaped; without this check "{}\0garbage" would pass.
  if (size_t nul = json.find('\0'); nul != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid JSON at byte ", nul, ": unescaped NUL character"));
  }
  constexpr unsigned kFlags =
      rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;
  JsonTapeBuilder builder(&tokens_, max_depth);
  rapidjson::InsituStringStream stream(text_.data());
  rapidjson::Reader reader;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (builder.too_deep()) {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON nests objects and arrays more than ", max_depth,
                     " levels deep (at byte ", result.Offset(), ")"));
  }
  if (builder.bad_utf8()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid JSON at byte ", result.Offset(),
        ": a string is not valid UTF-8 (or escapes a lone surrogate)"));
  }
  if (result.IsError()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid JSON at byte ", result.Offset(), ": ",
        // Without RapidJSON's final period: callers go on.
        absl::StripSuffix(rapidjson::GetParseError_En(result.Code()), ".")));
  }
  return absl::OkStatus();
}

void JsonTape::ReleaseIfLarger(size_t bytes) {
  if (text_.capacity() + tokens_.capacity() * sizeof(JsonToken) > bytes) {
    std::string().swap(text_);
    std::vector<JsonToken>().swap(tokens_);
  }
}

}  // namespace persist
