#include "storage/wal_recovery.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/names.h"
#include "storage/store_context.h"

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

// Decodes jobs[i] into decoded[i] on up to `threads` threads.
void DecodeAll(const std::vector<Job>& jobs, const JsonCodec& codec,
               const RecoveryOptions& options, std::vector<Decoded>* decoded,
               int64_t* ignored_unknown_fields) {
  decoded->resize(jobs.size());
  const size_t threads = std::clamp<size_t>(
      jobs.size() / kRecordsPerThreadMin, 1,
      static_cast<size_t>(std::max(1, options.threads)));
  std::vector<int64_t> ignored(threads, 0);
  auto work = [&](size_t t) {
    const size_t begin = jobs.size() * t / threads;
    const size_t end = jobs.size() * (t + 1) / threads;
    for (size_t i = begin; i < end; ++i) {
      const Job& job = jobs[i];
      if (job.map == nullptr) continue;
      (*decoded)[i] = DecodeOne(job, codec, options, &ignored[t]);
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work, t);
  work(0);
  for (std::thread& worker : workers) worker.join();
  for (int64_t n : ignored) *ignored_unknown_fields += n;
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

}  // namespace

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
  std::vector<Decoded> decoded;
  if (!maps.empty()) {
    // Every map of one store shares its context, hence its codec.
    const JsonCodec& codec = maps.begin()->second->context_->codec;
    DecodeAll(jobs, codec, options, &decoded,
              &counters->ignored_unknown_fields);
  } else {
    decoded.resize(jobs.size());
  }
  // Strict mode reports the first damaged record in file order.
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!decoded[i].error.ok()) {
      if (absl::Status s = SkipOrFail(decoded[i].error, options, counters);
          !s.ok()) {
        return s;
      }
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].map == nullptr) {
      orphans->Apply(scan.records[i]);
    } else if (decoded[i].error.ok()) {
      jobs[i].map->Recover(jobs[i].key, std::move(decoded[i].value));
    } else {
      continue;
    }
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
  std::vector<Decoded> decoded;
  DecodeAll(jobs, map->context_->codec, options, &decoded,
            &counters->ignored_unknown_fields);
  for (const Decoded& d : decoded) {
    if (!d.error.ok()) {
      if (absl::Status s = SkipOrFail(d.error, options, counters); !s.ok()) {
        return s;
      }
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (decoded[i].value == nullptr) continue;
    map->Recover(jobs[i].key, std::move(decoded[i].value));
    ++counters->records;
  }
  return absl::OkStatus();
}

}  // namespace persist
