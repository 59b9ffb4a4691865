// Timestamp and Duration text forms, checked against abseil's time
// formatting over the whole Timestamp range.
#include "json/internal/json_time.h"

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace persist {
namespace {

TEST(JsonTimeTest, TimestampsAgreeWithAbseilAcrossTheWholeRange) {
  // Every 97 days plus a changing time of day, from 0001 to 9999: each one
  // written, compared with abseil's formatting, and read back.
  const int64_t min = -62135596800, max = 253402300799;
  int checked = 0;
  for (int64_t s = min; s <= max; s += 97 * 86400 + 3671) {
    std::string ours;
    ASSERT_TRUE(AppendTimestamp(s, 0, &ours).ok()) << s;
    EXPECT_EQ(ours,
              absl::FormatTime("%E4Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(s),
                               absl::UTCTimeZone()));
    int64_t seconds;
    int32_t nanos;
    ASSERT_TRUE(ParseTimestamp(ours, &seconds, &nanos).ok()) << ours;
    EXPECT_EQ(seconds, s) << ours;
    ++checked;
  }
  EXPECT_GT(checked, 30000);
}

TEST(JsonTimeTest, TimestampBoundsAndFractions) {
  std::string out;
  ASSERT_TRUE(AppendTimestamp(253402300799, 999999999, &out).ok());
  EXPECT_EQ(out, "9999-12-31T23:59:59.999999999Z");
  out.clear();
  ASSERT_TRUE(AppendTimestamp(-1, 10000000, &out).ok());
  EXPECT_EQ(out, "1969-12-31T23:59:59.010Z");
  EXPECT_FALSE(AppendTimestamp(253402300800, 0, &out).ok());
  EXPECT_FALSE(AppendTimestamp(-62135596801, 0, &out).ok());
  EXPECT_FALSE(AppendTimestamp(0, 1000000000, &out).ok());

  int64_t s;
  int32_t n;
  ASSERT_TRUE(ParseTimestamp("2024-02-29T12:00:00.1-05:30", &s, &n).ok());
  EXPECT_EQ(s, 1709227800);  // 2024-02-29T17:30:00Z
  EXPECT_EQ(n, 100000000);
  EXPECT_TRUE(ParseTimestamp("0001-01-01T00:00:00Z", &s, &n).ok());
  EXPECT_EQ(s, -62135596800);
  EXPECT_FALSE(ParseTimestamp("2023-02-29T00:00:00Z", &s, &n).ok());
  EXPECT_FALSE(ParseTimestamp("2024-01-01T24:00:00Z", &s, &n).ok());
  EXPECT_FALSE(ParseTimestamp("2024-01-01T00:00:60Z", &s, &n).ok());
  EXPECT_FALSE(ParseTimestamp("2024-01-01T00:00:00.Z", &s, &n).ok());
  EXPECT_FALSE(ParseTimestamp("2024-01-01T00:00:00Zjunk", &s, &n).ok());
  EXPECT_FALSE(ParseTimestamp("2024-01-01 00:00:00Z", &s, &n).ok());
  EXPECT_FALSE(ParseTimestamp("0001-01-01T00:00:00+00:01", &s, &n).ok());
}

TEST(JsonTimeTest, GoDurationsForConfigurationFiles) {
  int64_t s;
  int32_t n;
  ASSERT_TRUE(ParseGoDuration("500ms", &s, &n).ok());
  EXPECT_EQ(s, 0);
  EXPECT_EQ(n, 500000000);
  ASSERT_TRUE(ParseGoDuration("1m30.5s", &s, &n).ok());
  EXPECT_EQ(s, 90);
  EXPECT_EQ(n, 500000000);
  ASSERT_TRUE(ParseGoDuration("-1.5s", &s, &n).ok());
  EXPECT_EQ(s, -1);
  EXPECT_EQ(n, -500000000);
  ASSERT_TRUE(ParseGoDuration("0.5s", &s, &n).ok());
  EXPECT_EQ(n, 500000000);
  EXPECT_FALSE(ParseGoDuration("soon", &s, &n).ok());
  EXPECT_FALSE(ParseGoDuration("inf", &s, &n).ok());
  EXPECT_FALSE(ParseGoDuration("400000000000s", &s, &n).ok());
  EXPECT_FALSE(ParseGoDuration("", &s, &n).ok());
}

// RFC 3339 allows a lower-case 't' and 'z'; protobuf refuses them (two of
// its Required JSON conformance tests), and so must the codec.
TEST(JsonTimeTest, TimestampsRefuseLowerCaseTAndZ) {
  int64_t s;
  int32_t n;
  EXPECT_FALSE(ParseTimestamp("0001-01-01T00:00:00z", &s, &n).ok());
  EXPECT_FALSE(ParseTimestamp("0001-01-01t00:00:00Z", &s, &n).ok());
  EXPECT_FALSE(ParseTimestamp("2024-01-01t00:00:00z", &s, &n).ok());
  EXPECT_TRUE(ParseTimestamp("2024-01-01T00:00:00Z", &s, &n).ok());
}

TEST(JsonTimeTest, Durations) {
  std::string out;
  ASSERT_TRUE(AppendDuration(315576000000, 999999999, &out).ok());
  EXPECT_EQ(out, "315576000000.999999999s");
  out.clear();
  ASSERT_TRUE(AppendDuration(0, -1500000, &out).ok());
  EXPECT_EQ(out, "-0.001500s");
  out.clear();
  ASSERT_TRUE(AppendDuration(-3, 0, &out).ok());
  EXPECT_EQ(out, "-3s");
  EXPECT_FALSE(AppendDuration(315576000001, 0, &out).ok());
  EXPECT_FALSE(AppendDuration(-1, 1, &out).ok());

  int64_t s;
  int32_t n;
  ASSERT_TRUE(ParseDuration("-0.5s", &s, &n).ok());
  EXPECT_EQ(s, 0);
  EXPECT_EQ(n, -500000000);
  ASSERT_TRUE(ParseDuration("12.000000001s", &s, &n).ok());
  EXPECT_EQ(s, 12);
  EXPECT_EQ(n, 1);
  for (const char* bad :
       {"", "s", "1", "1.s", ".5s", "+1s", "1.0000000001s", "1e3s", " 1s",
        "1s ", "315576000001s", "1000000000000s"}) {
    EXPECT_FALSE(ParseDuration(bad, &s, &n).ok()) << bad;
  }
}

}  // namespace
}  // namespace persist
