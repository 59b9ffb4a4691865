#include "tests/json/random_message.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace persist::testing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

template <typename T>
T Pick(std::mt19937_64& rng, std::initializer_list<T> values) {
  auto it = values.begin();
  std::advance(
      it, std::uniform_int_distribution<size_t>(0, values.size() - 1)(rng));
  return *it;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string MapKeyText(const Message& entry, const FieldDescriptor* key) {
  const Reflection* r = entry.GetReflection();
  switch (key->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(r->GetInt32(entry, key));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(r->GetInt64(entry, key));
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(r->GetUInt32(entry, key));
    case FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(r->GetUInt64(entry, key));
    case FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(entry, key) ? "true" : "false";
    default:
      return r->GetString(entry, key);
  }
}

}  // namespace

int32_t RandomMessageFiller::Int32() {
  if (OneIn(3)) {
    return Pick<int32_t>(rng_, {0, 1, -1, std::numeric_limits<int32_t>::min(),
                                std::numeric_limits<int32_t>::max()});
  }
  return static_cast<int32_t>(Uniform(std::numeric_limits<int32_t>::min(),
                                      std::numeric_limits<int32_t>::max()));
}

int64_t RandomMessageFiller::Int64() {
  if (OneIn(3)) {
    return Pick<int64_t>(
        rng_, {0, 1, -1, std::numeric_limits<int64_t>::min(),
               std::numeric_limits<int64_t>::max(), (int64_t{1} << 53) + 1,
               -(int64_t{1} << 53) - 1});
  }
  return static_cast<int64_t>(rng_());
}

uint32_t RandomMessageFiller::UInt32() {
  if (OneIn(3)) return Pick<uint32_t>(rng_, {0, 1, UINT32_MAX});
  return static_cast<uint32_t>(rng_());
}

uint64_t RandomMessageFiller::UInt64() {
  if (OneIn(3)) {
    return Pick<uint64_t>(rng_, {0, 1, UINT64_MAX, (uint64_t{1} << 53) + 1});
  }
  return rng_();
}

double RandomMessageFiller::FiniteDouble() {
  switch (Uniform(0, 3)) {
    case 0:
      return Pick<double>(rng_, {0.0, -0.0, 0.1, 1.5, -2.0, 1e21, 1e-7,
                                 std::numeric_limits<double>::max(),
                                 std::numeric_limits<double>::lowest(),
                                 std::numeric_limits<double>::min(),
                                 std::numeric_limits<double>::denorm_min()});
    case 1:
      return static_cast<double>(Uniform(-1000000, 1000000)) / 1000.0;
    default: {
      // Any bit pattern that is finite: exercises shortest round trips.
      for (;;) {
        const uint64_t bits = rng_();
        double d;
        std::memcpy(&d, &bits, sizeof(d));
        if (std::isfinite(d)) return d;
      }
    }
  }
}

double RandomMessageFiller::Double() {
  if (OneIn(8)) {
    return Pick<double>(rng_, {std::numeric_limits<double>::quiet_NaN(),
                               std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity()});
  }
  return FiniteDouble();
}

float RandomMessageFiller::Float() {
  switch (Uniform(0, 4)) {
    case 0:
      return Pick<float>(
          rng_, {std::numeric_limits<float>::quiet_NaN(),
                 std::numeric_limits<float>::infinity(),
                 -std::numeric_limits<float>::infinity(),
                 std::numeric_limits<float>::max(),
                 std::numeric_limits<float>::lowest(),
                 std::numeric_limits<float>::denorm_min(), -0.0f, 0.1f});
    case 1:
      return static_cast<float>(Uniform(-100000, 100000)) / 100.0f;
    default:
      for (;;) {
        const uint32_t bits = static_cast<uint32_t>(rng_());
        float f;
        std::memcpy(&f, &bits, sizeof(f));
        if (std::isfinite(f)) return f;
      }
  }
}

std::string RandomMessageFiller::Utf8String() {
  std::string out;
  const int length = static_cast<int>(Uniform(0, 12));
  for (int i = 0; i < length; ++i) {
    uint32_t cp;
    switch (Uniform(0, 6)) {
      case 0:  // control characters, NUL included
        cp = static_cast<uint32_t>(Uniform(0, 0x1F));
        break;
      case 1:  // the characters JSON escapes, and a few it need not
        cp = Pick<uint32_t>(rng_,
                            {'"', '\\', '/', 0x7F, 0x2028, 0x2029, 0xFEFF});
        break;
      case 2:
        cp = static_cast<uint32_t>(Uniform(0x80, 0x7FF));
        break;
      case 3:  // 3-byte forms, without the surrogate range
        do {
          cp = static_cast<uint32_t>(Uniform(0x800, 0xFFFF));
        } while (cp >= 0xD800 && cp <= 0xDFFF);
        break;
      case 4:
        cp = static_cast<uint32_t>(Uniform(0x10000, 0x10FFFF));
        break;
      default:
        cp = static_cast<uint32_t>(Uniform(0x20, 0x7E));
    }
    AppendUtf8(cp, &out);
  }
  return out;
}

