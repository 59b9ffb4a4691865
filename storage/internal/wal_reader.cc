#include "storage/internal/wal_reader.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace persist {
namespace {

constexpr size_t kQuoteLimit = 80;  // bytes of a bad line shown in errors

size_t FindNewline(absl::string_view contents, size_t from) {
  if (from >= contents.size()) return absl::string_view::npos;
  const void* nl =
      std::memchr(contents.data() + from, '\n', contents.size() - from);
  if (nl == nullptr) return absl::string_view::npos;
  return static_cast<size_t>(static_cast<const char*>(nl) - contents.data());
}

std::string Quote(absl::string_view line) {
  std::string quoted =
      absl::StrCat("\"", absl::CHexEscape(line.substr(0, kQuoteLimit)), "\"");
  if (line.size() > kQuoteLimit) quoted += "...";
  return quoted;
}

absl::Status CorruptionError(absl::string_view path, int64_t line,
                             absl::string_view reason) {
  return absl::DataLossError(absl::StrCat(
      path, " line ", line, ": ", reason,
      ". The file is damaged before its last record, so persist refuses to "
      "open it rather than lose data. To open it anyway, skipping damaged "
      "records, use recovery mode skip_corrupt (skipped records stay in the "
      "file until the next Shrink)."));
}

// Checks "S <record key>" / "D <record key>"; returns a reason or "".
std::string CheckRecordLine(absl::string_view line) {
  if (line.size() < 3 || (line[0] != 'S' && line[0] != 'D') ||
      line[1] != ' ') {
    return absl::StrCat("expected a record line \"S <map>:<key>\" or \"D "
                        "<map>:<key>\", found ",
                        Quote(line));
  }
  return "";
}

}  // namespace

absl::StatusOr<WalScan> ScanWal(absl::string_view contents,
                                absl::string_view path, bool skip_corrupt) {
  WalScan scan;
  const size_t header_end = FindNewline(contents, 0);
  if (header_end == absl::string_view::npos) {
    // Empty, or cut inside the header while the file was being created.
    if (absl::string_view(kWalHeader).substr(0, contents.size()) ==
        contents) {
      scan.needs_header = true;
      scan.torn_bytes = contents.size();
      return scan;
    }
  }
  if (header_end == absl::string_view::npos ||
      contents.substr(0, header_end) != kWalHeaderLine) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is not a persist (go-persist) WAL: line 1 is ",
        Quote(contents.substr(0, std::min(header_end, contents.size()))),
        ", expected \"", kWalHeaderLine,
        "\". persist does not open or rewrite files it does not understand; "
        "check the data file path."));
  }

  size_t pos = header_end + 1;
  int64_t line = 2;
  auto skip_or_fail = [&](int64_t bad_line, std::string reason,
                          size_t resume_at) -> absl::Status {
    if (!skip_corrupt) return CorruptionError(path, bad_line, reason);
    scan.skipped.push_back({bad_line, pos, std::move(reason)});
    pos = resume_at;
    return absl::OkStatus();
  };
  while (pos < contents.size()) {
    const size_t nl1 = FindNewline(contents, pos);
    if (nl1 == absl::string_view::npos) break;  // torn: record line cut
    const absl::string_view record_line = contents.substr(pos, nl1 - pos);
    if (std::string reason = CheckRecordLine(record_line); !reason.empty()) {
      // Skip one line and look for the next record from there.
      if (absl::Status s = skip_or_fail(line, std::move(reason), nl1 + 1);
          !s.ok()) {
        return s;
      }
      line += 1;
      continue;
    }
    const size_t nl2 = FindNewline(contents, nl1 + 1);
    if (nl2 == absl::string_view::npos) break;  // torn: value line cut
    const absl::string_view value = contents.substr(nl1 + 1, nl2 - nl1 - 1);
    WalRecord record;
    record.kind = record_line[0] == 'S' ? RecordKind::kSet : RecordKind::kDelete;
    record.record_key = record_line.substr(2);
    record.line = line;
    record.offset = pos;
    // JSON never starts with "S " or "D ": the value line is missing and
    // this is the next record, which must not be lost with this one.
    if (CheckRecordLine(value).empty()) {
      if (absl::Status s = skip_or_fail(
              line + 1,
              absl::StrCat("the record for ", Quote(record.record_key),
                           " has no value line (line ", line + 1,
                           " is the next record)"),
              nl1 + 1);
          !s.ok()) {
        return s;
      }
      line += 1;
      continue;
    }
    if (record.kind == RecordKind::kSet && value.empty()) {
      if (absl::Status s = skip_or_fail(
              line + 1,
              absl::StrCat("the set record for ", Quote(record.record_key),
                           " has an empty value line"),
              nl2 + 1);
          !s.ok()) {
        return s;
      }
      line += 2;
      continue;
    }
    if (record.kind == RecordKind::kDelete && !value.empty()) {
      if (absl::Status s = skip_or_fail(
              line + 1,
              absl::StrCat("the delete record for ", Quote(record.record_key),
                           " must be followed by an empty line, found ",
                           Quote(value)),
              nl2 + 1);
          !s.ok()) {
        return s;
      }
      line += 2;
      continue;
    }
    const size_t colon = record.record_key.find(':');
    if (colon == absl::string_view::npos) {
      record.key = record.record_key;
    } else {
      record.map = record.record_key.substr(0, colon);
      record.key = record.record_key.substr(colon + 1);
    }
    record.json = value;
    scan.records.push_back(record);
    pos = nl2 + 1;
    line += 2;
  }
  scan.valid_bytes = pos;
  scan.torn_bytes = contents.size() - pos;
  return scan;
}

}  // namespace persist
