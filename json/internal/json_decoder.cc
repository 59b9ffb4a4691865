#include "json/internal/json_decoder.h"

#include <cfloat>
#include <cmath>
#include <limits>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "json/internal/json_numbers.h"
#include "json/internal/json_time.h"

namespace persist {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsStructValue(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field->message_type()->well_known_type() ==
             Descriptor::WELLKNOWNTYPE_VALUE;
}

bool IsNullValueEnum(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
         field->enum_type()->full_name() == "google.protobuf.NullValue";
}

// google.protobuf.Value's null_value is field 1 of its "kind" oneof.
void SetStructValueNull(Message* value) {
  value->GetReflection()->SetEnumValue(
      value, value->GetDescriptor()->FindFieldByNumber(1), 0);
}

// Closed enums (proto2) only hold the numbers they declare.
bool IsClosedEnum(const EnumDescriptor* type) {
  return type->file()->syntax() !=
         google::protobuf::FileDescriptor::SYNTAX_PROTO3;
}

std::string Quoted(absl::string_view text) {
  constexpr size_t kMaxShown = 64;
  if (text.size() > kMaxShown) {
    return absl::StrCat("\"", absl::CEscape(text.substr(0, kMaxShown)),
                        "...\" (", text.size(), " bytes)");
  }
  return absl::StrCat("\"", absl::CEscape(text), "\"");
}

// Reads one map key, which JSON always writes as a string, of an integer type.
template <typename Int>
bool KeyToInt(absl::string_view text, Int* value) {
  if constexpr (std::is_signed_v<Int>) {
    int64_t v;
    if (ParseInt64(text, &v) != NumberParse::kOk ||
        v < std::numeric_limits<Int>::min() ||
        v > std::numeric_limits<Int>::max()) {
      return false;
    }
    *value = static_cast<Int>(v);
  } else {
    uint64_t v;
    if (ParseUint64(text, &v) != NumberParse::kOk ||
        v > std::numeric_limits<Int>::max()) {
      return false;
    }
    *value = static_cast<Int>(v);
  }
  return true;
}

// lowerCamelCase FieldMask path to the snake_case path it stands for.
std::string CamelToSnake(absl::string_view path) {
  std::string out;
  out.reserve(path.size() + 4);
  for (char c : path) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::Status JsonDecoder::Expected(absl::string_view what,
                                   const JsonToken& token,
                                   const JsonPath& path) const {
  std::string got(JsonTypeName(token.type));
  if (token.type == JsonType::kString || token.type == JsonType::kNumber) {
    absl::StrAppend(&got, " ", Quoted(token.text()));
  }
  return path.Error(absl::StrCat("expected ", what, ", got ", got));
}

absl::Status JsonDecoder::UnknownField(absl::string_view name,
                                       const Descriptor* type,
                                       const JsonPath& path) {
  if (state_.options().ignore_unknown_fields) {
    ++stats_.ignored_unknown_fields;
    return absl::OkStatus();
  }
  return path.Error(
      absl::StrCat("unknown field ", Quoted(name), " in ", type->full_name(),
                   " (check the field's name against the schema, or read with "
                   "ignore_unknown_fields to skip such fields)"));
}

absl::Status JsonDecoder::ReadMessage(uint32_t i, Message* message,
                                      const JsonPath& path) {
  if (message->GetDescriptor()->well_known_type() !=
      Descriptor::WELLKNOWNTYPE_UNSPECIFIED) {
    return ReadWellKnown(i, message, path);
  }
  if (tape_[i].type != JsonType::kObject) {
    return Expected(
        absl::StrCat("object for ", message->GetDescriptor()->full_name()),
        tape_[i], path);
  }
  return ReadMembers(i, message, path, {});
}

absl::Status JsonDecoder::ReadMembers(uint32_t object, Message* message,
                                      const JsonPath& path,
                                      absl::string_view skip_key) {
  const Descriptor* type = message->GetDescriptor();
  const FieldNameIndex::Table& names = *state_.field_names().TableFor(type);
  // Which fields and oneof members this object has set, to refuse a field
  // given twice (say as "fooBar" and "foo_bar") or two members of a oneof.
  absl::InlinedVector<bool, 32> seen(type->field_count(), false);
  absl::InlinedVector<const FieldDescriptor*, 4> oneof_set(
      type->oneof_decl_count(), nullptr);

  const uint32_t end = tape_[object].end;
  for (uint32_t key = object + 1; key < end;) {
    const uint32_t value = key + 1;
    const uint32_t next = tape_.Skip(value);
    const absl::string_view name = tape_[key].text();
    key = next;
    if (!skip_key.empty() && name == skip_key) continue;
    auto found = names.find(name);
    if (found == names.end()) {
      PERSIST_RETURN_IF_ERROR(UnknownField(name, type, path.Field(name)));
      continue;
    }
    const FieldDescriptor* field = found->second;
    const JsonPath field_path = path.Field(name);
    if (seen[field->index()]) {
      return field_path.Error(
          absl::StrCat("field ", field->name(), " is given more than once"));
    }
    seen[field->index()] = true;
    if (tape_[value].type == JsonType::kNull) {
      // null means "not set", except where null is itself a value.
      if (field->is_repeated() ||
          !(IsStructValue(field) || IsNullValueEnum(field))) {
        continue;
      }
    }
    if (const auto* oneof = field->real_containing_oneof()) {
      const FieldDescriptor*& other = oneof_set[oneof->index()];
      if (other != nullptr) {
        return field_path.Error(absl::StrCat(
            "oneof ", oneof->name(), " already has field ", other->json_name(),
            " set; give at most one of its fields"));
      }
      other = field;
    }
    PERSIST_RETURN_IF_ERROR(ReadField(value, message, field, field_path));
  }
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadNull(Message* message,
                                   const FieldDescriptor* field,
                                   const JsonPath& path) {
  const Reflection* r = message->GetReflection();
  if (IsStructValue(field)) {
    SetStructValueNull(field->is_repeated()
                           ? r->AddMessage(message, field)
                           : r->MutableMessage(message, field));
  } else if (IsNullValueEnum(field)) {
    if (field->is_repeated()) {
      r->AddEnumValue(message, field, 0);
    } else {
      r->SetEnumValue(message, field, 0);
    }
  } else {
    return path.Error(absl::StrCat(
        "null is not a valid ",
        field->is_map() ? "map value" : "element of a repeated field",
        " here; leave the element out instead"));
  }
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadField(uint32_t i, Message* message,
                                    const FieldDescriptor* field,
                                    const JsonPath& path) {
  if (field->is_map()) return ReadMap(i, message, field, path);
  if (!field->is_repeated()) {
    if (tape_[i].type == JsonType::kNull) return ReadNull(message, field, path);
    return ReadValue(i, message, field, path);
  }
  if (tape_[i].type != JsonType::kArray) {
    return Expected("array", tape_[i], path);
  }
  const uint32_t end = tape_[i].end;
  size_t index = 0;
  for (uint32_t e = i + 1; e < end; e = tape_.Skip(e), ++index) {
    const JsonPath element_path = path.Index(index);
    if (tape_[e].type == JsonType::kNull) {
      PERSIST_RETURN_IF_ERROR(ReadNull(message, field, element_path));
    } else {
      PERSIST_RETURN_IF_ERROR(ReadValue(e, message, field, element_path));
    }
  }
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadMap(uint32_t i, Message* message,
                                  const FieldDescriptor* field,
                                  const JsonPath& path) {
  if (tape_[i].type != JsonType::kObject) {
    return Expected("object", tape_[i], path);
  }
  const Reflection* r = message->GetReflection();
  const FieldDescriptor* key_field = field->message_type()->map_key();
  const FieldDescriptor* value_field = field->message_type()->map_value();
  const uint32_t end = tape_[i].end;
  // Keys seen so far: a map holds each key once, and a file that says
  // otherwise is ambiguous (protobuf refuses it too).
  absl::flat_hash_set<absl::string_view> keys;
  for (uint32_t key = i + 1; key < end;) {
    const uint32_t value = key + 1;
    const JsonPath entry_path = path.MapKey(tape_[key].text());
    if (!keys.insert(tape_[key].text()).second) {
      return entry_path.Error("map key is given more than once");
    }
    Message* entry = r->AddMessage(message, field);
    PERSIST_RETURN_IF_ERROR(
        ReadMapKey(tape_[key], entry, key_field, entry_path));
    bool skipped = false;
    if (tape_[value].type == JsonType::kNull) {
      if (!IsStructValue(value_field) && !IsNullValueEnum(value_field)) {
        return entry_path.Error(
            "null is not a valid map value here; leave the entry out "
            "instead");
      }
      PERSIST_RETURN_IF_ERROR(ReadNull(entry, value_field, entry_path));
    } else {
      PERSIST_RETURN_IF_ERROR(
          ReadValue(value, entry, value_field, entry_path, &skipped));
    }
    if (skipped) r->RemoveLast(message, field);
    key = tape_.Skip(value);
  }
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadMapKey(const JsonToken& key, Message* entry,
                                     const FieldDescriptor* key_field,
                                     const JsonPath& path) {
  const Reflection* r = entry->GetReflection();
  const absl::string_view text = key.text();
  bool ok = true;
  switch (key_field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(entry, key_field, std::string(text));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      ok = text == "true" || text == "false";
      if (ok) r->SetBool(entry, key_field, text == "true");
      break;
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if ((ok = KeyToInt(text, &v))) r->SetInt32(entry, key_field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if ((ok = KeyToInt(text, &v))) r->SetInt64(entry, key_field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if ((ok = KeyToInt(text, &v))) r->SetUInt32(entry, key_field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if ((ok = KeyToInt(text, &v))) r->SetUInt64(entry, key_field, v);
      break;
    }
    default:
      ok = false;
  }
  if (!ok) {
    return path.Error(absl::StrCat("map key ", Quoted(text), " is not a valid ",
                                   key_field->type_name()));
  }
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadValue(uint32_t i, Message* message,
                                    const FieldDescriptor* field,
                                    const JsonPath& path, bool* skipped) {
  const JsonToken& t = tape_[i];
  const Reflection* r = message->GetReflection();
  const bool rep = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int64_t v;
      PERSIST_RETURN_IF_ERROR(
          ReadSigned(t, field, INT32_MIN, INT32_MAX, path, &v));
      rep ? r->AddInt32(message, field, static_cast<int32_t>(v))
          : r->SetInt32(message, field, static_cast<int32_t>(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      PERSIST_RETURN_IF_ERROR(
          ReadSigned(t, field, INT64_MIN, INT64_MAX, path, &v));
      rep ? r->AddInt64(message, field, v) : r->SetInt64(message, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint64_t v;
      PERSIST_RETURN_IF_ERROR(ReadUnsigned(t, field, UINT32_MAX, path, &v));
      rep ? r->AddUInt32(message, field, static_cast<uint32_t>(v))
          : r->SetUInt32(message, field, static_cast<uint32_t>(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      PERSIST_RETURN_IF_ERROR(ReadUnsigned(t, field, UINT64_MAX, path, &v));
      rep ? r->AddUInt64(message, field, v) : r->SetUInt64(message, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      PERSIST_RETURN_IF_ERROR(ReadDouble(t, path, &v));
      rep ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      PERSIST_RETURN_IF_ERROR(ReadFloat(t, path, &v));
      rep ? r->AddFloat(message, field, v) : r->SetFloat(message, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (t.type != JsonType::kTrue && t.type != JsonType::kFalse) {
        return Expected("true or false", t, path);
      }
      const bool v = t.type == JsonType::kTrue;
      rep ? r->AddBool(message, field, v) : r->SetBool(message, field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number;
      bool known;
      PERSIST_RETURN_IF_ERROR(ReadEnum(t, field, path, &number, &known));
      if (!known) {
        if (skipped != nullptr) *skipped = true;
        break;
      }
      rep ? r->AddEnumValue(message, field, number)
          : r->SetEnumValue(message, field, number);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      if (t.type != JsonType::kString) return Expected("string", t, path);
      std::string v;
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        // Standard or URL-safe alphabet, padded or not.
        const bool web_safe =
            t.text().find_first_of("-_") != absl::string_view::npos;
        const bool ok = web_safe ? absl::WebSafeBase64Unescape(t.text(), &v)
                                 : absl::Base64Unescape(t.text(), &v);
        if (!ok) return Expected("base64", t, path);
      } else {
        v.assign(t.data, t.size);  // the parser has checked it is UTF-8
      }
      rep ? r->AddString(message, field, std::move(v))
          : r->SetString(message, field, std::move(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return ReadMessage(i,
                         rep ? r->AddMessage(message, field)
                             : r->MutableMessage(message, field),
                         path);
  }
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadSigned(const JsonToken& token,
                                     const FieldDescriptor* field, int64_t min,
                                     int64_t max, const JsonPath& path,
                                     int64_t* value) {
  if (token.type != JsonType::kNumber && token.type != JsonType::kString) {
    return Expected(field->type_name(), token, path);
  }
  switch (ParseInt64(token.text(), value)) {
    case NumberParse::kOk:
      if (*value >= min && *value <= max) return absl::OkStatus();
      [[fallthrough]];
    case NumberParse::kOutOfRange:
      return path.Error(absl::StrCat(
          Quoted(token.text()), " is out of range for ", field->type_name()));
    case NumberParse::kNotInteger:
      return path.Error(absl::StrCat(Quoted(token.text()),
                                     " is not an integer (", field->type_name(),
                                     ")"));
    case NumberParse::kSyntax:
      break;
  }
  return Expected(field->type_name(), token, path);
}

absl::Status JsonDecoder::ReadUnsigned(const JsonToken& token,
                                       const FieldDescriptor* field,
                                       uint64_t max, const JsonPath& path,
                                       uint64_t* value) {
  if (token.type != JsonType::kNumber && token.type != JsonType::kString) {
    return Expected(field->type_name(), token, path);
  }
  switch (ParseUint64(token.text(), value)) {
    case NumberParse::kOk:
      if (*value <= max) return absl::OkStatus();
      [[fallthrough]];
    case NumberParse::kOutOfRange:
      return path.Error(absl::StrCat(
          Quoted(token.text()), " is out of range for ", field->type_name()));
    case NumberParse::kNotInteger:
      return path.Error(absl::StrCat(Quoted(token.text()),
                                     " is not an integer (", field->type_name(),
                                     ")"));
    case NumberParse::kSyntax:
      break;
  }
  return Expected(field->type_name(), token, path);
}

absl::Status JsonDecoder::ReadDouble(const JsonToken& token,
                                     const JsonPath& path, double* value) {
  if (token.type == JsonType::kString) {
    const absl::string_view text = token.text();
    if (text == "NaN") {
      *value = std::numeric_limits<double>::quiet_NaN();
      return absl::OkStatus();
    }
    if (text == "Infinity" || text == "-Infinity") {
      *value = text[0] == '-' ? -std::numeric_limits<double>::infinity()
                              : std::numeric_limits<double>::infinity();
      return absl::OkStatus();
    }
  } else if (token.type != JsonType::kNumber) {
    return Expected("number", token, path);
  }
  switch (ParseDouble(token.text(), value)) {
    case NumberParse::kOk:
      return absl::OkStatus();
    case NumberParse::kOutOfRange:
      return path.Error(absl::StrCat(
          Quoted(token.text()),
          " is out of range for a double (write \"Infinity\" for infinity)"));
    default:
      return Expected("number, \"NaN\", \"Infinity\" or \"-Infinity\"", token,
                      path);
  }
}

absl::Status JsonDecoder::ReadFloat(const JsonToken& token,
                                    const JsonPath& path, float* value) {
  double d;
  PERSIST_RETURN_IF_ERROR(ReadDouble(token, path, &d));
  // Values just above FLT_MAX that round to it (such as 3.4028235e38, the
  // shortest form of FLT_MAX) are FLT_MAX; anything beyond is out of range.
  // Converting an out-of-range double to float is undefined, so never do.
  constexpr double kRoundsToMax = 0x1.ffffffp+127;
  if (std::isfinite(d) && std::fabs(d) > FLT_MAX) {
    if (std::fabs(d) >= kRoundsToMax) {
      return path.Error(
          absl::StrCat(Quoted(token.text()), " is out of range for a float"));
    }
    d = d > 0 ? FLT_MAX : -FLT_MAX;
  }
  *value = static_cast<float>(d);
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadEnum(const JsonToken& token,
                                   const FieldDescriptor* field,
                                   const JsonPath& path, int* number,
                                   bool* known) {
  const EnumDescriptor* type = field->enum_type();
  *known = true;
  if (token.type == JsonType::kString) {
    const auto* value = type->FindValueByName(std::string(token.text()));
    if (value != nullptr) {
      *number = value->number();
      return absl::OkStatus();
    }
    if (state_.options().ignore_unknown_fields) {
      ++stats_.ignored_unknown_fields;
      *known = false;
      return absl::OkStatus();
    }
    std::string names;
    for (int i = 0; i < type->value_count() && i < 20; ++i) {
      absl::StrAppend(&names, i == 0 ? "" : ", ", type->value(i)->name());
    }
    return path.Error(absl::StrCat("unknown value ", Quoted(token.text()),
                                   " for enum ", type->full_name(),
                                   " (known values: ", names, ")"));
  }
  if (token.type != JsonType::kNumber) {
    return Expected(absl::StrCat("name or number of enum ", type->full_name()),
                    token, path);
  }
  int64_t v;
  if (ParseInt64(token.text(), &v) != NumberParse::kOk || v < INT32_MIN ||
      v > INT32_MAX ||
      (IsClosedEnum(type) &&
       type->FindValueByNumber(static_cast<int>(v)) == nullptr)) {
    return path.Error(absl::StrCat(
        Quoted(token.text()), " is not a number of enum ", type->full_name()));
  }
  *number = static_cast<int>(v);
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadWellKnown(uint32_t i, Message* message,
                                        const JsonPath& path) {
  const Descriptor* type = message->GetDescriptor();
  const JsonToken& t = tape_[i];
  switch (type->well_known_type()) {
    case Descriptor::WELLKNOWNTYPE_ANY:
      return ReadAny(i, message, path);
    case Descriptor::WELLKNOWNTYPE_STRUCT:
      return ReadStruct(i, message, path);
    case Descriptor::WELLKNOWNTYPE_VALUE:
      return ReadStructValue(i, message, path);
    case Descriptor::WELLKNOWNTYPE_LISTVALUE:
      return ReadListValue(i, message, path);
    case Descriptor::WELLKNOWNTYPE_FIELDMASK:
      return ReadFieldMask(t, message, path);
    case Descriptor::WELLKNOWNTYPE_TIMESTAMP:
    case Descriptor::WELLKNOWNTYPE_DURATION: {
      const bool is_timestamp =
          type->well_known_type() == Descriptor::WELLKNOWNTYPE_TIMESTAMP;
      if (t.type != JsonType::kString) {
        return Expected(is_timestamp ? "RFC 3339 timestamp string"
                                     : "duration string such as \"1.5s\"",
                        t, path);
      }
      int64_t seconds;
      int32_t nanos;
      absl::Status status = is_timestamp
                                ? ParseTimestamp(t.text(), &seconds, &nanos)
                                : ParseDuration(t.text(), &seconds, &nanos);
      if (!status.ok() && !is_timestamp && state_.options().read_go_durations) {
        status = ParseGoDuration(t.text(), &seconds, &nanos);
      }
      if (!status.ok()) return path.Error(status.message());
      const Reflection* r = message->GetReflection();
      r->SetInt64(message, type->FindFieldByNumber(1), seconds);
      r->SetInt32(message, type->FindFieldByNumber(2), nanos);
      return absl::OkStatus();
    }
    case Descriptor::WELLKNOWNTYPE_UNSPECIFIED:
      break;
    default:
      // The wrappers: the JSON form of their single field "value".
      if (t.type == JsonType::kNull) return absl::OkStatus();
      return ReadValue(i, message, type->FindFieldByNumber(1), path);
  }
  return path.Error("internal error: not a well-known type");
}

absl::Status JsonDecoder::ReadAny(uint32_t i, Message* message,
                                  const JsonPath& path) {
  const JsonToken& t = tape_[i];
  if (t.type != JsonType::kObject) {
    return Expected("object for google.protobuf.Any", t, path);
  }
  if (t.end == i + 1) return absl::OkStatus();  // {}: an empty Any
  // "@type" may come anywhere in the object; find it first.
  const JsonToken* type_url = nullptr;
  for (uint32_t key = i + 1; key < t.end; key = tape_.Skip(key + 1)) {
    if (tape_[key].text() == "@type") type_url = &tape_[key + 1];
  }
  if (type_url == nullptr) {
    return path.Error(
        "google.protobuf.Any needs \"@type\" naming the packed message type, "
        "such as \"type.googleapis.com/example.v1.User\"");
  }
  if (type_url->type != JsonType::kString) {
    return Expected("type URL string for \"@type\"", *type_url, path);
  }
  auto inner = state_.NewMessageForAny(type_url->text(), any_pool_);
  if (!inner.ok()) return path.Error(inner.status().message());
  if ((*inner)->GetDescriptor()->well_known_type() ==
      Descriptor::WELLKNOWNTYPE_UNSPECIFIED) {
    PERSIST_RETURN_IF_ERROR(ReadMembers(i, inner->get(), path, "@type"));
  } else {
    // A well-known type inside Any is {"@type": ..., "value": <its JSON>}.
    for (uint32_t key = i + 1; key < t.end; key = tape_.Skip(key + 1)) {
      const absl::string_view name = tape_[key].text();
      if (name == "value") {
        PERSIST_RETURN_IF_ERROR(
            ReadMessage(key + 1, inner->get(), path.Field("value")));
      } else if (name != "@type") {
        PERSIST_RETURN_IF_ERROR(
            UnknownField(name, (*inner)->GetDescriptor(), path.Field(name)));
      }
    }
  }
  std::string bytes;
  if (!(*inner)->SerializeToString(&bytes)) {
    return path.Error(
        absl::StrCat("the value packed in google.protobuf.Any "
                     "lacks required fields: ",
                     (*inner)->InitializationErrorString()));
  }
  const Reflection* r = message->GetReflection();
  const Descriptor* type = message->GetDescriptor();
  r->SetString(message, type->FindFieldByNumber(1),
               std::string(type_url->text()));
  r->SetString(message, type->FindFieldByNumber(2), std::move(bytes));
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadStruct(uint32_t i, Message* message,
                                     const JsonPath& path) {
  if (tape_[i].type != JsonType::kObject) {
    return Expected("object for google.protobuf.Struct", tape_[i], path);
  }
  // Struct's only field is map<string, Value> fields = 1.
  return ReadMap(i, message, message->GetDescriptor()->FindFieldByNumber(1),
                 path);
}

absl::Status JsonDecoder::ReadStructValue(uint32_t i, Message* message,
                                          const JsonPath& path) {
  // Value's kind: null_value = 1, number_value = 2, string_value = 3,
  // bool_value = 4, struct_value = 5, list_value = 6.
  const Descriptor* type = message->GetDescriptor();
  const Reflection* r = message->GetReflection();
  const JsonToken& t = tape_[i];
  switch (t.type) {
    case JsonType::kNull:
      SetStructValueNull(message);
      return absl::OkStatus();
    case JsonType::kFalse:
    case JsonType::kTrue:
      r->SetBool(message, type->FindFieldByNumber(4),
                 t.type == JsonType::kTrue);
      return absl::OkStatus();
    case JsonType::kNumber: {
      double v;
      PERSIST_RETURN_IF_ERROR(ReadDouble(t, path, &v));
      r->SetDouble(message, type->FindFieldByNumber(2), v);
      return absl::OkStatus();
    }
    case JsonType::kString:
      r->SetString(message, type->FindFieldByNumber(3), std::string(t.text()));
      return absl::OkStatus();
    case JsonType::kObject:
      return ReadStruct(
          i, r->MutableMessage(message, type->FindFieldByNumber(5)), path);
    case JsonType::kArray:
      return ReadListValue(
          i, r->MutableMessage(message, type->FindFieldByNumber(6)), path);
  }
  return absl::OkStatus();
}

absl::Status JsonDecoder::ReadListValue(uint32_t i, Message* message,
                                        const JsonPath& path) {
  if (tape_[i].type != JsonType::kArray) {
    return Expected("array for google.protobuf.ListValue", tape_[i], path);
  }
  // ListValue's only field is repeated Value values = 1.
  return ReadField(i, message, message->GetDescriptor()->FindFieldByNumber(1),
                   path);
}

absl::Status JsonDecoder::ReadFieldMask(const JsonToken& token,
                                        Message* message,
                                        const JsonPath& path) {
  if (token.type != JsonType::kString) {
    return Expected("comma-separated FieldMask paths", token, path);
  }
  if (token.size == 0) return absl::OkStatus();
  const FieldDescriptor* paths = message->GetDescriptor()->FindFieldByNumber(1);
  for (absl::string_view p : absl::StrSplit(token.text(), ',')) {
    // JSON paths are lowerCamelCase: an '_' could not be written back.
    if (p.find('_') != absl::string_view::npos) {
      return path.Error(absl::StrCat(
          "FieldMask path \"", p,
          "\" is not lowerCamelCase (JSON paths have no '_'; write "
          "\"fooBar\" for the field foo_bar)"));
    }
    message->GetReflection()->AddString(message, paths, CamelToSnake(p));
  }
  return absl::OkStatus();
}

}  // namespace persist
