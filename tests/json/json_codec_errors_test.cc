// Malformed input and values without a JSON form: every case must give a
// clear InvalidArgument naming what is wrong and where, never crash, and
// never leave a partly filled message or partial output behind.
#include <ostream>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "json/json_codec.h"
#include "persist/test/v1/all_types.pb.h"

namespace persist {
namespace {

using persist::test::v1::AllTypes;
using ::testing::HasSubstr;

struct BadInput {
  const char* name;
  std::string json;
  const char* error;  // a part of the expected message
};

// gtest prints parameters in test listings; the case name says enough (the
// inputs hold raw invalid bytes on purpose).
void PrintTo(const BadInput& input, std::ostream* os) { *os << input.name; }

std::string Nest(const std::string& open, const std::string& close, int n,
                 const std::string& inner) {
  std::string out;
  for (int i = 0; i < n; ++i) out += open;
  out += inner;
  for (int i = 0; i < n; ++i) out += close;
  return out;
}

const BadInput kBadInputs[] = {
    {"Empty", "", "invalid JSON at byte 0"},
    {"Truncated", R"({"fInt32":1)", "invalid JSON at byte 11"},
    {"TruncatedString", R"({"fString":"ab)", "invalid JSON"},
    {"TrailingGarbage", R"({} x)", "invalid JSON at byte 3"},
    {"TwoValues", R"({}{})", "invalid JSON"},
    {"NotAnObject", R"([1])",
     "expected object for persist.test.v1.AllTypes, got array"},
    {"NullAtTopLevel", "null",
     "expected object for persist.test.v1.AllTypes, got null"},
    {"BareNaN", R"({"fDouble":NaN})", "invalid JSON"},
    {"LeadingZero", R"({"fInt32":01})", "invalid JSON"},
    {"RawNewlineInString", "{\"fString\":\"a\nb\"}", "invalid JSON"},
    {"NulByte", std::string("{\"fString\":\"a\0\"}", 15),
     "unescaped NUL character"},
    {"InvalidUtf8", "{\"fString\":\"\xff\"}",
     "invalid JSON at byte 14: a string is not valid UTF-8"},
    {"OverlongUtf8", "{\"fString\":\"\xc0\xaf\"}", "not valid UTF-8"},
    {"LoneSurrogate", R"({"fString":"\ud800"})", "invalid JSON"},
    {"LoneLowSurrogate", R"({"fString":"\ude00"})",
     "not valid UTF-8 (or escapes a lone surrogate)"},
    {"InvalidUtf8InKey", "{\"f\xffString\":1}", "not valid UTF-8"},
    {"StringForInt", R"({"fInt32":"abc"})",
     R"(field "fInt32": expected int32, got string "abc")"},
    {"NumberForString", R"({"fString":1})",
     R"(field "fString": expected string, got number "1")"},
    {"ObjectForInt", R"({"fInt64":{}})",
     R"(field "fInt64": expected int64, got object)"},
    {"StringForBool", R"({"fBool":"true"})", "expected true or false"},
    {"Int32TooLarge", R"({"fInt32":2147483648})",
     R"("2147483648" is out of range for int32)"},
    {"Int32TooSmall", R"({"fSint32":"-2147483649"})",
     "out of range for sint32"},
    {"Uint32Negative", R"({"fUint32":-1})", "out of range for uint32"},
    {"Int64TooLarge", R"({"fInt64":9223372036854775808})",
     "out of range for int64"},
    {"Uint64TooLarge", R"({"fUint64":"18446744073709551616"})",
     "out of range for uint64"},
    {"HugeInteger", R"({"fInt64":1e30})", "out of range for int64"},
    {"ManyDigits", R"({"fUint64":123456789012345678901234567890})",
     "out of range"},
    {"FractionForInt", R"({"fInt32":1.5})",
     R"("1.5" is not an integer (int32))"},
    {"HugeDouble", R"({"fDouble":1e400})",
     "invalid JSON at byte 11: Number too big"},
    {"HugeDoubleString", R"({"fDouble":"1e400"})", "out of range for a double"},
    {"FloatOutOfRange", R"({"fFloat":3.5e38})", "out of range for a float"},
    {"BadNumericString", R"({"fDouble":"1.5x"})", "expected number"},
    {"UnknownField", R"({"fInt33":1})",
     R"(field "fInt33": unknown field "fInt33" in persist.test.v1.AllTypes)"},
    {"UnknownNestedField", R"({"fNested":{"idd":1}})",
     R"(field "fNested.idd": unknown field "idd" in persist.test.v1.Nested)"},
    {"UnknownEnumName", R"({"fEnum":"COLOR_MAUVE"})",
     R"(unknown value "COLOR_MAUVE" for enum persist.test.v1.Color (known values: COLOR_UNSPECIFIED)"},
    {"EnumNumberTooLarge", R"({"fEnum":4294967296})",
     "is not a number of enum"},
    {"SameFieldTwice", R"({"fInt32":1,"f_int32":2})",
     "field f_int32 is given more than once"},
    {"TwoOneofMembers", R"({"oInt32":1,"oString":"x"})",
     R"(field "oString": oneof choice already has field oInt32 set)"},
    {"BadBase64", R"({"fBytes":"!!!"})", R"(field "fBytes": expected base64)"},
    {"NullInRepeated", R"({"rInt32":[1,null]})",
     R"(field "rInt32[1]": null is not a valid element)"},
    {"NullMapValue", R"({"mString":{"a":null}})",
     R"(field "mString["a"]": null is not a valid map value)"},
    {"WrongTypeInArray", R"({"rNested":[{},1]})",
     R"(field "rNested[1]": expected object for persist.test.v1.Nested, got number)"},
    {"ArrayForScalar", R"({"fInt32":[1]})", "expected int32, got array"},
    {"ScalarForArray", R"({"rInt32":1})",
     R"(field "rInt32": expected array, got number)"},
    {"BadIntMapKey", R"({"mInt32":{"x":"a"}})",
     R"(map key "x" is not a valid int32)"},
    {"BadBoolMapKey", R"({"mBool":{"yes":"a"}})",
     R"(map key "yes" is not a valid bool)"},
    {"DuplicateMapKey", R"({"mString":{"a":"1","a":"2"}})",
     "map key is given more than once"},
    {"TimestampMonth13", R"({"timestamp":"2023-13-01T00:00:00Z"})",
     "invalid timestamp"},
    {"TimestampFeb30", R"({"timestamp":"2023-02-30T00:00:00Z"})",
     "invalid timestamp"},
    {"TimestampNoZone", R"({"timestamp":"2023-01-01T00:00:00"})",
     "invalid timestamp"},
    {"TimestampYear0", R"({"timestamp":"0000-12-31T23:59:59Z"})",
     "invalid timestamp"},
    {"TimestampAfter9999", R"({"timestamp":"9999-12-31T23:59:59-01:00"})",
     "invalid timestamp"},
    {"TimestampTenDigits", R"({"timestamp":"1970-01-01T00:00:00.1234567890Z"})",
     "invalid timestamp"},
    {"TimestampNumber", R"({"timestamp":0})",
     "expected RFC 3339 timestamp string, got number"},
    {"DurationNoUnit", R"({"duration":"1"})", "invalid duration"},
    {"DurationTooLong", R"({"duration":"315576000001s"})", "invalid duration"},
    {"DurationSignOnly", R"({"duration":"-s"})", "invalid duration"},
    {"FieldMaskNumber", R"({"fieldMask":1})",
     "expected comma-separated FieldMask paths"},
    // Found by the fuzzer: "_" decoded to a path no encoding could write.
    {"FieldMaskUnderscore", R"({"fieldMask":"_.bC"})", "is not lowerCamelCase"},
    {"StructArray", R"({"structValue":[1]})",
     "expected object for google.protobuf.Struct"},
    {"ListValueObject", R"({"listValue":{}})",
     "expected array for google.protobuf.ListValue"},
    {"AnyWithoutType", R"({"any":{"id":1}})",
     "google.protobuf.Any needs \"@type\""},
    {"AnyUnknownType",
     R"({"any":{"@type":"type.googleapis.com/no.such.Type"}})",
     R"(holds type "no.such.Type", which the schema does not define)"},
    {"AnyMalformedUrl", R"({"any":{"@type":"nope"}})", "is malformed"},
    {"AnyTypeNotString", R"({"any":{"@type":1}})", "expected type URL string"},
    {"AnyUnknownMember",
     R"({"any":{"@type":"type.googleapis.com/persist.test.v1.Nested","idd":1}})",
     R"(unknown field "idd")"},
    {"DeepObjects", Nest(R"({"recursive":)", "}", 100, "{}"),
     "more than 100 levels deep"},
    {"DeepArrays", R"({"value":)" + Nest("[", "]", 100, "") + "}",
     "more than 100 levels deep"},
};

class JsonCodecBadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(JsonCodecBadInputTest, FailsWithClearErrorAndLeavesMessageEmpty) {
  const BadInput& input = GetParam();
  JsonCodec codec;
  AllTypes message;
  message.set_f_string("left over from before");
  absl::Status status = codec.Decode(input.json, &message);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(input.error));
  EXPECT_EQ(message.ByteSizeLong(), 0u) << message.DebugString();
}

INSTANTIATE_TEST_SUITE_P(All, JsonCodecBadInputTest,
                         ::testing::ValuesIn(kBadInputs),
                         [](const ::testing::TestParamInfo<BadInput>& info) {
                           return info.param.name;
                         });

TEST(JsonCodecLimitsTest, NestingUpToTheLimitIsAccepted) {
  JsonCodec codec;
  AllTypes message;
  EXPECT_TRUE(
      codec.Decode(Nest(R"({"recursive":)", "}", 99, "{}"), &message).ok());
  JsonCodecOptions options;
  options.max_depth = 5;
  JsonCodec shallow(options);
  EXPECT_FALSE(
      shallow.Decode(Nest(R"({"recursive":)", "}", 5, "{}"), &message).ok());
}

// Values that have no JSON form: Encode fails, names the field, and leaves
// the output as it was.
TEST(JsonCodecEncodeErrorsTest, ValuesWithoutJsonFormAreRefused) {
  struct Case {
    const char* name;
    AllTypes message;
    const char* error;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, const char* error) -> AllTypes& {
    cases.push_back({name, AllTypes(), error});
    return cases.back().message;
  };
  add("InvalidUtf8", R"(field "fString": string is not valid UTF-8)")
      .set_f_string("\xff");
  add("InvalidUtf8InMapKey", "map key is not valid UTF-8")
      .mutable_m_string()
      ->insert({"\xc3", "v"});
  add("TimestampTooLate",
      R"(field "timestamp": timestamp {seconds: 253402300800)")
      .mutable_timestamp()
      ->set_seconds(253402300800);
  add("TimestampNegativeNanos", "timestamp").mutable_timestamp()->set_nanos(-1);
  add("DurationMixedSigns",
      R"(field "duration": duration {seconds: 1, nanos: -1})")
      .mutable_duration()
      ->set_seconds(1);
  cases.back().message.mutable_duration()->set_nanos(-1);
  add("ValueWithoutKind",
      R"(field "value": google.protobuf.Value has no kind set)")
      .mutable_value();
  add("ValueNaN", "NaN or an infinity")
      .mutable_value()
      ->set_number_value(std::numeric_limits<double>::quiet_NaN());
  add("FieldMaskUpperCase", R"(FieldMask path "fooBar" has no lowerCamelCase)")
      .mutable_field_mask()
      ->add_paths("fooBar");
  add("AnyUnknownType", R"(field "any": google.protobuf.Any holds type "x.Y")")
      .mutable_any()
      ->set_type_url("type.googleapis.com/x.Y");
  add("AnyBadBytes", "holds bytes that do not parse")
      .mutable_any()
      ->set_type_url("type.googleapis.com/persist.test.v1.Nested");
  cases.back().message.mutable_any()->set_value("\xff\xff\xff");

  JsonCodec codec;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string out = "kept";
    absl::Status status = codec.Encode(c.message, &out);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.error));
    EXPECT_EQ(out, "kept");
  }
}

TEST(JsonCodecEncodeErrorsTest, TooDeepMessageIsRefusedNotOverflowed) {
  AllTypes message;
  AllTypes* level = &message;
  for (int i = 0; i < 200; ++i) level = level->mutable_recursive();
  JsonCodec codec;
  absl::StatusOr<std::string> json = codec.Encode(message);
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(json.status().message()),
              HasSubstr("nests more than 100 levels"));
}

}  // namespace
}  // namespace persist
