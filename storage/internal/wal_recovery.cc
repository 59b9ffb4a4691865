#include "storage/internal/wal_recovery.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/names.h"
#include "base/status_macros.h"
#include "storage/internal/store_context.h"

namespace persist {
namespace {

using google::protobuf::Message;

constexpr int64_t kMaxLoggedSkips = 100;
constexpr size_t kRecordsPerThreadMin = 4096;

// One record to decode for a declared map.
struct Job {
  DynamicMap* map = nullptr;  // null: not a declared map's record
  RecordKind kind = RecordKind::kSet;
  absl::string_view key;
  absl::string_view json;
  int64_t line = 0;
};

struct Decoded {
  std::shared_ptr<const Message> value;  // null for deletes and failures
  absl::Status error;
};

absl::Status RecordError(const RecoveryOptions& options, int64_t line,
                         const DynamicMap& map, absl::string_view key,
                         absl::string_view reason) {
  return absl::DataLossError(absl::StrCat(
      options.path, " line ", line, ": map \"", map.name(), "\" key \"",
      absl::CHexEscape(key.substr(0, 200)), "\": ", reason,
      ". persist refuses to open a file it cannot fully read, so that "
      "nothing is lost. If the map's type changed, declare the type the file "
      "was written with (fields it no longer has can be skipped with "
      "ignore_unknown_fields); to skip damaged records, use recovery mode "
      "skip_corrupt."));
}

// Validates the key and decodes the value of one record.
Decoded DecodeOne(const Job& job, const JsonCodec& codec,
                  const RecoveryOptions& options,
                  int64_t* ignored_unknown_fields) {
  Decoded out;
  if (absl::Status status = ValidateKey(job.key); !status.ok()) {
    out.error =
        RecordError(options, job.line, *job.map, job.key, status.message());
    return out;
  }
  if (job.kind == RecordKind::kDelete) return out;
  std::unique_ptr<Message> value = job.map->NewValue();
  JsonDecodeStats stats;
  if (absl::Status status = codec.Decode(job.json, value.get(), &stats);
      !status.ok()) {
    out.error = RecordError(
        options, job.line + 1, *job.map, job.key,
        absl::StrCat("the value is not a valid ",
                     job.map->type()->full_name(), ": ", status.message()));
    return out;
  }
  *ignored_unknown_fields += stats.ignored_unknown_fields;
  out.value = std::move(value);
  return out;
}

// Counts and logs a skipped record, or returns its error in strict mode.
absl::Status SkipOrFail(const absl::Status& error,
                        const RecoveryOptions& options,
                        RecoveryCounters* counters) {
  if (!options.skip_corrupt) return error;
  ++counters->skipped_corrupt;
  if (counters->skipped_corrupt <= kMaxLoggedSkips && options.log) {
    options.log(LogLevel::kWarning,
                absl::StrCat("skip_corrupt: skipped ", error.message()));
  }
  return absl::OkStatus();
}

// Which thread takes a key: always the same one for a key of a map.
size_t Partition(const Job& job, size_t threads) {
  const uint64_t hash = absl::Hash<absl::string_view>{}(job.key) ^
                        reinterpret_cast<uintptr_t>(job.map);
  return static_cast<size_t>((hash >> 32) % threads);
}

// Decodes and applies the jobs of declared maps on up to options.threads
// threads. Each key belongs to one thread, which takes its records in file
// order, so the last record of each key wins without a sequential pass.
// Strict mode returns the first damaged record in file order (the maps are
// then half-filled: callers discard them); skip_corrupt counts and logs.
using RecoverFunction = absl::FunctionRef<void(
    DynamicMap*, absl::string_view, std::shared_ptr<const Message>)>;

absl::Status DecodeAndApply(const std::vector<Job>& jobs,
                            const JsonCodec& codec,
                            const RecoveryOptions& options,
                            RecoverFunction recover,
                            RecoveryCounters* counters) {
  const size_t threads = std::clamp<size_t>(
      jobs.size() / kRecordsPerThreadMin, 1,
      static_cast<size_t>(std::max(1, options.threads)));
  struct Outcome {
    int64_t applied = 0;
    int64_t ignored_unknown_fields = 0;
    std::vector<std::pair<size_t, absl::Status>> errors;
  };
  std::vector<Outcome> outcomes(threads);
  auto work = [&](size_t t) {
    Outcome& outcome = outcomes[t];
    for (size_t i = 0; i < jobs.size(); ++i) {
      const Job& job = jobs[i];
      if (job.map == nullptr) continue;
      if (threads > 1 && Partition(job, threads) != t) continue;
      Decoded decoded =
          DecodeOne(job, codec, options, &outcome.ignored_unknown_fields);
      if (!decoded.error.ok()) {
        outcome.errors.emplace_back(i, std::move(decoded.error));
        if (!options.skip_corrupt) return;
        continue;
      }
      recover(job.map, job.key, std::move(decoded.value));
      ++outcome.applied;
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work, t);
  work(0);
  for (std::thread& worker : workers) worker.join();

  std::vector<std::pair<size_t, absl::Status>> errors;
  for (Outcome& outcome : outcomes) {
    counters->records += outcome.applied;
    counters->ignored_unknown_fields += outcome.ignored_unknown_fields;
    for (auto& error : outcome.errors) errors.push_back(std::move(error));
  }
  std::sort(errors.begin(), errors.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [index, error] : errors) {
    PERSIST_RETURN_IF_ERROR(SkipOrFail(error, options, counters));
  }
  return absl::OkStatus();
}

}  // namespace

void WalRecovery::RecoverInto(DynamicMap* map, absl::string_view key,
                              std::shared_ptr<const Message> value) {
  map->Recover(key, std::move(value));
}

absl::Status WalRecovery::Apply(
    const WalScan& scan,
    const absl::flat_hash_map<std::string, DynamicMap*>& maps,
    OrphanRecords* orphans, const RecoveryOptions& options,
    RecoveryCounters* counters) {
  std::vector<Job> jobs(scan.records.size());
  for (size_t i = 0; i < scan.records.size(); ++i) {
    const WalRecord& record = scan.records[i];
    auto it = maps.find(record.map);
    if (it == maps.end()) continue;  // an orphan
    jobs[i] = {it->second, record.kind, record.key, record.json, record.line};
  }
  if (!maps.empty()) {
    // Every map of one store shares its context, hence its codec.
    const JsonCodec& codec = maps.begin()->second->context_->codec;
    PERSIST_RETURN_IF_ERROR(
        DecodeAndApply(jobs, codec, options, &RecoverInto, counters));
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].map != nullptr) continue;
    orphans->Apply(scan.records[i]);
    ++counters->records;
  }
  if (counters->skipped_corrupt > kMaxLoggedSkips && options.log) {
    options.log(LogLevel::kWarning,
                absl::StrCat("skip_corrupt: skipped ",
                             counters->skipped_corrupt,
                             " damaged records in all (the first ",
                             kMaxLoggedSkips, " are logged above)"));
  }
  return absl::OkStatus();
}

absl::Status WalRecovery::Adopt(
    const std::vector<OrphanRecords::Orphan>& orphans, DynamicMap* map,
    const RecoveryOptions& options, RecoveryCounters* counters) {
  std::vector<Job> jobs;
  jobs.reserve(orphans.size());
  for (const OrphanRecords::Orphan& orphan : orphans) {
    jobs.push_back({map, RecordKind::kSet, orphan.key, orphan.json,
                    orphan.line});
  }
  return DecodeAndApply(jobs, map->context_->codec, options, &RecoverInto,
                        counters);
}

}  // namespace persist
