// Exact number conversions: integer limits, integral doubles, and shortest
// floating-point forms that read back to the same bits.
#include "json/internal/json_numbers.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace persist {
namespace {

TEST(JsonNumbersTest, Int64AtTheLimitsAndBeyond) {
  int64_t v;
  EXPECT_EQ(ParseInt64("-9223372036854775808", &v), NumberParse::kOk);
  EXPECT_EQ(v, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ParseInt64("9223372036854775807", &v), NumberParse::kOk);
  EXPECT_EQ(v, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseInt64("9223372036854775808", &v), NumberParse::kOutOfRange);
  EXPECT_EQ(ParseInt64("-9223372036854775809", &v), NumberParse::kOutOfRange);
  EXPECT_EQ(ParseInt64("99999999999999999999999", &v),
            NumberParse::kOutOfRange);
  EXPECT_EQ(ParseInt64("1e3", &v), NumberParse::kOk);
  EXPECT_EQ(v, 1000);
  EXPECT_EQ(ParseInt64("-2.0", &v), NumberParse::kOk);
  EXPECT_EQ(v, -2);
  EXPECT_EQ(ParseInt64("9.223372036854775807e18", &v),
            NumberParse::kOutOfRange);
  EXPECT_EQ(ParseInt64("1.5", &v), NumberParse::kNotInteger);
  for (const char* bad :
       {"", "-", "+1", " 1", "1 ", "0x10", "1e", "abc", "--1"}) {
    EXPECT_EQ(ParseInt64(bad, &v), NumberParse::kSyntax) << bad;
  }
}

TEST(JsonNumbersTest, Uint64AtTheLimitsAndBeyond) {
  uint64_t v;
  EXPECT_EQ(ParseUint64("18446744073709551615", &v), NumberParse::kOk);
  EXPECT_EQ(v, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(ParseUint64("18446744073709551616", &v), NumberParse::kOutOfRange);
  EXPECT_EQ(ParseUint64("-1", &v), NumberParse::kOutOfRange);
  EXPECT_EQ(ParseUint64("-0", &v), NumberParse::kOk);
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(ParseUint64("1.8446744073709552e19", &v), NumberParse::kOutOfRange);
}

TEST(JsonNumbersTest, JsonNumberGrammar) {
  for (const char* good : {"0", "-0", "1.5", "1e5", "1E+5", "-1.25e-3"}) {
    EXPECT_TRUE(IsJsonNumber(good)) << good;
  }
  for (const char* bad :
       {"", "01", "1.", ".5", "+1", "1e", "Infinity", "NaN", "0x1", "1_000"}) {
    EXPECT_FALSE(IsJsonNumber(bad)) << bad;
  }
}

TEST(JsonNumbersTest, DoublesRoundTripBitForBit) {
  std::mt19937_64 rng(7);
  char buf[kShortestNumberBufferSize];
  for (int i = 0; i < 200000; ++i) {
    const uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (!std::isfinite(d)) continue;
    const std::string text(buf, FormatDouble(d, buf));
    double back;
    ASSERT_EQ(ParseDouble(text, &back), NumberParse::kOk) << text;
    uint64_t back_bits;
    std::memcpy(&back_bits, &back, sizeof(back));
    ASSERT_EQ(back_bits, bits) << text;
  }
}

TEST(JsonNumbersTest, FloatsRoundTripBitForBitThroughDouble) {
  // Readers parse a float's text as a double and then narrow it; the
  // shortest float form must survive that double rounding.
  std::mt19937 rng(7);
  char buf[kShortestNumberBufferSize];
  for (int i = 0; i < 200000; ++i) {
    const uint32_t bits = static_cast<uint32_t>(rng());
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    if (!std::isfinite(f)) continue;
    const std::string text(buf, FormatFloat(f, buf));
    double back;
    ASSERT_EQ(ParseDouble(text, &back), NumberParse::kOk) << text;
    const float narrowed = static_cast<float>(back);
    uint32_t narrowed_bits;
    std::memcpy(&narrowed_bits, &narrowed, sizeof(narrowed));
    ASSERT_EQ(narrowed_bits, bits) << text;
  }
}

TEST(JsonNumbersTest, ShortestFormsAndNegativeZero) {
  char buf[kShortestNumberBufferSize];
  EXPECT_EQ(std::string(buf, FormatDouble(0.1, buf)), "0.1");
  EXPECT_EQ(std::string(buf, FormatFloat(0.1f, buf)), "0.1");
  EXPECT_EQ(std::string(buf, FormatDouble(100, buf)), "100");
  EXPECT_EQ(std::string(buf, FormatDouble(-0.0, buf)), "-0.0");
  EXPECT_EQ(std::string(buf, FormatFloat(-0.0f, buf)), "-0.0");
  double d;
  ASSERT_EQ(ParseDouble("-0", &d), NumberParse::kOk);
  EXPECT_TRUE(std::signbit(d));
  EXPECT_EQ(ParseDouble("1e400", &d), NumberParse::kOutOfRange);
}

}  // namespace
}  // namespace persist
