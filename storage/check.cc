#include "storage/check.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "storage/internal/go_persist_compat.h"
#include "storage/internal/shrinker.h"
#include "storage/internal/wal_format.h"
#include "storage/internal/wal_loader.h"

namespace persist {
namespace {

// Collects, from the decoding threads, the records go-persist cannot read.
class GoPersistFindings {
 public:
  void Inspect(const WalRecord& record,
               const google::protobuf::Message& value) {
    const std::string where = FindNonFiniteNumber(value);
    if (where.empty()) return;
    CheckFinding finding;
    finding.line = record.line + 1;
    finding.offset = record.value_offset();
    finding.reason = absl::StrCat(
        "map \"", record.map, "\" key \"",
        absl::CHexEscape(record.key.substr(0, 200)), "\": ", where,
        ", which proto3 JSON writes as a string; go-persist's decoder "
        "refuses it, so go-persist cannot open this file");
    MutexLock lock(&mu_);
    findings_.push_back(std::move(finding));
  }

  std::vector<CheckFinding> Take() {
    MutexLock lock(&mu_);
    std::sort(findings_.begin(), findings_.end(),
              [](const CheckFinding& a, const CheckFinding& b) {
                return a.offset < b.offset;
              });
    return std::move(findings_);
  }

 private:
  Mutex mu_;
  std::vector<CheckFinding> findings_ ABSL_GUARDED_BY(mu_);
};

// A file that is not a WAL at all fails to load with FailedPrecondition;
// for a check that is a verdict, not an error.
bool IsNotAWal(const absl::Status& status) {
  return absl::IsFailedPrecondition(status);
}

}  // namespace

absl::StatusOr<CheckReport> CheckStore(const StoreOptions& options) {
  PERSIST_RETURN_IF_ERROR(ValidateStoreOptions(options));
  FileSystem* const fs = FileSystemOf(options);
  CheckReport report;
  report.leftover_shrink_file =
      fs->FileSize(Shrinker::TempPath(options.path)).ok();
  GoPersistFindings go_persist;
  absl::StatusOr<WalLoad> load =
      LoadWal(options, fs, /*all_problems=*/true,
              [&go_persist](const WalRecord& record,
                            const google::protobuf::Message& value) {
                go_persist.Inspect(record, value);
              });
  if (!load.ok()) {
    if (!IsNotAWal(load.status())) return load.status();
    report.exists = true;
    report.verdict = load.status();
    return report;
  }
  const Recovered& recovered = load->recovered;
  report.verdict = OpenVerdict(options, recovered.problems);
  report.exists = load->existed;
  report.file_bytes = load->contents ? load->contents->data().size() : 0;
  report.torn_tail_bytes = recovered.scan.torn_bytes;
  report.commit_seq = recovered.scan.last_commit_seq();
  report.records = static_cast<int64_t>(recovered.scan.records.size()) -
                   recovered.scan.expiry_records;
  for (size_t i = 0; i < load->maps.size(); ++i) {
    report.maps.push_back({options.maps[i].name,
                           load->maps[i].type->full_name(),
                           load->maps[i].entries->size()});
  }
  std::sort(
      report.maps.begin(), report.maps.end(),
      [](const MapStats& a, const MapStats& b) { return a.name < b.name; });
  for (const auto& [map, keys] : load->orphans.KeysByMap()) {
    report.orphan_keys[map] = keys;
  }
  for (const WalProblem& problem : recovered.problems) {
    report.damaged.push_back({problem.line, problem.offset, problem.reason});
  }
  report.go_persist_unreadable = go_persist.Take();
  report.ignored_unknown_fields = recovered.ignored_unknown_fields;
  return report;
}

absl::StatusOr<RepairReport> RepairStore(const StoreOptions& options,
                                         const std::string& out) {
  PERSIST_RETURN_IF_ERROR(ValidateStoreOptions(options));
  if (out == options.path) {
    return absl::InvalidArgumentError(
        "repair never rewrites its input; give the repaired copy another "
        "path");
  }
  FileSystem* const fs = FileSystemOf(options);
  if (fs->FileSize(out).ok()) {
    return absl::AlreadyExistsError(absl::StrCat(
        out, " exists; repair writes a new file only (remove it first)"));
  }
  PERSIST_ASSIGN_OR_RETURN(WalLoad load,
                           LoadWal(options, fs, /*all_problems=*/true));
  if (!load.existed) {
    return absl::NotFoundError(
        absl::StrCat(options.path, " does not exist: nothing to repair"));
  }
  const Recovered& recovered = load.recovered;
  const std::vector<WalRecord>& records = recovered.scan.records;
  const bool keep_all = options.recovery == RecoveryMode::kSkipCorrupt;
  const uint64_t stop = keep_all || recovered.problems.empty()
                            ? UINT64_MAX
                            : recovered.problems.front().offset;
  absl::flat_hash_set<int64_t> damaged;
  for (const WalProblem& problem : recovered.problems) {
    if (problem.record >= 0) damaged.insert(problem.record);
  }
  RepairReport report;
  std::string text(kWalHeader);
  const absl::string_view bytes = load.contents->data();
  // Commit records are kept where they stood, before the first damage: the
  // copy holds the commit log's entries up to the last one kept.
  const std::vector<WalCommit>& commits = recovered.scan.commits;
  size_t next_commit = 0;
  auto copy_commits_before = [&](uint64_t offset) {
    for (; next_commit < commits.size() &&
           commits[next_commit].offset < std::min(offset, stop);
         ++next_commit) {
      AppendCommitRecord(commits[next_commit].seq, &text);
    }
  };
  for (size_t i = 0; i < records.size(); ++i) {
    const WalRecord& record = records[i];
    copy_commits_before(record.offset);
    // Expiry records are copied or dropped with the others, but not
    // counted: they are no changes (wal_format.h).
    const bool counts = record.kind != RecordKind::kExpire;
    if (record.offset >= stop || damaged.contains(static_cast<int64_t>(i))) {
      if (counts) ++report.records_dropped;
      continue;
    }
    text.append(bytes.data() + record.offset, record.size);
    if (counts) ++report.records_kept;
  }
  copy_commits_before(UINT64_MAX);
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                           // With the damaged file's permissions.
                           fs->CreateEmpty(out, options.path));
  PERSIST_RETURN_IF_ERROR(file->Append(text));
  PERSIST_RETURN_IF_ERROR(file->Sync());
  PERSIST_RETURN_IF_ERROR(file->Close());
  PERSIST_RETURN_IF_ERROR(fs->SyncDir(DirName(out)));
  report.bytes_written = text.size();

  StoreOptions copy = options;
  copy.path = out;
  copy.recovery = RecoveryMode::kStrict;
  PERSIST_ASSIGN_OR_RETURN(const CheckReport checked, CheckStore(copy));
  if (!checked.verdict.ok()) {
    return absl::InternalError(
        absl::StrCat("the repaired copy ", out,
                     " would not open: ", checked.verdict.message()));
  }
  return report;
}

}  // namespace persist
