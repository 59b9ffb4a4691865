#include "storage/internal/wal_format.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/expiry.h"

namespace persist {

void AppendSetRecord(absl::string_view map, absl::string_view key,
                     absl::string_view json, std::string* out) {
  absl::StrAppend(out, "S ", map, ":", key, "\n", json, "\n");
}

void AppendDeleteRecord(absl::string_view map, absl::string_view key,
                        std::string* out) {
  absl::StrAppend(out, "D ", map, ":", key, "\n\n");
}

void AppendExpireRecord(absl::string_view map, absl::string_view key,
                        int64_t nanos, std::string* out) {
  absl::StrAppend(out, "E ", map, ":", key, "\n", FormatExpiry(nanos), "\n");
}

void AppendRecord(RecordKind kind, absl::string_view record_key,
                  absl::string_view json, std::string* out) {
  switch (kind) {
    case RecordKind::kSet:
      absl::StrAppend(out, "S ", record_key, "\n", json, "\n");
      return;
    case RecordKind::kDelete:
      absl::StrAppend(out, "D ", record_key, "\n\n");
      return;
    case RecordKind::kExpire:
      absl::StrAppend(out, "E ", record_key, "\n", json, "\n");
      return;
  }
}

void AppendBatchHeader(int64_t count, std::string* out) {
  absl::StrAppend(out, "B ", count, "\n\n");
}

void AppendCommitRecord(uint64_t seq, std::string* out) {
  absl::StrAppend(out, "C ", seq, "\n\n");
}

int64_t CountWalRecords(absl::string_view records) {
  int64_t count = 0;
  size_t at = 0;
  while (at < records.size()) {
    const size_t first_end = records.find('\n', at);
    if (first_end == absl::string_view::npos) break;
    const size_t second_end = records.find('\n', first_end + 1);
    if (second_end == absl::string_view::npos) break;
    // Batch headers, expiries and commits are two lines too, and no
    // changes.
    const absl::string_view rest = records.substr(at);
    if (!absl::StartsWith(rest, "B ") && !absl::StartsWith(rest, "E ") &&
        !absl::StartsWith(rest, "C ")) {
      ++count;
    }
    at = second_end + 1;
  }
  return count;
}

}  // namespace persist