std::string RandomMessageFiller::Bytes() {
  std::string out(static_cast<size_t>(Uniform(0, 20)), '\0');
  for (char& c : out) c = static_cast<char>(Uniform(0, 255));
  return out;
}

std::string RandomMessageFiller::LowerWord() {
  std::string out(static_cast<size_t>(Uniform(2, 6)), 'a');
  for (char& c : out) c = static_cast<char>('a' + Uniform(0, 25));
  return out;
}

void RandomMessageFiller::FillMessage(Message* message, int depth) {
  if (FillWellKnown(message, depth)) return;
  const Descriptor* type = message->GetDescriptor();
  // At most one member of each oneof.
  for (int i = 0; i < type->oneof_decl_count(); ++i) {
    const auto* oneof = type->oneof_decl(i);
    if (oneof->is_synthetic() || OneIn(2)) continue;
    const FieldDescriptor* field =
        oneof->field(static_cast<int>(Uniform(0, oneof->field_count() - 1)));
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        depth < max_depth_) {
      FillValue(message, field, depth);
    }
  }
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->real_containing_oneof() != nullptr) continue;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        depth >= max_depth_) {
      continue;
    }
    if (OneIn(2)) FillField(message, field, depth);
  }
}

void RandomMessageFiller::FillField(Message* message,
                                    const FieldDescriptor* field, int depth) {
  if (!field->is_repeated()) {
    FillValue(message, field, depth);
    return;
  }
  const int count = static_cast<int>(Uniform(0, 4));
  for (int i = 0; i < count; ++i) FillValue(message, field, depth);
}

void RandomMessageFiller::FillValue(Message* message,
                                    const FieldDescriptor* field, int depth) {
  const Reflection* r = message->GetReflection();
  const bool rep = field->is_repeated();
  if (field->is_map()) {
    Message* entry = r->AddMessage(message, field);
    const FieldDescriptor* key = field->message_type()->map_key();
    FillValue(entry, key, depth);
    FillValue(entry, field->message_type()->map_value(), depth);
    // A map holds each key once; drop the entry if its key came up before.
    const int size = r->FieldSize(*message, field);
    for (int i = 0; i < size - 1; ++i) {
      if (MapKeyText(r->GetRepeatedMessage(*message, field, i), key) ==
          MapKeyText(*entry, key)) {
        r->RemoveLast(message, field);
        break;
      }
    }
    return;
  }
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      rep ? r->AddInt32(message, field, Int32())
          : r->SetInt32(message, field, Int32());
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      rep ? r->AddInt64(message, field, Int64())
          : r->SetInt64(message, field, Int64());
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      rep ? r->AddUInt32(message, field, UInt32())
          : r->SetUInt32(message, field, UInt32());
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      rep ? r->AddUInt64(message, field, UInt64())
          : r->SetUInt64(message, field, UInt64());
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      rep ? r->AddDouble(message, field, Double())
          : r->SetDouble(message, field, Double());
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      rep ? r->AddFloat(message, field, Float())
          : r->SetFloat(message, field, Float());
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      rep ? r->AddBool(message, field, OneIn(2))
          : r->SetBool(message, field, OneIn(2));
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* type = field->enum_type();
      // Open enums also hold numbers without a name.
      const int number =
          OneIn(6) && type->full_name() != "google.protobuf.NullValue"
              ? 42
              : type->value(
                        static_cast<int>(Uniform(0, type->value_count() - 1)))
                    ->number();
      rep ? r->AddEnumValue(message, field, number)
          : r->SetEnumValue(message, field, number);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string value =
          field->type() == FieldDescriptor::TYPE_BYTES ? Bytes() : Utf8String();
      rep ? r->AddString(message, field, std::move(value))
          : r->SetString(message, field, std::move(value));
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      FillMessage(rep ? r->AddMessage(message, field)
                      : r->MutableMessage(message, field),
                  depth + 1);
      break;
  }
}

