#include "json/internal/json_encoder.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/json_escape.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "google/protobuf/unknown_field_set.h"
#include "json/internal/json_numbers.h"
#include "json/internal/json_time.h"

namespace persist {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::Status TooDeep(const JsonPath& path, int max_depth) {
  return path.Error(absl::StrCat("message nests more than ", max_depth,
                                 " levels deep and cannot be written"));
}

bool IsNullValueEnum(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
         field->enum_type()->full_name() == "google.protobuf.NullValue";
}

// snake_case to lowerCamelCase for FieldMask paths; false if the path would
// not read back the same (upper case letters, or "_" not before a lower case
// letter), as protobuf also refuses.
bool FieldMaskPathToCamel(absl::string_view path, std::string* out) {
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c >= 'A' && c <= 'Z') return false;
    if (c == '_') {
      if (i + 1 >= path.size() || path[i + 1] < 'a' || path[i + 1] > 'z') {
        return false;
      }
      out->push_back(static_cast<char>(path[++i] - 'a' + 'A'));
    } else {
      out->push_back(c);
    }
  }
  return true;
}

// A map entry with its key as JSON writes it and as it sorts.
struct MapEntryKey {
  const Message* entry;
  std::string text;
  // Integer and bool keys sort by value, string keys by their bytes.
  bool is_signed = false;
  int64_t signed_value = 0;
  uint64_t unsigned_value = 0;

  bool operator<(const MapEntryKey& other) const {
    if (is_signed) return signed_value < other.signed_value;
    if (unsigned_value != other.unsigned_value) {
      return unsigned_value < other.unsigned_value;
    }
    return text < other.text;
  }
};

MapEntryKey ReadMapEntryKey(const Message& entry, const FieldDescriptor* key) {
  const Reflection* r = entry.GetReflection();
  MapEntryKey out{&entry, {}};
  switch (key->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      out.unsigned_value = r->GetBool(entry, key) ? 1 : 0;
      out.text = out.unsigned_value ? "true" : "false";
      break;
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
      out.is_signed = true;
      out.signed_value = key->cpp_type() == FieldDescriptor::CPPTYPE_INT32
                             ? r->GetInt32(entry, key)
                             : r->GetInt64(entry, key);
      out.text = absl::StrCat(out.signed_value);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      out.unsigned_value = key->cpp_type() == FieldDescriptor::CPPTYPE_UINT32
                               ? r->GetUInt32(entry, key)
                               : r->GetUInt64(entry, key);
      out.text = absl::StrCat(out.unsigned_value);
      break;
    default:  // string: the only other key type protobuf allows
      out.text = r->GetString(entry, key);
  }
  return out;
}

}  // namespace

JsonEncoder::JsonEncoder(const JsonCodecState& state,
                         const google::protobuf::DescriptorPool* any_pool,
                         rapidjson::StringBuffer* out)
    : state_(state), any_pool_(any_pool), out_(*out), w_(*out) {}

absl::Status JsonEncoder::CheckUnknownFields(const Message& message,
                                             const JsonPath& path) {
  const google::protobuf::UnknownFieldSet& unknown =
      message.GetReflection()->GetUnknownFields(message);
  if (unknown.empty()) return absl::OkStatus();
  if (state_.options().ignore_unknown_fields) {
    ignored_unknown_fields_ += unknown.field_count();
    return absl::OkStatus();
  }
  return path.Error(absl::StrCat(
      "holds field number ", unknown.field(0).number(), ", which ",
      message.GetDescriptor()->full_name(),
      " does not have (or has with another wire type); JSON cannot keep "
      "fields of unknown types"));
}

