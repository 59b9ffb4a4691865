#include "json/internal/json_time.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace persist {
namespace {

constexpr int64_t kTimestampMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kTimestampMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
constexpr int64_t kDurationMaxSeconds = 315576000000;
constexpr int32_t kNanosPerSecond = 1000000000;

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
// Hinnant's algorithms, exact over the whole Timestamp range).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeapYear(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// ".021", ".000021", ".000000021" or nothing: as many digits as needed, in
// groups of three, the form protobuf writes.
void AppendFraction(int32_t nanos, std::string* out) {
  if (nanos == 0) return;
  char buf[16];
  if (nanos % 1000000 == 0) {
    std::snprintf(buf, sizeof(buf), ".%03d", nanos / 1000000);
  } else if (nanos % 1000 == 0) {
    std::snprintf(buf, sizeof(buf), ".%06d", nanos / 1000);
  } else {
    std::snprintf(buf, sizeof(buf), ".%09d", nanos);
  }
  out->append(buf);
}

// Reads exactly `n` decimal digits at `*pos`.
bool ReadDigits(absl::string_view text, size_t* pos, int n, int64_t* value) {
  if (*pos + n > text.size()) return false;
  int64_t v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *value = v;
  return true;
}

bool ReadChar(absl::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// Reads an optional ".d{1,9}" at `*pos` as nanoseconds.
bool ReadFraction(absl::string_view text, size_t* pos, int32_t* nanos) {
  *nanos = 0;
  if (!ReadChar(text, pos, '.')) return true;
  int digits = 0;
  int32_t value = 0;
  while (*pos < text.size() && text[*pos] >= '0' && text[*pos] <= '9') {
    if (++digits > 9) return false;
    value = value * 10 + (text[*pos] - '0');
    ++*pos;
  }
  if (digits == 0) return false;
  for (int i = digits; i < 9; ++i) value *= 10;
  *nanos = value;
  return true;
}

absl::Status BadTimestamp(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid timestamp \"", text,
      "\": expected RFC 3339 such as \"1972-01-01T10:00:20.021Z\" between "
      "0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z"));
}

absl::Status BadDuration(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid duration \"", text,
      "\": expected seconds with up to 9 fractional digits and a trailing "
      "\"s\", such as \"1.5s\", at most 315576000000s either way"));
}

}  // namespace

absl::Status AppendTimestamp(int64_t seconds, int32_t nanos, std::string* out) {
  if (seconds < kTimestampMinSeconds || seconds > kTimestampMaxSeconds ||
      nanos < 0 || nanos >= kNanosPerSecond) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timestamp {seconds: ", seconds, ", nanos: ", nanos,
        "} is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z"
        " and has no JSON form"));
  }
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d",
                static_cast<int>(year), month, day,
                static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                static_cast<int>(rest % 60));
  out->append(buf);
  AppendFraction(nanos, out);
  out->push_back('Z');
  return absl::OkStatus();
}

absl::Status ParseTimestamp(absl::string_view text, int64_t* seconds,
                            int32_t* nanos) {
  size_t pos = 0;
  int64_t year, month, day, hour, minute, second;
  if (!ReadDigits(text, &pos, 4, &year) || !ReadChar(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !ReadChar(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day) ||
      // Upper case only, as protobuf reads them (RFC 3339 allows 't' and
      // 'z'; protobuf's parser and its conformance tests refuse them).
      !ReadChar(text, &pos, 'T') || !ReadDigits(text, &pos, 2, &hour) ||
      !ReadChar(text, &pos, ':') || !ReadDigits(text, &pos, 2, &minute) ||
      !ReadChar(text, &pos, ':') || !ReadDigits(text, &pos, 2, &second) ||
      !ReadFraction(text, &pos, nanos)) {
    return BadTimestamp(text);
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, static_cast<unsigned>(month)) || hour > 23 ||
      minute > 59 || second > 59) {
    return BadTimestamp(text);
  }
  int64_t offset = 0;
  if (ReadChar(text, &pos, 'Z')) {
    offset = 0;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t off_hour, off_minute;
    if (!ReadDigits(text, &pos, 2, &off_hour) || !ReadChar(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &off_minute) || off_hour > 23 ||
        off_minute > 59) {
      return BadTimestamp(text);
    }
    offset = sign * (off_hour * 3600 + off_minute * 60);
  } else {
    return BadTimestamp(text);
  }
  if (pos != text.size()) return BadTimestamp(text);
  *seconds = DaysFromCivil(year, static_cast<unsigned>(month),
                           static_cast<unsigned>(day)) *
                 86400 +
             hour * 3600 + minute * 60 + second - offset;
  if (*seconds < kTimestampMinSeconds || *seconds > kTimestampMaxSeconds) {
    return BadTimestamp(text);
  }
  return absl::OkStatus();
}

absl::Status AppendDuration(int64_t seconds, int32_t nanos, std::string* out) {
  if (seconds < -kDurationMaxSeconds || seconds > kDurationMaxSeconds ||
      nanos <= -kNanosPerSecond || nanos >= kNanosPerSecond ||
      (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "duration {seconds: ", seconds, ", nanos: ", nanos,
        "} is out of range (at most 315576000000s either way, nanos with the "
        "sign of seconds) and has no JSON form"));
  }
  if (seconds < 0 || nanos < 0) out->push_back('-');
  absl::StrAppend(out, seconds < 0 ? -seconds : seconds);
  AppendFraction(nanos < 0 ? -nanos : nanos, out);
  out->push_back('s');
  return absl::OkStatus();
}

absl::Status ParseDuration(absl::string_view text, int64_t* seconds,
                           int32_t* nanos) {
  size_t pos = 0;
  const bool negative = ReadChar(text, &pos, '-');
  int64_t whole = 0;
  int digits = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (++digits > 12) return BadDuration(text);
    whole = whole * 10 + (text[pos] - '0');
    ++pos;
  }
  int32_t fraction;
  if (digits == 0 || !ReadFraction(text, &pos, &fraction) ||
      !ReadChar(text, &pos, 's') || pos != text.size() ||
      whole > kDurationMaxSeconds) {
    return BadDuration(text);
  }
  *seconds = negative ? -whole : whole;
  *nanos = negative ? -fraction : fraction;
  return absl::OkStatus();
}

absl::Status ParseGoDuration(absl::string_view text, int64_t* seconds,
                             int32_t* nanos) {
  absl::Duration duration;
  // abseil's parser also takes "0", "inf" and "-inf": a Duration holds
  // neither infinity.
  if (!absl::ParseDuration(text, &duration) ||
      duration == absl::InfiniteDuration() ||
      duration == -absl::InfiniteDuration() ||
      absl::AbsDuration(duration) >= absl::Seconds(kDurationMaxSeconds + 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is not a duration such as \"1.5s\", \"500ms\" or \"2m30s\""));
  }
  absl::Duration rest;
  *seconds = absl::IDivDuration(duration, absl::Seconds(1), &rest);
  // The remainder has the sign of the whole, as Duration's nanos must.
  *nanos = static_cast<int32_t>(absl::ToInt64Nanoseconds(rest));
  return absl::OkStatus();
}

}  // namespace persist
