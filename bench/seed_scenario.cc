// go-persist's headline scenario (DESIGN.md section 8), every row in one
// run: keys prefilled, then operations on random keys from many workers,
// a share of them writes. Rows: persist at ASYNC (its final flush timed, and
// again untimed as go-persist times its Async row), WRITE (and FSYNC with
// --sync_rows), two hand-written in-memory maps, RocksDB and LMDB.
//
//   seed_scenario                 # 100k keys, 1M ops, 150 workers, 20% writes
//   seed_scenario --workers=2     # the 150 workers on 2 OS threads
//   seed_scenario --keys=10000 --ops=10000 --threads=10 --sync_rows
//
// The last line of output is one JSON object with every row.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/mutex.h"
#include "bench/kv_rows.h"
#include "bench/logical_workers.h"
#include "bench/run_header.h"

namespace persist::bench {
namespace {

struct Flags {
  int64_t keys = 100000;
  int64_t ops = 1000000;
  int threads = 150;  // logical workers
  int workers = 0;    // OS threads running them; 0: one per worker
  int write_pct = 20;
  bool strings = false;
  bool sync_rows = false;
  std::string dir = ".";
  std::vector<std::string> rows;  // empty: all
};

constexpr char kUsage[] = R"(usage: seed_scenario [flags]

go-persist's benchmark scenario: --keys keys prefilled, then --ops operations
on random keys by --threads workers, --write_pct of them writes, for each row.

  --keys=N            keys prefilled (default 100000)
  --ops=N             operations timed (default 1000000)
  --threads=N         logical workers, as go-persist's goroutines (default 150)
  --workers=N         OS threads that run the workers in turn, as Go runs
                      goroutines on GOMAXPROCS threads; a worker waiting for
                      its write frees its thread (default 0: one OS thread
                      per worker)
  --write_pct=P       share of operations that write, 0-100 (default 20)
  --values=KIND       struct (field1, field2) or string (default struct)
  --sync_rows         also the rows that fsync every write
  --rows=A,B,...      only these rows, by name (default: all)
  --dir=PATH          folder for the rows' files (default .)
  --help              this text

Rows: persist ASYNC, persist ASYNC (flush untimed), persist WRITE,
persist FSYNC, absl mutex map, shared_mutex map, rocksdb (WAL, no sync),
rocksdb (WAL, sync), lmdb (nosync), lmdb (sync).
)";

// 1: run; 0: --help printed; 2: bad flag.
int ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    const auto value = [&](absl::string_view name) -> absl::string_view {
      const std::string prefix = absl::StrCat("--", name, "=");
      return absl::StartsWith(arg, prefix) ? arg.substr(prefix.size())
                                           : absl::string_view();
    };
    bool ok = true;
    if (!value("keys").empty()) {
      ok = absl::SimpleAtoi(value("keys"), &flags->keys);
    } else if (!value("ops").empty()) {
      ok = absl::SimpleAtoi(value("ops"), &flags->ops);
    } else if (!value("threads").empty()) {
      ok = absl::SimpleAtoi(value("threads"), &flags->threads);
    } else if (!value("workers").empty()) {
      ok = absl::SimpleAtoi(value("workers"), &flags->workers) &&
           flags->workers >= 0;
    } else if (!value("write_pct").empty()) {
      ok = absl::SimpleAtoi(value("write_pct"), &flags->write_pct);
    } else if (!value("values").empty()) {
      ok = value("values") == "struct" || value("values") == "string";
      flags->strings = value("values") == "string";
    } else if (!value("dir").empty()) {
      flags->dir = std::string(value("dir"));
    } else if (!value("rows").empty()) {
      flags->rows = absl::StrSplit(value("rows"), ',');
    } else if (arg == "--sync_rows") {
      flags->sync_rows = true;
    } else {
      ok = false;
    }
    if (!ok || flags->keys < 1 || flags->ops < 1 || flags->threads < 1 ||
        flags->write_pct < 0 || flags->write_pct > 100) {
      std::fprintf(stderr, "seed_scenario: bad flag %s (see --help)\n",
                   argv[i]);
      return 2;
    }
  }
  return 1;
}

struct Result {
  std::string name;
  double ops_per_sec = 0;
  double ns_per_op = 0;
  uint64_t file_bytes = 0;
};

using RowFactory =
    std::function<absl::StatusOr<std::unique_ptr<Row>>(const std::string& dir)>;

// What one logical worker owns: its generator and its share of the ops.
struct alignas(64) WorkerState {
  std::mt19937_64 random;
  int64_t next = 0;
  int64_t end = 0;
  int64_t hits = 0;
  // A write in flight: 2 when started, the write's completion and the step
  // that started it each take one, and whichever comes second resumes.
  std::atomic<int> in_flight{0};
};

