#include "replication/etcd_keys.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace persist::replication {
namespace {

// uint64_t's largest value has 20 digits.
constexpr int kSeqDigits = 20;

}  // namespace

EtcdKeys::EtcdKeys(absl::string_view prefix)
    : prefix_(absl::StripSuffix(prefix, "/")) {}

std::string EtcdKeys::Leader() const {
  return absl::StrCat(prefix_, "/leader");
}

std::string EtcdKeys::LogEntry(uint64_t seq) const {
  return absl::StrFormat("%s/log/%0*d", prefix_, kSeqDigits, seq);
}

// '0' follows '/' in ASCII: "<prefix>/log0" is the first key after every
// "<prefix>/log/...".
std::string EtcdKeys::LogEnd() const { return absl::StrCat(prefix_, "/log0"); }

std::optional<uint64_t> EtcdKeys::SeqOf(absl::string_view key) const {
  if (!absl::ConsumePrefix(&key, prefix_) ||
      !absl::ConsumePrefix(&key, "/log/") || key.size() != kSeqDigits) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  if (!absl::SimpleAtoi(key, &seq)) return std::nullopt;
  return seq;
}

std::string EtcdKeys::Member(absl::string_view name) const {
  return absl::StrCat(prefix_, "/members/", name);
}

}  // namespace persist::replication
