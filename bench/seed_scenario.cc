// go-persist's headline scenario (DESIGN.md section 8), every row in one
// run: keys prefilled, then operations on random keys from many threads,
// a share of them writes. Rows: persist at ASYNC and WRITE (and FSYNC with
// --sync_rows), two hand-written in-memory maps, RocksDB and LMDB.
//
//   seed_scenario                      # 100k keys, 1M ops, 150 threads, 20%
//   writes seed_scenario --keys=10000 --ops=10000 --threads=10 --sync_rows
//
// Flags: --keys --ops --threads --write_pct --values=struct|string
//        --sync_rows --dir=<folder for the files> --rows=<name,name,...>
// The last line of output is one JSON object with every row.
#include <stdlib.h>

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
#include "bench/run_header.h"

namespace persist::bench {
namespace {

struct Flags {
  int64_t keys = 100000;
  int64_t ops = 1000000;
  int threads = 150;
  int write_pct = 20;
  bool strings = false;
  bool sync_rows = false;
  std::string dir = ".";
  std::vector<std::string> rows;  // empty: all
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
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
      std::fprintf(stderr, "seed_scenario: bad flag %s\n", argv[i]);
      return false;
    }
  }
  return true;
}

struct Result {
  std::string name;
  double ops_per_sec = 0;
  double ns_per_op = 0;
  uint64_t file_bytes = 0;
};

using RowFactory =
    std::function<absl::StatusOr<std::unique_ptr<Row>>(const std::string& dir)>;

// Prefills, then runs `ops` operations on `threads` threads started
// together; the clock covers the operations and the row's Finish.
absl::StatusOr<Result> RunRow(const std::string& name, const RowFactory& make,
                              const Flags& flags, int64_t ops, int threads,
                              int write_pct) {
  std::string dir = absl::StrCat(flags.dir, "/seed_scenario.XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp in ", flags.dir));
  }
  absl::StatusOr<std::unique_ptr<Row>> row = make(dir);
  if (!row.ok()) return row.status();
  if (absl::Status s = (*row)->Prefill(flags.keys); !s.ok()) return s;

  Notification start;
  std::atomic<int64_t> found{0};
  Mutex error_mu;
  absl::Status error;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 random(static_cast<uint64_t>(t) * 7919 + 1);
      const int64_t begin = ops * t / threads;
      const int64_t end = ops * (t + 1) / threads;
      int64_t hits = 0;
      start.WaitForNotification();
      for (int64_t i = begin; i < end; ++i) {
        const std::string key =
            ScenarioKey(static_cast<int64_t>(random() % flags.keys));
        absl::Status s;
        if (static_cast<int>(random() % 100) < write_pct) {
          s = (*row)->Put(key, i, true);
        } else {
          bool hit = false;
          s = (*row)->Get(key, &hit);
          hits += hit;
        }
        if (!s.ok()) {
          MutexLock lock(&error_mu);
          error = s;
          return;
        }
      }
      found.fetch_add(hits);
    });
  }
  const absl::Time begin = absl::Now();
  start.Notify();
  for (std::thread& worker : workers) worker.join();
  const absl::Time finish = absl::Now();
  absl::Status finished = (*row)->Finish();
  const absl::Duration took = absl::Now() - begin;
  const absl::Duration finish_took = absl::Now() - finish;
  {
    MutexLock lock(&error_mu);
    if (!error.ok()) return error;
  }
  if (!finished.ok()) return finished;

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
              static_cast<long long>(found.load()),
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
  if (!ParseFlags(argc, argv, &flags)) return 2;
  // Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detection on: a graph update on every lock, for every row that locks.
  // Release builds of abseil have it off; so do we, here.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  PrintRunHeader(argc, argv);
  const ScenarioValues values(flags.strings);
  std::printf(
      "scenario: %lld keys, %lld ops, %d threads, %d%% writes, %s "
      "values\n\n",
      static_cast<long long>(flags.keys), static_cast<long long>(flags.ops),
      flags.threads, flags.write_pct, flags.strings ? "string" : "struct");
  std::printf("%-34s %14s %10s %12s\n", "row", "ops/s", "ns/op", "file MB");

  struct Spec {
    std::string name;
    RowFactory make;
    bool sync;  // only with --sync_rows
  };
  const std::vector<Spec> specs = {
      {"persist ASYNC",
       [&](const std::string& d) {
         return MakePersistRow(d, Durability::kAsync, values);
       },
       false},
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
    absl::StatusOr<Result> result = RunRow(
        spec.name, spec.make, flags, flags.ops, flags.threads, flags.write_pct);
    if (!result.ok()) {
      std::fprintf(stderr, "%s: %s\n", spec.name.c_str(),
                   result.status().ToString().c_str());
      return 1;
    }
    results.push_back(*result);
  }
  if (flags.sync_rows && wanted("persist FSYNC")) {
    // Group commit: FSYNC writes only, one writer against ten.
    const int64_t writes = std::min<int64_t>(flags.ops, 2000);
    for (int writers : {1, 10}) {
      absl::StatusOr<Result> result =
          RunRow(absl::StrCat("persist FSYNC writes, ", writers, " writer",
                              writers > 1 ? "s" : ""),
                 specs[2].make, flags, writes, writers, /*write_pct=*/100);
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
