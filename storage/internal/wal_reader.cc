#include "storage/internal/wal_reader.h"

#include <cstring>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
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
  return line.size() >= 3 &&
         (line[0] == 'S' || line[0] == 'D' || line[0] == 'E') && line[1] == ' ';
}

bool IsBatchLine(absl::string_view line) {
  return line.size() >= 3 && line[0] == 'B' && line[1] == ' ';
}

bool IsCommitLine(absl::string_view line) {
  return line.size() >= 3 && line[0] == 'C' && line[1] == ' ';
}

// What reading at one position found.
struct Step {
  enum class Kind { kRecord, kBatch, kCommit, kTorn, kDamaged };
  Kind kind = Kind::kTorn;
  WalRecord record{};        // kRecord
  int64_t batch_count = 0;   // kBatch
  uint64_t commit_seq = 0;   // kCommit
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

// A two-line frame record: "<letter> <number>\n\n" (the batch header and the
// commit record, wal_format.h).
struct FrameRecord {
  Step::Kind kind;
  const char* name;         // "the batch header", "the commit record"
  const char* number_name;  // "a record count", "a log entry number"
  size_t max_digits;
  uint64_t min;
  uint64_t max;
};

constexpr FrameRecord kBatchHeader{Step::Kind::kBatch,
                                   "the batch header",
                                   "a record count",
                                   7,
                                   1,
                                   static_cast<uint64_t>(kMaxBatchRecords)};
constexpr FrameRecord kCommitRecord{
    Step::Kind::kCommit, "the commit record", "a log entry number", 20, 1,
    UINT64_MAX};

// Reads the frame record `frame` whose first line starts at `pos` and ends at
// `nl1`.
Step ReadFrameRecord(const FrameRecord& frame, absl::string_view contents,
                     size_t pos, size_t nl1, int64_t line) {
  const absl::string_view first_line = contents.substr(pos, nl1 - pos);
  const absl::string_view digits = first_line.substr(2);
  uint64_t number = 0;
  if (digits.size() > frame.max_digits ||
      !absl::c_all_of(digits, absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &number) || number < frame.min ||
      number > frame.max) {
    const std::string range =
        frame.max == UINT64_MAX
            ? absl::StrCat(" (", frame.min, " or more)")
            : absl::StrCat(" from ", frame.min, " to ", frame.max);
    return Damaged(line,
                   absl::StrCat(frame.name, " ", Quote(first_line),
                                " does not give ", frame.number_name, range),
                   nl1 + 1, 1);
  }
  const size_t nl2 = FindNewline(contents, nl1 + 1);
  if (nl2 == absl::string_view::npos) return Step{};  // its second line cut
  if (nl2 != nl1 + 1) {
    return Damaged(line + 1,
                   absl::StrCat(frame.name, " ", Quote(first_line),
                                " must be followed by an empty line, found ",
                                Quote(contents.substr(nl1 + 1, nl2 - nl1 - 1))),
                   nl2 + 1, 2);
  }
  Step step;
  step.kind = frame.kind;
  if (frame.kind == Step::Kind::kBatch) {
    step.batch_count = static_cast<int64_t>(number);
  } else {
    step.commit_seq = number;
  }
  step.next = nl2 + 1;
  step.lines = 2;
  return step;
}

// Reads the record, batch header or commit starting at `pos`, which is on line
// `line`.
Step ReadRecord(absl::string_view contents, size_t pos, int64_t line) {
  const size_t nl1 = FindNewline(contents, pos);
  if (nl1 == absl::string_view::npos) return Step{};  // record line cut
  const absl::string_view record_line = contents.substr(pos, nl1 - pos);
  if (IsBatchLine(record_line)) {
    return ReadFrameRecord(kBatchHeader, contents, pos, nl1, line);
  }
  if (IsCommitLine(record_line)) {
    return ReadFrameRecord(kCommitRecord, contents, pos, nl1, line);
  }
  if (!IsRecordLine(record_line)) {
    // Skip this one line and look for a record on the next.
    return Damaged(line,
                   absl::StrCat("expected a record line \"S <map>:<key>\", "
                                "\"D <map>:<key>\", \"E <map>:<key>\", "
                                "\"B <count>\" or \"C <seq>\", found ",
                                Quote(record_line)),
                   nl1 + 1, 1);
  }
  const absl::string_view record_key = record_line.substr(2);
  const size_t nl2 = FindNewline(contents, nl1 + 1);
  if (nl2 == absl::string_view::npos) return Step{};  // value line cut
  const absl::string_view value = contents.substr(nl1 + 1, nl2 - nl1 - 1);
  const char op = record_line[0];
  const bool set = op == 'S';
  // JSON and times never start with "S ", "D ", "E ", "B " or "C ": the
  // value line is missing and this is the next record, which must not be
  // lost with this one.
  if (IsRecordLine(value) || IsBatchLine(value) || IsCommitLine(value)) {
    return Damaged(line + 1,
                   absl::StrCat("the record for ", Quote(record_key),
                                " has no value line (line ", line + 1,
                                " is the next record)"),
                   nl1 + 1, 1);
  }
  if (op != 'D' && value.empty()) {
    return Damaged(
        line + 1,
        absl::StrCat(set ? "the set record for " : "the expiry record for ",
                     Quote(record_key), " has an empty value line"),
        nl2 + 1, 2);
  }
  if (op == 'D' && !value.empty()) {
    return Damaged(line + 1,
                   absl::StrCat("the delete record for ", Quote(record_key),
                                " must be followed by an empty line, found ",
                                Quote(value)),
                   nl2 + 1, 2);
  }
  Step step;
  step.kind = Step::Kind::kRecord;
  WalRecord& record = step.record;
  record.kind = set         ? RecordKind::kSet
                : op == 'D' ? RecordKind::kDelete
                            : RecordKind::kExpire;
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
  // The batch being read, and how many of its lines are still to come.
  // Counted in lines, not steps: a damaged record may be one damaged step
  // or two, and its lines are the batch's all the same. A record that
  // straddles the end of a damaged batch goes with it.
  int64_t open_batch = -1;
  int64_t batch_lines_left = 0;
  auto damage_batch = [&](int64_t damage_line, uint64_t damage_offset) {
    if (open_batch < 0 || scan.batches[open_batch].damaged) return;
    scan.batches[open_batch].damaged = true;
    scan.batches[open_batch].damage_line = damage_line;
    scan.batches[open_batch].damage_offset = damage_offset;
  };
  // A batch ends with its last record, or with a step that takes its place.
  auto count_in_batch = [&](int64_t lines) {
    if (open_batch < 0) return;
    batch_lines_left -= lines;
    if (batch_lines_left <= 0) open_batch = -1;
  };
  while (pos < contents.size()) {
    Step step = ReadRecord(contents, pos, line);
    if (step.kind == Step::Kind::kTorn) break;
    switch (step.kind) {
      case Step::Kind::kRecord:
        step.record.batch = open_batch;
        if (step.record.kind == RecordKind::kExpire) ++scan.expiry_records;
        scan.records.push_back(step.record);
        count_in_batch(step.lines);
        break;
      case Step::Kind::kBatch:
        if (open_batch >= 0) {
          const WalBatch& open = scan.batches[open_batch];
          scan.problems.push_back(
              {line, pos,
               absl::StrCat("a batch header inside the batch of ", open.count,
                            " records that line ", open.line, " opened (",
                            open.count - batch_lines_left / 2,
                            " of its records came before it)"),
               -1});
          damage_batch(line, pos);
        }
        open_batch = static_cast<int64_t>(scan.batches.size());
        batch_lines_left = 2 * step.batch_count;
        scan.batches.push_back({line, pos, step.batch_count,
                                static_cast<int64_t>(scan.records.size())});
        break;
      case Step::Kind::kCommit:
        if (open_batch >= 0) {
          // An entry ends after its records, never inside a frame: this
          // is damage (and the batch with it), not a commit.
          const WalBatch& open = scan.batches[open_batch];
          scan.problems.push_back(
              {line, pos,
               absl::StrCat("a commit record inside the batch of ", open.count,
                            " records that line ", open.line, " opened"),
               -1});
          damage_batch(line, pos);
          count_in_batch(step.lines);
        } else if (!scan.commits.empty() &&
                   step.commit_seq != scan.commits.back().seq + 1) {
          scan.problems.push_back(
              {line, pos,
               absl::StrCat("the commit record of log entry ", step.commit_seq,
                            " follows the one of entry ",
                            scan.commits.back().seq, " (line ",
                            scan.commits.back().line,
                            "): entries are committed one after another, so "
                            "the file is not one replica's history"),
               -1});
        } else {
          scan.commits.push_back({line, pos, step.commit_seq});
        }
        break;
      case Step::Kind::kDamaged:
        scan.problems.push_back(
            {step.damaged_line, pos, std::move(step.reason), -1});
        damage_batch(step.damaged_line, pos);
        count_in_batch(step.lines);
        break;
      case Step::Kind::kTorn:
        break;
    }
    pos = step.next;
    line += step.lines;
  }
  // The file ends inside a batch. Damaged, it stays damaged (its records
  // are dropped by recovery, or refuse the file): the damage is not the
  // trace of one interrupted append. Else the batch is torn, from its
  // header on.
  if (open_batch >= 0 && !scan.batches[open_batch].damaged) {
    const WalBatch torn = scan.batches[open_batch];
    pos = torn.offset;
    scan.torn_batch_records =
        static_cast<int64_t>(scan.records.size()) - torn.first_record;
    for (size_t i = torn.first_record; i < scan.records.size(); ++i) {
      if (scan.records[i].kind == RecordKind::kExpire) --scan.expiry_records;
    }
    scan.records.resize(torn.first_record);
    scan.batches.pop_back();
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
