#include "storage/internal/wal_recovery.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "storage/expiry.h"
#include "storage/names.h"

namespace persist {
namespace {

using google::protobuf::Message;

constexpr size_t kRecordsPerThreadMin = 4096;

// One record to decode for a declared map.
struct Job {
  const RecoveryTarget* target = nullptr;  // null: not a declared map's
  const WalRecord* record = nullptr;
  int64_t index = 0;  // the problem's `record` if it fails
  // Dropped with its damaged batch: neither applied nor kept as an orphan.
  bool dropped = false;
  // Decoded already (the records of batches, by CheckBatches).
  bool decoded = false;
  std::shared_ptr<const Message> value;
  int64_t expires = kNoExpiry;  // of an expiry record, once decoded
};

// What decoding one job found: its value (null for a delete), or the
// problem.
struct Decoded {
  std::shared_ptr<const Message> value;
  int64_t expires = kNoExpiry;  // an expiry record's time
  std::optional<WalProblem> problem;
};

// Applies one record that decoded to its map.
void Apply(const Job& job, std::shared_ptr<const Message> value,
           int64_t expires) {
  if (job.record->kind == RecordKind::kExpire) {
    job.target->entries->RestoreExpiry(job.record->key, expires);
  } else {
    job.target->entries->Restore(job.record->key, std::move(value));
  }
}

// A problem of the record's first line (its key) or of its second (its
// value).
WalProblem RecordProblem(const Job& job, bool value_line,
                         absl::string_view reason) {
  const WalRecord& record = *job.record;
  return WalProblem{
      value_line ? record.line + 1 : record.line,
      value_line ? record.value_offset() : record.offset,
      absl::StrCat("map \"", job.target->entries->name(), "\" key \"",
                   absl::CHexEscape(job.record->key.substr(0, 200)),
                   "\": ", reason),
      job.index};
}

// Validates the key and decodes the value of one record.
Decoded DecodeOne(const Job& job, const RecoveryOptions& options,
                  int64_t* ignored_unknown_fields) {
  Decoded out;
  const WalRecord& record = *job.record;
  if (absl::Status status = ValidateKey(record.key); !status.ok()) {
    out.problem = RecordProblem(job, /*value_line=*/false, status.message());
    return out;
  }
  if (record.kind == RecordKind::kDelete) return out;
  if (record.kind == RecordKind::kExpire) {
    absl::StatusOr<int64_t> expires = ParseExpiry(record.json);
    if (!expires.ok()) {
      out.problem =
          RecordProblem(job, /*value_line=*/true, expires.status().message());
    } else {
      out.expires = *expires;
    }
    return out;
  }
  std::unique_ptr<Message> value(job.target->prototype->New());
  JsonDecodeStats stats;
  if (absl::Status status =
          options.codec->Decode(record.json, value.get(), &stats);
      !status.ok()) {
    out.problem =
        RecordProblem(job, /*value_line=*/true,
                      absl::StrCat("the value is not a valid ",
                                   value->GetDescriptor()->full_name(), ": ",
                                   status.message()));
    return out;
  }
  *ignored_unknown_fields += stats.ignored_unknown_fields;
  if (options.inspect) options.inspect(record, *value);
  out.value = std::move(value);
  return out;
}

// Which thread takes a key: always the same one for a key of a map.
size_t Partition(const Job& job, size_t threads) {
  const uint64_t hash = absl::Hash<absl::string_view>{}(job.record->key) ^
                        reinterpret_cast<uintptr_t>(job.target);
  return static_cast<size_t>((hash >> 32) % threads);
}

struct DecodeOutcome {
  std::vector<WalProblem> problems;  // in job order
  int64_t applied = 0;
  int64_t ignored_unknown_fields = 0;
  int threads = 1;  // that decoded
};

// Decodes and applies the jobs of declared maps on up to options.threads
// threads. Each key belongs to one thread, which takes its records in file
// order, so the last record of each key wins without a sequential pass.
// Without all_problems a thread stops at its first problem: the earliest
// problem of all is then still among those found.
DecodeOutcome DecodeAndApply(const std::vector<Job>& jobs,
                             const RecoveryOptions& options) {
  // Orphans' slots (no target) are not decoded: they do not count.
  const auto decoded_jobs = static_cast<size_t>(
      std::count_if(jobs.begin(), jobs.end(),
                    [](const Job& job) { return job.target != nullptr; }));
  const size_t threads =
      std::clamp<size_t>(decoded_jobs / kRecordsPerThreadMin, 1,
                         static_cast<size_t>(std::max(1, options.threads)));
  std::vector<DecodeOutcome> outcomes(threads);
  auto work = [&](size_t t) {
    DecodeOutcome& outcome = outcomes[t];
    for (const Job& job : jobs) {
      if (job.target == nullptr || job.dropped) continue;
      if (threads > 1 && Partition(job, threads) != t) continue;
      // Expiry records are no changes: not counted, as the WAL counts.
      const bool counts = job.record->kind != RecordKind::kExpire;
      if (job.decoded) {
        Apply(job, job.value, job.expires);
        if (counts) ++outcome.applied;
        continue;
      }
      Decoded decoded =
          DecodeOne(job, options, &outcome.ignored_unknown_fields);
      if (decoded.problem.has_value()) {
        outcome.problems.push_back(*std::move(decoded.problem));
        if (!options.all_problems) return;
        continue;
      }
      Apply(job, std::move(decoded.value), decoded.expires);
      if (counts) ++outcome.applied;
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work, t);
  work(0);
  for (std::thread& worker : workers) worker.join();

  DecodeOutcome all;
  all.threads = static_cast<int>(threads);
  for (DecodeOutcome& outcome : outcomes) {
    all.applied += outcome.applied;
    all.ignored_unknown_fields += outcome.ignored_unknown_fields;
    for (WalProblem& problem : outcome.problems) {
      all.problems.push_back(std::move(problem));
    }
  }
  return all;
}

// A batch is recovered whole or not at all (wal_format.h). Under strict
// recovery any damage refuses the file, so only the other modes (all
// problems wanted) come here: every record of a batch is decoded before any
// is applied, and a batch with damage anywhere is dropped, its records of
// undeclared maps with it. Each record dropped is a problem of its own, so
// that skip_corrupt counts it and repair leaves it out; it takes the place
// of its batch's first damage, after it (SortByPosition is stable), so that
// the first problem of a file is always damage, never a consequence.
void CheckBatches(const WalScan& scan, const RecoveryOptions& options,
                  std::vector<Job>* jobs, DecodeOutcome* outcome) {
  std::vector<WalBatch> batches = scan.batches;  // gains decoding's damage
  std::vector<bool> failed(jobs->size());
  for (size_t i = 0; i < jobs->size(); ++i) {
    Job& job = (*jobs)[i];
    const int64_t batch = scan.records[i].batch;
    if (batch < 0 || job.target == nullptr) continue;
    // Decoded even in a batch whose frame is damaged: a bad value before
    // that damage is the batch's first problem, as a strict open finds it.
    Decoded decoded = DecodeOne(job, options, &outcome->ignored_unknown_fields);
    if (decoded.problem.has_value()) {
      WalBatch& damaged = batches[batch];
      if (!damaged.damaged || decoded.problem->offset < damaged.damage_offset) {
        damaged.damage_line = decoded.problem->line;
        damaged.damage_offset = decoded.problem->offset;
      }
      damaged.damaged = true;
      outcome->problems.push_back(*std::move(decoded.problem));
      failed[i] = true;
      continue;
    }
    job.value = std::move(decoded.value);
    job.expires = decoded.expires;
    job.decoded = true;
  }
  for (size_t i = 0; i < jobs->size(); ++i) {
    const WalRecord& record = scan.records[i];
    if (record.batch < 0 || !batches[record.batch].damaged) continue;
    (*jobs)[i].dropped = true;
    (*jobs)[i].value.reset();
    if (failed[i]) continue;
    const WalBatch& batch = batches[record.batch];
    outcome->problems.push_back(
        {batch.damage_line, batch.damage_offset,
         absl::StrCat(
             "the record on line ", record.line, " (map \"", record.map,
             "\" key \"", absl::CHexEscape(record.key.substr(0, 200)),
             "\") is dropped with the damaged batch that line ", batch.line,
             " opened (a batch is recovered whole or not at all)"),
         static_cast<int64_t>(i)});
  }
}

void SortByPosition(std::vector<WalProblem>* problems) {
  std::stable_sort(problems->begin(), problems->end(),
                   [](const WalProblem& a, const WalProblem& b) {
                     return a.offset != b.offset ? a.offset < b.offset
                                                 : a.line < b.line;
                   });
}

}  // namespace

absl::StatusOr<Recovered> RecoverWal(
    absl::string_view contents,
    const absl::flat_hash_map<std::string, RecoveryTarget>& maps,
    OrphanRecords* orphans, const RecoveryOptions& options) {
  Recovered recovered;
  PERSIST_ASSIGN_OR_RETURN(recovered.scan, ScanWal(contents, options.path));
  const std::vector<WalRecord>& records = recovered.scan.records;
  std::vector<Job> jobs(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    auto it = maps.find(records[i].map);
    if (it == maps.end()) continue;  // an orphan
    jobs[i].target = &it->second;
    jobs[i].record = &records[i];
    jobs[i].index = static_cast<int64_t>(i);
  }
  DecodeOutcome batches;
  if (options.all_problems && !recovered.scan.batches.empty()) {
    CheckBatches(recovered.scan, options, &jobs, &batches);
  }
  DecodeOutcome decoded = DecodeAndApply(jobs, options);
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].target != nullptr || jobs[i].dropped) continue;
    orphans->Apply(records[i]);
  }
  recovered.decode_threads = decoded.threads;
  recovered.ignored_unknown_fields =
      decoded.ignored_unknown_fields + batches.ignored_unknown_fields;
  recovered.problems = std::move(recovered.scan.problems);
  recovered.scan.problems.clear();
  for (DecodeOutcome* outcome : {&batches, &decoded}) {
    for (WalProblem& problem : outcome->problems) {
      recovered.problems.push_back(std::move(problem));
    }
  }
  SortByPosition(&recovered.problems);
  return recovered;
}

