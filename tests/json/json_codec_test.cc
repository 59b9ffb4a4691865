// Hand-written cases for JsonCodec: the exact text written for each field
// kind and the forms accepted when reading (DESIGN.md section 4).
#include "json/json_codec.h"

#include <cfloat>
#include <cmath>
#include <limits>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "persist/test/v1/all_types.pb.h"
#include "tests/json/protobuf_oracle.h"

namespace persist {
namespace {

using persist::test::v1::AllTypes;
using persist::test::v1::Nested;

std::string Encode(const google::protobuf::Message& message) {
  JsonCodec codec;
  absl::StatusOr<std::string> json = codec.Encode(message);
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? *json : "";
}

AllTypes Decode(const std::string& json) {
  JsonCodec codec;
  AllTypes message;
  absl::Status status = codec.Decode(json, &message);
  EXPECT_TRUE(status.ok()) << status << " reading " << json;
  return message;
}

TEST(JsonCodecTest, WritesScalarsByJsonNameOnOneLine) {
  AllTypes m;
  m.set_f_int32(-5);
  m.set_f_string("line\nbreak \"quoted\" \\ tab\t");
  m.set_f_bool(true);
  m.set_renamed("x");
  m.set_f_enum(persist::test::v1::COLOR_GREEN);
  EXPECT_EQ(Encode(m), R"({"fInt32":-5,"fBool":true,)"
                       R"("fString":"line\nbreak \"quoted\" \\ tab\t",)"
                       R"("fEnum":"COLOR_GREEN","customName":"x"})");
}

TEST(JsonCodecTest, EmptyMessageIsEmptyObject) {
  EXPECT_EQ(Encode(AllTypes()), "{}");
}

TEST(JsonCodecTest, AcceptsOriginalFieldNamesAndJsonNames) {
  AllTypes m = Decode(R"({"f_int32":1,"fInt64":2,"renamed":"a"})");
  EXPECT_EQ(m.f_int32(), 1);
  EXPECT_EQ(m.f_int64(), 2);
  EXPECT_EQ(m.renamed(), "a");
  EXPECT_EQ(Decode(R"({"customName":"b"})").renamed(), "b");
}

TEST(JsonCodecTest, Writes64BitIntegersAsExactNumbers) {
  AllTypes m;
  m.set_f_int64(std::numeric_limits<int64_t>::min());
  m.set_f_uint64(std::numeric_limits<uint64_t>::max());
  m.set_f_sfixed64(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Encode(m),
            R"({"fInt64":-9223372036854775808,"fUint64":18446744073709551615,)"
            R"("fSfixed64":9223372036854775807})");
}

TEST(JsonCodecTest, Reads64BitIntegersFromNumbersAndStrings) {
  AllTypes m = Decode(
      R"({"fInt64":"-9223372036854775808","fUint64":"18446744073709551615",)"
      R"("fSint64":9007199254740993,"fInt32":"-2147483648","fUint32":1e3,)"
      R"("fFixed64":"2.0"})");
  EXPECT_EQ(m.f_int64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(m.f_uint64(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(m.f_sint64(), 9007199254740993);  // 2^53 + 1: not a double
  EXPECT_EQ(m.f_int32(), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(m.f_uint32(), 1000u);
  EXPECT_EQ(m.f_fixed64(), 2u);
}

TEST(JsonCodecTest, FloatingPointUsesShortestExactForm) {
  AllTypes m;
  m.set_f_float(0.1f);
  m.set_f_double(0.1);
  m.add_r_double(5e-324);
  m.add_r_double(1.7976931348623157e308);
  m.add_r_float(FLT_MAX);
  m.add_r_float(1e-45f);
  const std::string json = Encode(m);
  EXPECT_EQ(json,
            R"({"fFloat":0.1,"fDouble":0.1,"rFloat":[3.4028235e+38,1e-45],)"
            R"("rDouble":[5e-324,1.7976931348623157e+308]})");
  AllTypes back = Decode(json);
  EXPECT_EQ(back.f_float(), 0.1f);
  EXPECT_EQ(back.r_float(0), FLT_MAX);
  EXPECT_EQ(back.r_float(1), 1e-45f);
  EXPECT_EQ(back.r_double(0), 5e-324);
}

TEST(JsonCodecTest, NonFiniteNumbersAreStrings) {
  AllTypes m;
  m.set_f_double(std::numeric_limits<double>::quiet_NaN());
  m.add_r_double(std::numeric_limits<double>::infinity());
  m.add_r_float(-std::numeric_limits<float>::infinity());
  const std::string json = Encode(m);
  EXPECT_EQ(
      json,
      R"({"fDouble":"NaN","rFloat":["-Infinity"],"rDouble":["Infinity"]})");
  AllTypes back = Decode(json);
  EXPECT_TRUE(std::isnan(back.f_double()));
  EXPECT_EQ(back.r_double(0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(back.r_float(0), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(Decode(R"({"fDouble":"1.5"})").f_double(), 1.5);
}

TEST(JsonCodecTest, NegativeZeroKeepsItsSignThroughUsAndProtobuf) {
  AllTypes m;
  m.set_f_double(-0.0);
  m.set_f_float(-0.0f);
  const std::string json = Encode(m);
  EXPECT_EQ(json, R"({"fFloat":-0.0,"fDouble":-0.0})");
  AllTypes back = Decode(json);
  EXPECT_TRUE(std::signbit(back.f_double()));
  EXPECT_TRUE(std::signbit(back.f_float()));
  // protobuf writes "-0"; we read its sign too.
  EXPECT_TRUE(std::signbit(Decode(R"({"fDouble":-0})").f_double()));
  AllTypes by_protobuf;
  std::string error;
  ASSERT_TRUE(testing::ProtobufFromJson(json, &by_protobuf, &error)) << error;
  EXPECT_TRUE(std::signbit(by_protobuf.f_double()));
}

TEST(JsonCodecTest, OmitsDefaultsButWritesFieldsWithPresence) {
  AllTypes m;
  m.set_f_int32(0);
  m.set_opt_int32(0);
  m.set_opt_string("");
  m.set_opt_enum(persist::test::v1::COLOR_UNSPECIFIED);
  m.mutable_f_nested();
  m.set_o_int32(0);
  EXPECT_EQ(Encode(m), R"({"fNested":{},"optInt32":0,"optString":"",)"
                       R"("optEnum":"COLOR_UNSPECIFIED","oInt32":0})");
  AllTypes back = Decode(Encode(m));
  EXPECT_TRUE(back.has_opt_int32());
  EXPECT_TRUE(back.has_f_nested());
  EXPECT_EQ(back.choice_case(), AllTypes::kOInt32);
}

TEST(JsonCodecTest, StringsKeepUnicodeAndEscapeControlCharacters) {
  AllTypes m;
  m.set_f_string(
      std::string("\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x98\x80 \0end", 19));
  const std::string json = Encode(m);
  EXPECT_EQ(json, std::string("{\"fString\":\"\\u0001\\u001F\x7f caf\xc3\xa9 "
                              "\xf0\x9f\x98\x80 \\u0000end\"}"));
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(Decode(json).f_string(), m.f_string());
  // Escaped surrogate pairs read as the character they encode.
  EXPECT_EQ(Decode(R"({"fString":"\ud83d\ude00\u00e9"})").f_string(),
            "\xf0\x9f\x98\x80\xc3\xa9");
}

TEST(JsonCodecTest, BytesAreBase64AndReadInEitherAlphabet) {
  AllTypes m;
  m.set_f_bytes(std::string("\xfb\xff\x00\x01", 4));
  EXPECT_EQ(Encode(m), R"({"fBytes":"+/8AAQ=="})");
  EXPECT_EQ(Decode(R"({"fBytes":"-_8AAQ=="})").f_bytes(), m.f_bytes());
  EXPECT_EQ(Decode(R"({"fBytes":"-_8AAQ"})").f_bytes(), m.f_bytes());
  EXPECT_EQ(Decode(R"({"fBytes":"+/8AAQ"})").f_bytes(), m.f_bytes());
}

TEST(JsonCodecTest, EnumsByNameOrNumber) {
  EXPECT_EQ(Decode(R"({"fEnum":"COLOR_BLUE"})").f_enum(),
            persist::test::v1::COLOR_BLUE);
  EXPECT_EQ(Decode(R"({"fEnum":-7})").f_enum(),
            persist::test::v1::COLOR_NEGATIVE);
  // Open enums keep numbers without names, written as numbers.
  AllTypes m = Decode(R"({"rEnum":[1,42]})");
  ASSERT_EQ(m.r_enum_size(), 2);
  EXPECT_EQ(m.r_enum(1), 42);
  EXPECT_EQ(Encode(m), R"({"rEnum":["COLOR_RED",42]})");
}

TEST(JsonCodecTest, MapsWithEveryKeyType) {
  AllTypes m;
  (*m.mutable_m_int32())[-1] = "a";
  (*m.mutable_m_uint64())[18446744073709551615u] = "b";
  (*m.mutable_m_sfixed64())[std::numeric_limits<int64_t>::min()] = "c";
  (*m.mutable_m_bool())[true] = "d";
  (*m.mutable_m_string())["k:e y"] = "e";
  (*m.mutable_m_nested())["n"].set_id(1);
  (*m.mutable_m_enum())["x"] = persist::test::v1::COLOR_RED;
  EXPECT_EQ(Encode(m),
            R"({"mInt32":{"-1":"a"},"mUint64":{"18446744073709551615":"b"},)"
            R"("mSfixed64":{"-9223372036854775808":"c"},"mBool":{"true":"d"},)"
            R"("mString":{"k:e y":"e"},"mNested":{"n":{"id":1}},)"
            R"("mEnum":{"x":"COLOR_RED"}})");
  std::string diff;
  EXPECT_TRUE(testing::Equivalent(m, Decode(Encode(m)), &diff)) << diff;
}

TEST(JsonCodecTest, MapEntriesAreSortedByKey) {
  AllTypes m;
  for (int32_t k : {10, -1, 2}) (*m.mutable_m_int32())[k] = "v";
  for (uint64_t k : {10u, 9u}) (*m.mutable_m_uint64())[k] = "v";
  for (const char* k : {"b", "a", "B"}) (*m.mutable_m_string())[k] = "v";
  (*m.mutable_m_bool())[true] = "t";
  (*m.mutable_m_bool())[false] = "f";
  EXPECT_EQ(
      Encode(m),
      R"({"mInt32":{"-1":"v","2":"v","10":"v"},"mUint64":{"9":"v","10":"v"},)"
      R"("mBool":{"false":"f","true":"t"},"mString":{"B":"v","a":"v","b":"v"}})");
}

TEST(JsonCodecTest, NullLeavesFieldsUnsetExceptWhereNullIsData) {
  AllTypes m =
      Decode(R"({"fInt32":null,"fNested":null,"rInt32":null,"mString":null,)"
             R"("wInt32":null,"timestamp":null,"value":null,"oNull":null,)"
             R"("rValue":[null],"mValue":{"k":null},"rNull":[null]})");
  EXPECT_FALSE(m.has_f_nested());
  EXPECT_FALSE(m.has_w_int32());
  EXPECT_FALSE(m.has_timestamp());
  EXPECT_EQ(m.r_int32_size(), 0);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m.value().kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(m.choice_case(), AllTypes::kONull);
  ASSERT_EQ(m.r_value_size(), 1);
  EXPECT_EQ(m.r_value(0).kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(m.m_value().at("k").kind_case(),
            google::protobuf::Value::kNullValue);
  EXPECT_EQ(m.r_null_size(), 1);
  EXPECT_EQ(Encode(m), R"({"mValue":{"k":null},"oNull":null,"value":null,)"
                       R"("rValue":[null],"rNull":[null]})");
}

TEST(JsonCodecTest, TimestampsAndDurations) {
  AllTypes m;
  m.mutable_timestamp()->set_seconds(-62135596800);  // 0001-01-01
  m.mutable_duration()->set_seconds(-1);
  m.mutable_duration()->set_nanos(-500000000);
  auto* t = m.add_r_timestamp();
  t->set_seconds(253402300799);
  t->set_nanos(999999999);
  m.add_r_timestamp()->set_nanos(1000);
  m.add_r_duration()->set_nanos(-1);
  EXPECT_EQ(Encode(m),
            R"({"timestamp":"0001-01-01T00:00:00Z","duration":"-1.500s",)"
            R"("rTimestamp":["9999-12-31T23:59:59.999999999Z",)"
            R"("1970-01-01T00:00:00.000001Z"],"rDuration":["-0.000000001s"]})");
  AllTypes back = Decode(R"({"timestamp":"1970-01-01T01:00:00.5+01:00",)"
                         R"("duration":"-0.5s"})");
  EXPECT_EQ(back.timestamp().seconds(), 0);
  EXPECT_EQ(back.timestamp().nanos(), 500000000);
  EXPECT_EQ(back.duration().seconds(), 0);
  EXPECT_EQ(back.duration().nanos(), -500000000);
}

TEST(JsonCodecTest, FieldMasksMapToCamelCaseAndBack) {
  AllTypes m;
  m.mutable_field_mask()->add_paths("user.display_name");
  m.mutable_field_mask()->add_paths("a_b_c");
  EXPECT_EQ(Encode(m), R"({"fieldMask":"user.displayName,aBC"})");
  AllTypes back = Decode(Encode(m));
  ASSERT_EQ(back.field_mask().paths_size(), 2);
  EXPECT_EQ(back.field_mask().paths(1), "a_b_c");
  EXPECT_EQ(Decode(R"({"fieldMask":""})").field_mask().paths_size(), 0);
}

TEST(JsonCodecTest, StructValueAndListValue) {
  const std::string json =
      R"({"structValue":{"a":[1,"x",true,null,{}]},"value":"text",)"
      R"("listValue":[1.5,{"b":false}]})";
  AllTypes m = Decode(json);
  EXPECT_EQ(m.struct_value().fields().at("a").list_value().values_size(), 5);
  EXPECT_EQ(m.value().string_value(), "text");
  EXPECT_EQ(m.list_value().values(0).number_value(), 1.5);
  EXPECT_EQ(Encode(m), json);
}

TEST(JsonCodecTest, WrappersAreTheirValues) {
  AllTypes m;
  m.mutable_w_int64()->set_value(-3);
  m.mutable_w_uint64()->set_value(0);
  m.mutable_w_string()->set_value("s");
  m.mutable_w_bytes()->set_value("\x01");
  m.mutable_w_bool()->set_value(false);
  EXPECT_EQ(Encode(m),
            R"({"wInt64":-3,"wUint64":0,"wBool":false,"wString":"s",)"
            R"("wBytes":"AQ=="})");
  AllTypes back = Decode(R"({"wInt64":"-3","wUint64":0})");
  EXPECT_EQ(back.w_int64().value(), -3);
  EXPECT_TRUE(back.has_w_uint64());
}

TEST(JsonCodecTest, AnyHoldsMessagesAndWellKnownTypes) {
  AllTypes m;
  Nested nested;
  nested.set_id(7);
  m.mutable_any()->PackFrom(nested);
  google::protobuf::Timestamp ts;
  ts.set_seconds(1);
  m.add_r_any()->PackFrom(ts);
  m.add_r_any();  // empty
  const std::string json = Encode(m);
  EXPECT_EQ(
      json,
      R"({"any":{"@type":"type.googleapis.com/persist.test.v1.Nested",)"
      R"("id":7},"rAny":[{"@type":"type.googleapis.com/)"
      R"(google.protobuf.Timestamp","value":"1970-01-01T00:00:01Z"},{}]})");
  std::string diff;
  EXPECT_TRUE(testing::Equivalent(m, Decode(json), &diff)) << diff;
  // "@type" need not come first.
  AllTypes late = Decode(
      R"({"any":{"id":7,"@type":"type.googleapis.com/persist.test.v1.Nested"}})");
  Nested unpacked;
  ASSERT_TRUE(late.any().UnpackTo(&unpacked));
  EXPECT_EQ(unpacked.id(), 7);
}

TEST(JsonCodecTest, WellKnownTypesAtTheTopLevel) {
  // Untyped maps hold google.protobuf.Value: a plain string is a value.
  JsonCodec codec;
  google::protobuf::Value value;
  ASSERT_TRUE(codec.Decode(R"("hello")", &value).ok());
  EXPECT_EQ(value.string_value(), "hello");
  EXPECT_EQ(*codec.Encode(value), R"("hello")");
  ASSERT_TRUE(codec.Decode("null", &value).ok());
  EXPECT_EQ(value.kind_case(), google::protobuf::Value::kNullValue);
  google::protobuf::Timestamp ts;
  ASSERT_TRUE(codec.Decode(R"( "1970-01-01T00:00:02Z" )", &ts).ok());
  EXPECT_EQ(ts.seconds(), 2);
  google::protobuf::Int64Value wrapped;
  ASSERT_TRUE(codec.Decode("12", &wrapped).ok());
  EXPECT_EQ(*codec.Encode(wrapped), "12");
}

TEST(JsonCodecTest, IgnoreUnknownFieldsSkipsAndCounts) {
  JsonCodecOptions options;
  options.ignore_unknown_fields = true;
  JsonCodec codec(options);
  AllTypes m;
  JsonDecodeStats stats;
  ASSERT_TRUE(
      codec
          .Decode(R"({"fInt32":1,"gone":{"deep":[1,2]},)"
                  R"("fNested":{"nope":1,"id":2},"fEnum":"COLOR_MAUVE",)"
                  R"("rEnum":["COLOR_RED","COLOR_MAUVE"],)"
                  R"("mEnum":{"a":"COLOR_MAUVE","b":"COLOR_RED"}})",
                  &m, &stats)
          .ok());
  EXPECT_EQ(stats.ignored_unknown_fields, 5);
  EXPECT_EQ(m.f_int32(), 1);
  EXPECT_EQ(m.f_nested().id(), 2);
  EXPECT_EQ(m.f_enum(), persist::test::v1::COLOR_UNSPECIFIED);
  EXPECT_EQ(m.r_enum_size(), 1);
  EXPECT_EQ(m.m_enum_size(), 1);
  EXPECT_EQ(m.m_enum().at("b"), persist::test::v1::COLOR_RED);
}

TEST(JsonCodecTest, EncodeAppendsToExistingOutput) {
  JsonCodec codec;
  AllTypes m;
  m.set_f_int32(1);
  std::string out = "S users:alice\n";
  ASSERT_TRUE(codec.Encode(m, &out).ok());
  EXPECT_EQ(out, "S users:alice\n{\"fInt32\":1}");
}

}  // namespace
}  // namespace persist