absl::Status JsonEncoder::WriteMessage(const Message& message,
                                       const JsonPath& path, int depth) {
  if (depth > state_.options().max_depth) {
    return TooDeep(path, state_.options().max_depth);
  }
  PERSIST_RETURN_IF_ERROR(CheckUnknownFields(message, path));
  if (message.GetDescriptor()->well_known_type() !=
      Descriptor::WELLKNOWNTYPE_UNSPECIFIED) {
    return WriteWellKnown(message, path, depth);
  }
  w_.StartObject();
  PERSIST_RETURN_IF_ERROR(WriteMembers(message, path, depth));
  w_.EndObject();
  return absl::OkStatus();
}

absl::Status JsonEncoder::WriteMembers(const Message& message,
                                       const JsonPath& path, int depth) {
  // ListFields yields exactly what proto3 JSON writes: fields with presence
  // that are set, other fields that differ from their default (by bits, so
  // -0.0 is kept), non-empty repeated fields. Sorted by number.
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    // Extensions have no place in proto3 JSON's field names; protobuf's
    // writer skips them too.
    if (field->is_extension()) continue;
    const std::string& name = field->json_name();
    w_.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    PERSIST_RETURN_IF_ERROR(
        WriteField(message, field, path.Field(name), depth));
  }
  return absl::OkStatus();
}

absl::Status JsonEncoder::WriteField(const Message& message,
                                     const FieldDescriptor* field,
                                     const JsonPath& path, int depth) {
  if (field->is_map()) return WriteMap(message, field, path, depth);
  if (!field->is_repeated()) return WriteValue(message, field, -1, path, depth);
  w_.StartArray();
  const int size = message.GetReflection()->FieldSize(message, field);
  for (int i = 0; i < size; ++i) {
    PERSIST_RETURN_IF_ERROR(
        WriteValue(message, field, i, path.Index(i), depth));
  }
  w_.EndArray();
  return absl::OkStatus();
}

absl::Status JsonEncoder::WriteMap(const Message& message,
                                   const FieldDescriptor* field,
                                   const JsonPath& path, int depth) {
  // Entries are written sorted by key (numerically for integer keys), as Go
  // writes maps: protobuf's own iteration order changes from one copy of a
  // message to the next, and the same value should always be the same line.
  const Reflection* reflection = message.GetReflection();
  const FieldDescriptor* key_field = field->message_type()->map_key();
  const FieldDescriptor* value_field = field->message_type()->map_value();
  const int size = reflection->FieldSize(message, field);
  std::vector<MapEntryKey> entries;
  entries.reserve(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i) {
    entries.push_back(ReadMapEntryKey(
        reflection->GetRepeatedMessage(message, field, i), key_field));
  }
  std::sort(entries.begin(), entries.end());
  w_.StartObject();
  for (const MapEntryKey& entry : entries) {
    if (!IsValidUtf8(entry.text))
      return path.Error("map key is not valid UTF-8");
    w_.Key(entry.text.data(),
           static_cast<rapidjson::SizeType>(entry.text.size()));
    PERSIST_RETURN_IF_ERROR(WriteValue(*entry.entry, value_field, -1,
                                       path.MapKey(entry.text), depth));
  }
  w_.EndObject();
  return absl::OkStatus();
}

