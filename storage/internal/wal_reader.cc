#include "storage/internal/wal_reader.h"

#include <cstring>

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

bool IsRecordLine(absl::string_view line) {
  return line.size() >= 3 && (line[0] == 'S' || line[0] == 'D') &&
         line[1] == ' ';
}

// What reading at one position found.
struct Step {
  enum class Kind { kRecord, kTorn, kDamaged };
  Kind kind = Kind::kTorn;
  WalRecord record{};        // kRecord
  int64_t damaged_line = 0;  // kDamaged: the line that is wrong
  std::string reason;        // kDamaged
  size_t next = 0;           // where reading goes on (kRecord, kDamaged)
  int64_t lines = 0;         // lines consumed (kRecord, kDamaged)
};

Step Damaged(int64_t line, std::string reason, size_t next, int64_t lines) {
  Step step;
  step.kind = Step::Kind::kDamaged;
  step.damaged_line = line;
  step.reason = std::move(reason);
  step.next = next;
  step.lines = lines;
  return step;
}

// Reads the record starting at `pos`, which is on line `line`.
Step ReadRecord(absl::string_view contents, size_t pos, int64_t line) {
  const size_t nl1 = FindNewline(contents, pos);
  if (nl1 == absl::string_view::npos) return Step{};  // record line cut
  const absl::string_view record_line = contents.substr(pos, nl1 - pos);
  if (!IsRecordLine(record_line)) {
    // Skip this one line and look for a record on the next.
    return Damaged(line,
                   absl::StrCat("expected a record line \"S <map>:<key>\" or "
                                "\"D <map>:<key>\", found ",
                                Quote(record_line)),
                   nl1 + 1, 1);
  }
  const absl::string_view record_key = record_line.substr(2);
  const size_t nl2 = FindNewline(contents, nl1 + 1);
  if (nl2 == absl::string_view::npos) return Step{};  // value line cut
  const absl::string_view value = contents.substr(nl1 + 1, nl2 - nl1 - 1);
  const bool set = record_line[0] == 'S';
  // JSON never starts with "S " or "D ": the value line is missing and
  // this is the next record, which must not be lost with this one.
  if (IsRecordLine(value)) {
    return Damaged(line + 1,
                   absl::StrCat("the record for ", Quote(record_key),
                                " has no value line (line ", line + 1,
                                " is the next record)"),
                   nl1 + 1, 1);
  }
  if (set && value.empty()) {
    return Damaged(line + 1,
                   absl::StrCat("the set record for ", Quote(record_key),
                                " has an empty value line"),
                   nl2 + 1, 2);
  }
  if (!set && !value.empty()) {
    return Damaged(line + 1,
                   absl::StrCat("the delete record for ", Quote(record_key),
                                " must be followed by an empty line, found ",
                                Quote(value)),
                   nl2 + 1, 2);
  }
  Step step;
  step.kind = Step::Kind::kRecord;
  WalRecord& record = step.record;
  record.kind = set ? RecordKind::kSet : RecordKind::kDelete;
  record.record_key = record_key;
  const size_t colon = record_key.find(':');
  if (colon == absl::string_view::npos) {
    record.map = kUntypedStoreMap;
    record.key = record_key;
  } else {
    record.map = record_key.substr(0, colon);
    record.key = record_key.substr(colon + 1);
  }
  record.json = value;
  record.line = line;
  record.offset = pos;
  record.size = nl2 + 1 - pos;
  step.next = nl2 + 1;
  step.lines = 2;
  return step;
}

}  // namespace

absl::StatusOr<WalScan> ScanWal(absl::string_view contents,
                                absl::string_view path) {
  WalScan scan;
  const size_t header_end = FindNewline(contents, 0);
  if (header_end == absl::string_view::npos &&
      absl::string_view(kWalHeader).substr(0, contents.size()) == contents) {
    // Empty, or cut inside the header while the file was being created.
    scan.needs_header = true;
    scan.torn_bytes = contents.size();
    return scan;
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
  while (pos < contents.size()) {
    Step step = ReadRecord(contents, pos, line);
    if (step.kind == Step::Kind::kTorn) break;
    if (step.kind == Step::Kind::kRecord) {
      scan.records.push_back(step.record);
    } else {
      scan.problems.push_back(
          {step.damaged_line, pos, std::move(step.reason), -1});
    }
    pos = step.next;
    line += step.lines;
  }
  scan.valid_bytes = pos;
  scan.torn_bytes = contents.size() - pos;
  return scan;
}

absl::Status CorruptionError(absl::string_view path,
                             const WalProblem& problem) {
  const absl::string_view advice =
      problem.record < 0
          ? "The file is damaged before its last record, so persist refuses "
            "to open it rather than lose data. To open it anyway, skipping "
            "damaged records, use recovery mode skip_corrupt (skipped "
            "records stay in the file until the next Shrink)."
          : "persist refuses to open a file it cannot fully read, so that "
            "nothing is lost. If the map's type changed, declare the type "
            "the file was written with (fields it no longer has can be "
            "skipped with ignore_unknown_fields); to skip damaged records, "
            "use recovery mode skip_corrupt.";
  return absl::DataLossError(absl::StrCat(path, " line ", problem.line, ": ",
                                          problem.reason, ". ", advice));
}

}  // namespace persist