// Prefills, then runs `ops` operations on `threads` workers started
// together (on flags.workers OS threads, or one each); the clock covers the
// operations and, if `time_finish`, the row's Finish.
absl::StatusOr<Result> RunRow(const std::string& name, const RowFactory& make,
                              const Flags& flags, int64_t ops, int threads,
                              int write_pct, bool time_finish) {
  std::string dir = absl::StrCat(flags.dir, "/seed_scenario.XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp in ", flags.dir));
  }
  absl::StatusOr<std::unique_ptr<Row>> row = make(dir);
  if (!row.ok()) return row.status();
  if (absl::Status s = (*row)->Prefill(flags.keys); !s.ok()) return s;

  std::vector<WorkerState> workers(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    WorkerState& worker = workers[static_cast<size_t>(t)];
    worker.random.seed(static_cast<uint64_t>(t) * 7919 + 1);
    worker.next = ops * t / threads;
    worker.end = ops * (t + 1) / threads;
  }
  Mutex error_mu;
  absl::Status error;
  std::atomic<bool> failed{false};
  const auto fail = [&](absl::Status s) {
    MutexLock lock(&error_mu);
    if (error.ok()) error = std::move(s);
    failed.store(true);
  };
  const auto step = [&](int w, LogicalWorkers::Resume resume) {
    WorkerState& worker = workers[static_cast<size_t>(w)];
    if (worker.next == worker.end || failed.load(std::memory_order_relaxed)) {
      return LogicalWorkers::Step::kFinished;
    }
    const int64_t i = worker.next++;
    const std::string key =
        ScenarioKey(static_cast<int64_t>(worker.random() % flags.keys));
    if (static_cast<int>(worker.random() % 100) >= write_pct) {
      bool hit = false;
      if (absl::Status s = (*row)->Get(key, &hit); !s.ok()) fail(std::move(s));
      worker.hits += hit;
      return LogicalWorkers::Step::kReady;
    }
    worker.in_flight.store(2, std::memory_order_relaxed);
    (*row)->StartPut(key, i, true, [&worker, &fail, resume](absl::Status s) {
      if (!s.ok()) fail(std::move(s));
      if (worker.in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        resume();
      }
    });
    return worker.in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1
               ? LogicalWorkers::Step::kReady
               : LogicalWorkers::Step::kWaiting;
  };
  absl::Time begin;
  LogicalWorkers::Run(threads, flags.workers > 0 ? flags.workers : threads,
                      step, [&] { begin = absl::Now(); });
  const absl::Time finish = absl::Now();
  absl::Status finished = (*row)->Finish();
  const absl::Time finished_at = absl::Now();
  const absl::Duration took = (time_finish ? finished_at : finish) - begin;
  const absl::Duration finish_took = finished_at - finish;
  {
    MutexLock lock(&error_mu);
    if (!error.ok()) return error;
  }
  if (!finished.ok()) return finished;
  int64_t found = 0;
  for (const WorkerState& worker : workers) found += worker.hits;

  Result result;
  result.name = name;
  result.ops_per_sec = static_cast<double>(ops) / absl::ToDoubleSeconds(took);
  result.ns_per_op = absl::ToDoubleNanoseconds(took) / static_cast<double>(ops);
  result.file_bytes = (*row)->FileBytes();
  std::filesystem::remove_all(dir);
  const std::string described = (*row)->Describe();
  std::printf("%-34s %14.0f %10.0f %12.2f   %lld hits; finish %s%s%s\n",
              name.c_str(), result.ops_per_sec, result.ns_per_op,
              static_cast<double>(result.file_bytes) / 1e6,
              static_cast<long long>(found),
              absl::FormatDuration(finish_took).c_str(),
              described.empty() ? "" : "; ", described.c_str());
  row->reset();
  std::fflush(stdout);
  return result;
}