bool RandomMessageFiller::FillWellKnown(Message* message, int depth) {
  const Descriptor* type = message->GetDescriptor();
  const Reflection* r = message->GetReflection();
  const FieldDescriptor* first = type->FindFieldByNumber(1);
  switch (type->well_known_type()) {
    case Descriptor::WELLKNOWNTYPE_UNSPECIFIED:
      return false;
    case Descriptor::WELLKNOWNTYPE_TIMESTAMP:
      r->SetInt64(message, first, Uniform(-62135596800, 253402300799));
      r->SetInt32(message, type->FindFieldByNumber(2),
                  static_cast<int32_t>(Pick<int64_t>(
                      rng_, {0, 21000000, 21000, 21, Uniform(0, 999999999)})));
      return true;
    case Descriptor::WELLKNOWNTYPE_DURATION: {
      const int64_t seconds = Uniform(-315576000000, 315576000000);
      int32_t nanos = static_cast<int32_t>(Uniform(0, 999999999));
      if (seconds < 0 || (seconds == 0 && OneIn(2))) nanos = -nanos;
      r->SetInt64(message, first, seconds);
      r->SetInt32(message, type->FindFieldByNumber(2), nanos);
      return true;
    }
    case Descriptor::WELLKNOWNTYPE_FIELDMASK: {
      // Words of two or more letters: protobuf's reader takes "fooAB" for
      // "foo_ab", not "foo_a_b" (see json_codec_test for ours).
      const int count = static_cast<int>(Uniform(0, 3));
      for (int i = 0; i < count; ++i) {
        std::string path = LowerWord();
        while (OneIn(2)) {
          path += OneIn(2) ? "_" : ".";
          path += LowerWord();
        }
        r->AddString(message, first, path);
      }
      return true;
    }
    case Descriptor::WELLKNOWNTYPE_VALUE:
      FillStructValue(message, depth);
      return true;
    case Descriptor::WELLKNOWNTYPE_STRUCT:
    case Descriptor::WELLKNOWNTYPE_LISTVALUE: {
      const int count =
          depth >= max_depth_ ? 0 : static_cast<int>(Uniform(0, 3));
      for (int i = 0; i < count; ++i) {
        // Struct's map<string, Value> or ListValue's repeated Value.
        FillValue(message, first, depth);
      }
      return true;
    }
    case Descriptor::WELLKNOWNTYPE_ANY:
      FillAny(message, depth);
      return true;
    default:  // wrappers
      FillValue(message, first, depth);
      return true;
  }
}

void RandomMessageFiller::FillStructValue(Message* value, int depth) {
  const Descriptor* type = value->GetDescriptor();
  const Reflection* r = value->GetReflection();
  switch (Uniform(0, depth >= max_depth_ ? 3 : 5)) {
    case 0:
      r->SetEnumValue(value, type->FindFieldByNumber(1), 0);
      break;
    case 1:
      r->SetDouble(value, type->FindFieldByNumber(2), FiniteDouble());
      break;
    case 2:
      r->SetString(value, type->FindFieldByNumber(3), Utf8String());
      break;
    case 3:
      r->SetBool(value, type->FindFieldByNumber(4), OneIn(2));
      break;
    case 4:
      FillMessage(r->MutableMessage(value, type->FindFieldByNumber(5)),
                  depth + 1);
      break;
    default:
      FillMessage(r->MutableMessage(value, type->FindFieldByNumber(6)),
                  depth + 1);
  }
}

void RandomMessageFiller::FillAny(Message* any, int depth) {
  if (depth >= max_depth_ || OneIn(8)) return;  // the empty Any, {}
  const Descriptor* type = any->GetDescriptor();
  const auto* pool = type->file()->pool();
  // A message of the test schema or a well-known type, packed.
  const char* packed_name = Pick<const char*>(
      rng_, {"persist.test.v1.Nested", "persist.test.v1.AllTypes",
             "google.protobuf.Timestamp", "google.protobuf.Duration",
             "google.protobuf.Value", "google.protobuf.Struct",
             "google.protobuf.Int64Value", "google.protobuf.Empty",
             "google.protobuf.Any", "google.protobuf.FieldMask"});
  const Descriptor* packed_type = pool->FindMessageTypeByName(packed_name);
  if (packed_type == nullptr) return;
  std::unique_ptr<Message> packed(any->GetReflection()
                                      ->GetMessageFactory()
                                      ->GetPrototype(packed_type)
                                      ->New());
  FillMessage(packed.get(), depth + 1);
  std::string bytes;
  packed->SerializeToString(&bytes);
  any->GetReflection()->SetString(
      any, type->FindFieldByNumber(1),
      "type.googleapis.com/" + packed_type->full_name());
  any->GetReflection()->SetString(any, type->FindFieldByNumber(2), bytes);
}

}  // namespace persist::testing
