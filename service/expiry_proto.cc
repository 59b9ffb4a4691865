#include "service/expiry_proto.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace persist::service {
namespace {

// google.protobuf.Timestamp's range: 0001-01-01 to 9999-12-31.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// google.protobuf.Duration's: about 10,000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;

absl::StatusOr<absl::Time> ExpiryOfTtl(const google::protobuf::Duration& ttl,
                                       absl::Time now) {
  const bool in_range = ttl.seconds() >= -kMaxDurationSeconds &&
                        ttl.seconds() <= kMaxDurationSeconds &&
                        ttl.nanos() > -1000000000 && ttl.nanos() < 1000000000;
  const absl::Duration duration =
      absl::Seconds(ttl.seconds()) + absl::Nanoseconds(ttl.nanos());
  if (!in_range || duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ttl is ", ttl.seconds(), "s ", ttl.nanos(),
        "ns; it must be positive (a value that never expires has no ttl)"));
  }
  return now + duration;
}

absl::StatusOr<absl::Time> ExpiryOfTime(
    const google::protobuf::Timestamp& time) {
  if (time.seconds() < kMinTimestampSeconds ||
      time.seconds() > kMaxTimestampSeconds || time.nanos() < 0 ||
      time.nanos() > 999999999) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expire_time is ", time.seconds(), "s ", time.nanos(),
        "ns after the Unix epoch, not a valid google.protobuf.Timestamp"));
  }
  return absl::FromUnixSeconds(time.seconds()) +
         absl::Nanoseconds(time.nanos());
}

// The latest expiry the engine keeps (nanoseconds since the Unix epoch in
// 64 bits): 2262-04-11.
absl::Status CheckWithinRange(absl::Time expires) {
  if (expires <= absl::FromUnixNanos(std::numeric_limits<int64_t>::max())) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "the expiry ", absl::FormatTime(expires, absl::UTCTimeZone()),
      " is after 2262-04-11, the latest persist keeps; a value that never "
      "expires has no ttl or expire_time"));
}

// What a request's oneof gives, `ttl` and `time` being its fields if set.
absl::Status SetExpiry(const google::protobuf::Duration* ttl,
                       const google::protobuf::Timestamp* time, absl::Time now,
                       WriteOptions* options) {
  absl::StatusOr<absl::Time> expires = absl::InfiniteFuture();
  if (ttl != nullptr) expires = ExpiryOfTtl(*ttl, now);
  if (time != nullptr) expires = ExpiryOfTime(*time);
  if (!expires.ok()) return expires.status();
  if (ttl != nullptr || time != nullptr) {
    PERSIST_RETURN_IF_ERROR(CheckWithinRange(*expires));
  }
  options->expires = *expires;
  return absl::OkStatus();
}

}  // namespace

absl::Status ExpiryFromProto(const v1::SetRequest& set, absl::Time now,
                             WriteOptions* options) {
  return SetExpiry(set.has_ttl() ? &set.ttl() : nullptr,
                   set.has_expire_time() ? &set.expire_time() : nullptr, now,
                   options);
}

absl::Status ExpiryFromProto(const v1::UpdateRequest& update, absl::Time now,
                             WriteOptions* options) {
  options->keep_expiry = !update.has_ttl() && !update.has_expire_time();
  return SetExpiry(update.has_ttl() ? &update.ttl() : nullptr,
                   update.has_expire_time() ? &update.expire_time() : nullptr,
                   now, options);
}

void ExpiryToProto(absl::Time expires, google::protobuf::Timestamp* time) {
  const int64_t nanos = absl::ToUnixNanos(expires);
  time->set_seconds(nanos / 1000000000);
  time->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

}  // namespace persist::service