absl::Status JsonEncoder::WriteValue(const Message& message,
                                     const FieldDescriptor* field, int index,
                                     const JsonPath& path, int depth) {
  const Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      w_.Int(rep ? r->GetRepeatedInt32(message, field, index)
                 : r->GetInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      w_.Int64(rep ? r->GetRepeatedInt64(message, field, index)
                   : r->GetInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      w_.Uint(rep ? r->GetRepeatedUInt32(message, field, index)
                  : r->GetUInt32(message, field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      w_.Uint64(rep ? r->GetRepeatedUInt64(message, field, index)
                    : r->GetUInt64(message, field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      WriteDouble(rep ? r->GetRepeatedDouble(message, field, index)
                      : r->GetDouble(message, field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      WriteFloat(rep ? r->GetRepeatedFloat(message, field, index)
                     : r->GetFloat(message, field));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      w_.Bool(rep ? r->GetRepeatedBool(message, field, index)
                  : r->GetBool(message, field));
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = rep ? r->GetRepeatedEnumValue(message, field, index)
                             : r->GetEnumValue(message, field);
      if (IsNullValueEnum(field)) {
        w_.Null();
        break;
      }
      const auto* value = field->enum_type()->FindValueByNumber(number);
      if (value == nullptr) {
        w_.Int(number);  // an open enum's value without a name
      } else {
        PERSIST_RETURN_IF_ERROR(WriteString(value->name(), path));
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& value =
          rep ? r->GetRepeatedStringReference(message, field, index, &scratch)
              : r->GetStringReference(message, field, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        const std::string encoded = absl::Base64Escape(value);
        w_.String(encoded.data(),
                  static_cast<rapidjson::SizeType>(encoded.size()));
      } else {
        PERSIST_RETURN_IF_ERROR(WriteString(value, path));
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return WriteMessage(rep ? r->GetRepeatedMessage(message, field, index)
                              : r->GetMessage(message, field),
                          path, depth + 1);
  }
  return absl::OkStatus();
}

absl::Status JsonEncoder::WriteString(absl::string_view text,
                                      const JsonPath& path) {
  if (!IsValidUtf8(text)) {
    return path.Error(
        "string is not valid UTF-8 (proto3 strings must be; use a bytes "
        "field for binary data)");
  }
  // The writer places the separator (a comma or a colon) and keeps count;
  // the string itself is escaped here, eight bytes at a time where nothing
  // needs escaping, which is several times faster than RapidJSON's
  // byte-by-byte String() on long values.
  w_.RawValue("", 0, rapidjson::kStringType);
  const size_t reserved = MaxEscapedJsonStringSize(text.size());
  char* dst = out_.Push(reserved);
  out_.Pop(reserved - EscapeJsonString(text, dst));
  return absl::OkStatus();
}

void JsonEncoder::WriteDouble(double value) {
  if (std::isnan(value)) {
    w_.String("NaN");
  } else if (std::isinf(value)) {
    w_.String(value > 0 ? "Infinity" : "-Infinity");
  } else {
    char buf[kShortestNumberBufferSize];
    w_.RawValue(buf, FormatDouble(value, buf), rapidjson::kNumberType);
  }
}

void JsonEncoder::WriteFloat(float value) {
  if (std::isnan(value)) {
    w_.String("NaN");
  } else if (std::isinf(value)) {
    w_.String(value > 0 ? "Infinity" : "-Infinity");
  } else {
    char buf[kShortestNumberBufferSize];
    w_.RawValue(buf, FormatFloat(value, buf), rapidjson::kNumberType);
  }
}

absl::Status JsonEncoder::WriteWellKnown(const Message& message,
                                         const JsonPath& path, int depth) {
  const Descriptor* type = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  const FieldDescriptor* first = type->FindFieldByNumber(1);
  switch (type->well_known_type()) {
    case Descriptor::WELLKNOWNTYPE_ANY:
      return WriteAny(message, path, depth);
    case Descriptor::WELLKNOWNTYPE_STRUCT:
      return WriteStruct(message, path, depth);
    case Descriptor::WELLKNOWNTYPE_VALUE:
      return WriteStructValue(message, path, depth);
    case Descriptor::WELLKNOWNTYPE_LISTVALUE:
      return WriteListValue(message, path, depth);
    case Descriptor::WELLKNOWNTYPE_FIELDMASK:
      return WriteFieldMask(message, path);
    case Descriptor::WELLKNOWNTYPE_TIMESTAMP:
    case Descriptor::WELLKNOWNTYPE_DURATION: {
      const int64_t seconds = r->GetInt64(message, first);
      const int32_t nanos = r->GetInt32(message, type->FindFieldByNumber(2));
      std::string text;
      absl::Status status =
          type->well_known_type() == Descriptor::WELLKNOWNTYPE_TIMESTAMP
              ? AppendTimestamp(seconds, nanos, &text)
              : AppendDuration(seconds, nanos, &text);
      if (!status.ok()) return path.Error(status.message());
      return WriteString(text, path);
    }
    case Descriptor::WELLKNOWNTYPE_UNSPECIFIED:
      break;
    default:
      // The wrappers: the JSON form of their single field "value".
      return WriteValue(message, first, -1, path, depth);
  }
  return path.Error("internal error: not a well-known type");
}

absl::Status JsonEncoder::WriteAny(const Message& message, const JsonPath& path,
                                   int depth) {
  const Descriptor* type = message.GetDescriptor();
  const Reflection* r = message.GetReflection();
  const std::string type_url =
      r->GetString(message, type->FindFieldByNumber(1));
  const std::string bytes = r->GetString(message, type->FindFieldByNumber(2));
  if (type_url.empty() && bytes.empty()) {
    w_.StartObject();
    w_.EndObject();
    return absl::OkStatus();
  }
  auto inner = state_.NewMessageForAny(type_url, any_pool_);
  if (!inner.ok()) return path.Error(inner.status().message());
  if (!(*inner)->ParseFromString(bytes)) {
    return path.Error(
        absl::StrCat("google.protobuf.Any holds bytes that do "
                     "not parse as its type \"",
                     type_url, "\""));
  }
  PERSIST_RETURN_IF_ERROR(CheckUnknownFields(**inner, path));
  w_.StartObject();
  w_.Key("@type");
  PERSIST_RETURN_IF_ERROR(WriteString(type_url, path));
  if ((*inner)->GetDescriptor()->well_known_type() !=
      Descriptor::WELLKNOWNTYPE_UNSPECIFIED) {
    w_.Key("value");
    PERSIST_RETURN_IF_ERROR(WriteMessage(**inner, path, depth + 1));
  } else {
    PERSIST_RETURN_IF_ERROR(WriteMembers(**inner, path, depth + 1));
  }
  w_.EndObject();
  return absl::OkStatus();
}

absl::Status JsonEncoder::WriteStruct(const Message& message,
                                      const JsonPath& path, int depth) {
  // Struct's only field is map<string, Value> fields = 1.
  return WriteMap(message, message.GetDescriptor()->FindFieldByNumber(1), path,
                  depth);
}

absl::Status JsonEncoder::WriteStructValue(const Message& message,
                                           const JsonPath& path, int depth) {
  const Reflection* r = message.GetReflection();
  const FieldDescriptor* kind = r->GetOneofFieldDescriptor(
      message, message.GetDescriptor()->oneof_decl(0));
  if (kind == nullptr) {
    return path.Error(
        "google.protobuf.Value has no kind set (set null_value for JSON "
        "null)");
  }
  if (kind->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE &&
      !std::isfinite(r->GetDouble(message, kind))) {
    return path.Error(
        "google.protobuf.Value holds NaN or an infinity, which JSON numbers "
        "cannot express");
  }
  return WriteValue(message, kind, -1, path, depth);
}

absl::Status JsonEncoder::WriteListValue(const Message& message,
                                         const JsonPath& path, int depth) {
  // ListValue's only field is repeated Value values = 1.
  return WriteField(message, message.GetDescriptor()->FindFieldByNumber(1),
                    path, depth);
}

absl::Status JsonEncoder::WriteFieldMask(const Message& message,
                                         const JsonPath& path) {
  const Reflection* r = message.GetReflection();
  const FieldDescriptor* paths = message.GetDescriptor()->FindFieldByNumber(1);
  std::string joined;
  const int size = r->FieldSize(message, paths);
  for (int i = 0; i < size; ++i) {
    if (i > 0) joined.push_back(',');
    const std::string& p = r->GetRepeatedString(message, paths, i);
    if (!FieldMaskPathToCamel(p, &joined)) {
      return path.Error(absl::StrCat(
          "FieldMask path \"", p,
          "\" has no lowerCamelCase JSON form (paths must be lower "
          "snake_case)"));
    }
  }
  return WriteString(joined, path);
}

}  // namespace persist
