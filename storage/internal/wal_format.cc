#include "storage/internal/wal_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace persist {

void AppendSetRecord(absl::string_view map, absl::string_view key,
                     absl::string_view json, std::string* out) {
  absl::StrAppend(out, "S ", map, ":", key, "\n", json, "\n");
}

void AppendDeleteRecord(absl::string_view map, absl::string_view key,
                        std::string* out) {
  absl::StrAppend(out, "D ", map, ":", key, "\n\n");
}

void AppendRecord(RecordKind kind, absl::string_view record_key,
                  absl::string_view json, std::string* out) {
  if (kind == RecordKind::kSet) {
    absl::StrAppend(out, "S ", record_key, "\n", json, "\n");
  } else {
    absl::StrAppend(out, "D ", record_key, "\n\n");
  }
}

void AppendBatchHeader(int64_t count, std::string* out) {
  absl::StrAppend(out, "B ", count, "\n\n");
}

int64_t CountWalRecords(absl::string_view records) {
  return static_cast<int64_t>(std::count(records.begin(), records.end(), '\n') /
                              2);
}

}  // namespace persist
