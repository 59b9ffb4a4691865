#include "storage/expiry.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace persist {
namespace {

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

const Clock& RealClock() {
  static const SystemClock* const clock = new SystemClock();
  return *clock;
}

int64_t ExpiryNanos(absl::Time expires) {
  if (expires == absl::InfiniteFuture()) return kNoExpiry;
  const int64_t nanos = absl::ToUnixNanos(expires);
  return nanos < 1 ? 1 : nanos;
}

absl::Time ExpiryTime(int64_t nanos) {
  return nanos == kNoExpiry ? absl::InfiniteFuture()
                            : absl::FromUnixNanos(nanos);
}

std::string FormatExpiry(int64_t nanos) {
  // RFC 3339 with "Z" for UTC, as Go's time.RFC3339Nano writes it.
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", absl::FromUnixNanos(nanos),
                          absl::UTCTimeZone());
}

absl::StatusOr<int64_t> ParseExpiry(absl::string_view text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the expiry \"", absl::CHexEscape(text.substr(0, 80)),
        "\" is not an RFC 3339 time such as 2026-12-03T15:04:05Z: ", error));
  }
  if (time == absl::InfiniteFuture() || time == absl::InfinitePast()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the expiry \"", absl::CHexEscape(text.substr(0, 80)),
                     "\" is not a finite time"));
  }
  return ExpiryNanos(time);
}

}  // namespace persist