double Ratio(const std::vector<Result>& results, absl::string_view a,
             absl::string_view b) {
  double x = 0, y = 0;
  for (const Result& r : results) {
    if (r.name == a) x = r.ops_per_sec;
    if (r.name == b) y = r.ops_per_sec;
  }
  return y > 0 ? x / y : 0;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (const int parsed = ParseFlags(argc, argv, &flags); parsed != 1) {
    return parsed;
  }
  // Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detection on: a graph update on every lock, for every row that locks.
  // Release builds of abseil have it off; so do we, here.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  PrintRunHeader(argc, argv);
  const ScenarioValues values(flags.strings);
  std::printf(
      "scenario: %lld keys, %lld ops, %d workers on %s, %d%% writes, %s "
      "values\n\n",
      static_cast<long long>(flags.keys), static_cast<long long>(flags.ops),
      flags.threads,
      flags.workers > 0
          ? absl::StrCat(std::min(flags.workers, flags.threads), " OS threads")
                .c_str()
          : "one OS thread each",
      flags.write_pct, flags.strings ? "string" : "struct");
  std::printf("%-34s %14s %10s %12s\n", "row", "ops/s", "ns/op", "file MB");

  struct Spec {
    std::string name;
    RowFactory make;
    bool sync;                // only with --sync_rows
    bool time_finish = true;  // false: the clock stops before Finish
  };
  const std::vector<Spec> specs = {
      {"persist ASYNC",
       [&](const std::string& d) {
         return MakePersistRow(d, Durability::kAsync, values);
       },
       false},
      // As go-persist's table times its Async row: the final flush (every
      // dirty key written) outside the clock.
      {"persist ASYNC (flush untimed)",
       [&](const std::string& d) {
         return MakePersistRow(d, Durability::kAsync, values);
       },
       false, false},
      {"persist WRITE",
       [&](const std::string& d) {
         return MakePersistRow(d, Durability::kWrite, values);
       },
       false},
      {"persist FSYNC",
       [&](const std::string& d) {
         return MakePersistRow(d, Durability::kFsync, values);
       },
       true},
      {"absl mutex map",
       [&](const std::string&) -> absl::StatusOr<std::unique_ptr<Row>> {
         return MakeAbslMutexMapRow(values);
       },
       false},
      {"shared_mutex map",
       [&](const std::string&) -> absl::StatusOr<std::unique_ptr<Row>> {
         return MakeSharedMutexMapRow(values);
       },
       false},
      {"rocksdb (WAL, no sync)",
       [&](const std::string& d) { return MakeRocksDbRow(d, false, values); },
       false},
      {"rocksdb (WAL, sync)",
       [&](const std::string& d) { return MakeRocksDbRow(d, true, values); },
       true},
      {"lmdb (nosync)",
       [&](const std::string& d) { return MakeLmdbRow(d, false, values); },
       false},
      {"lmdb (sync)",
       [&](const std::string& d) { return MakeLmdbRow(d, true, values); },
       true},
  };
  std::vector<Result> results;
  auto wanted = [&](const std::string& name) {
    if (flags.rows.empty()) return true;
    for (const std::string& row : flags.rows) {
      if (row == name) return true;
    }
    return false;
  };
  for (const Spec& spec : specs) {
    if ((spec.sync && !flags.sync_rows) || !wanted(spec.name)) continue;
    absl::StatusOr<Result> result =
        RunRow(spec.name, spec.make, flags, flags.ops, flags.threads,
               flags.write_pct, spec.time_finish);
    if (!result.ok()) {
      std::fprintf(stderr, "%s: %s\n", spec.name.c_str(),
                   result.status().ToString().c_str());
      return 1;
    }
    results.push_back(*result);
  }
  if (flags.sync_rows && wanted("persist FSYNC")) {
    // Group commit: FSYNC writes only, one writer against ten.
    const Spec& fsync_row = *std::find_if(
        specs.begin(), specs.end(),
        [](const Spec& spec) { return spec.name == "persist FSYNC"; });
    const int64_t writes = std::min<int64_t>(flags.ops, 2000);
    for (int writers : {1, 10}) {
      absl::StatusOr<Result> result =
          RunRow(absl::StrCat("persist FSYNC writes, ", writers, " writer",
                              writers > 1 ? "s" : ""),
                 fsync_row.make, flags, writes, writers, /*write_pct=*/100,
                 /*time_finish=*/true);
      if (!result.ok()) {
        std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
        return 1;
      }
      results.push_back(*result);
    }
  }

  std::printf("\nratios (ops/s, same run):\n");
  const std::pair<const char*, const char*> ratios[] = {
      {"persist ASYNC", "absl mutex map"},
      {"persist ASYNC", "shared_mutex map"},
      {"persist WRITE", "persist ASYNC"},
      {"persist ASYNC", "rocksdb (WAL, no sync)"},
      {"persist ASYNC", "lmdb (nosync)"},
      {"persist WRITE", "rocksdb (WAL, no sync)"},
      {"persist FSYNC", "rocksdb (WAL, sync)"},
      {"persist FSYNC", "lmdb (sync)"},
      {"persist FSYNC writes, 10 writers", "persist FSYNC writes, 1 writer"},
  };
  for (const auto& [a, b] : ratios) {
    const double ratio = Ratio(results, a, b);
    if (ratio > 0) std::printf("  %-34s / %-28s %8.2fx\n", a, b, ratio);
  }
  std::vector<std::string> rows;
  for (const Result& r : results) {
    rows.push_back(
        absl::StrCat("{\"name\":\"", r.name,
                     "\",\"ops_per_sec\":", static_cast<int64_t>(r.ops_per_sec),
                     ",\"ns_per_op\":", static_cast<int64_t>(r.ns_per_op),
                     ",\"file_bytes\":", r.file_bytes, "}"));
  }
  std::printf("{\"rows\":[%s]}\n", absl::StrJoin(rows, ",").c_str());
  return 0;
}

}  // namespace
}  // namespace persist::bench

int main(int argc, char** argv) { return persist::bench::Main(argc, argv); }