Adopted AdoptOrphans(const std::vector<OrphanRecords::Orphan>& orphans,
                     const RecoveryTarget& target,
                     const RecoveryOptions& options) {
  // Orphans are kept as their set records: rebuild a WalRecord for each.
  std::vector<WalRecord> records;
  records.reserve(orphans.size());
  for (const OrphanRecords::Orphan& orphan : orphans) {
    WalRecord record{};
    record.kind = RecordKind::kSet;
    record.map = target.entries->name();
    record.key = orphan.key;
    record.json = orphan.json;
    record.line = orphan.line;
    records.push_back(record);
    if (!orphan.expiry.empty()) {  // after its set, as in the file
      record.kind = RecordKind::kExpire;
      record.json = orphan.expiry;
      record.line = orphan.expiry_line;
      records.push_back(record);
    }
  }
  std::vector<Job> jobs;
  jobs.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    Job& job = jobs.emplace_back();
    job.target = &target;
    job.record = &records[i];
    job.index = static_cast<int64_t>(i);
  }
  DecodeOutcome decoded = DecodeAndApply(jobs, options);
  Adopted adopted;
  adopted.applied = decoded.applied;
  adopted.ignored_unknown_fields = decoded.ignored_unknown_fields;
  adopted.problems = std::move(decoded.problems);
  std::sort(
      adopted.problems.begin(), adopted.problems.end(),
      [](const WalProblem& a, const WalProblem& b) { return a.line < b.line; });
  return adopted;
}

}  // namespace persist
