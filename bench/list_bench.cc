// What a List page costs as a map grows, and what the ordered key index
// behind it costs writes (bench/README.md has the results):
//
//   Page/scan/<keys>    a 100-entry DynamicMap::Scan after a random key
//   Page/list/<keys>    the service's whole page (FillPage: the same Scan,
//                       each value packed into its Any, the size budget)
//   Write/existing/<keys>  two MEMORY Sets of a key that exists: the index
//                       is not touched
//   Write/new/<keys>    a MEMORY Set of a new key and its Delete: one index
//                       insert and one erase
//   Index/<keys>        the index's share of Write/new alone: an insert and
//                       an erase in an absl::btree_set of as many keys
//
// MEMORY durability, so that no disk is in the numbers: the index is all
// in memory too. Values are go-persist's small benchmark struct.
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/strings/str_format.h"
#include "bench/run_header.h"
#include "benchmark/benchmark.h"
#include "persist/bench/v1/records.pb.h"
#include "service/list_pages.h"
#include "storage/store.h"

namespace persist::bench {
namespace {

using persist::bench::v1::SmallRecord;

constexpr int kPageSize = 100;

std::string Key(int64_t i) { return absl::StrFormat("key%09d", i); }

WriteOptions Memory() {
  WriteOptions options;
  options.durability = Durability::kMemory;
  return options;
}

// A store in a temporary folder holding `keys` entries, kept for every
// benchmark of that size.
struct Fixture {
  explicit Fixture(int64_t keys) : keys(keys) {
    char pattern[] = "/tmp/persist-list-bench-XXXXXX";
    dir = ::mkdtemp(pattern);
    StoreOptions options;
    options.path = dir + "/data.wal";
    options.maps = {{"m", SmallRecord::descriptor()}};
    options.auto_shrink.enabled = false;
    options.log = [](LogLevel, absl::string_view) {};
    store = *Store::Open(options);
    map = *store->GetMap<SmallRecord>("m");
    for (int64_t i = 0; i < keys; ++i) {
      SmallRecord value;
      value.set_field1(i);
      value.set_field2("example struct");
      if (!map.Set(Key(i), value, Memory()).ok()) std::abort();
    }
  }
  ~Fixture() {
    store.reset();
    std::remove((dir + "/data.wal").c_str());
    std::remove((dir + "/data.wal.lock").c_str());
    std::remove(dir.c_str());
  }

  const int64_t keys;
  std::string dir;
  std::unique_ptr<Store> store;
  Map<SmallRecord> map{nullptr};
};

Fixture& FixtureOf(int64_t keys) {
  static std::vector<std::unique_ptr<Fixture>>* fixtures =
      new std::vector<std::unique_ptr<Fixture>>();
  for (auto& fixture : *fixtures) {
    if (fixture->keys == keys) return *fixture;
  }
  // One at a time: the last one's memory goes before the next is built.
  fixtures->clear();
  fixtures->push_back(std::make_unique<Fixture>(keys));
  return *fixtures->back();
}

void PageScan(benchmark::State& state) {
  Fixture& fixture = FixtureOf(state.range(0));
  std::mt19937_64 random(1);
  for (auto _ : state) {
    const std::string after = Key(static_cast<int64_t>(
        random() % static_cast<uint64_t>(fixture.keys - kPageSize)));
    int seen = 0;
    (void)fixture.map.Scan("", after,
                           [&](absl::string_view, const Entry<SmallRecord>& e) {
                             benchmark::DoNotOptimize(e.value.get());
                             return ++seen < kPageSize;
                           });
    if (seen != kPageSize) state.SkipWithError("short page");
  }
}

void PageList(benchmark::State& state) {
  Fixture& fixture = FixtureOf(state.range(0));
  std::mt19937_64 random(1);
  for (auto _ : state) {
    const std::string after = Key(static_cast<int64_t>(
        random() % static_cast<uint64_t>(fixture.keys - kPageSize - 1)));
    persist::v1::ListResponse page;
    if (!service::FillPage(fixture.map.dynamic(), "", after, kPageSize, 4 << 20,
                           &page)
             .ok() ||
        page.entries_size() != kPageSize) {
      state.SkipWithError("page failed");
    }
    benchmark::DoNotOptimize(page);
  }
}

void WriteExisting(benchmark::State& state) {
  Fixture& fixture = FixtureOf(state.range(0));
  std::mt19937_64 random(2);
  SmallRecord value;
  value.set_field2("example struct");
  for (auto _ : state) {
    const std::string key = Key(
        static_cast<int64_t>(random() % static_cast<uint64_t>(fixture.keys)));
    for (int i = 0; i < 2; ++i) {
      value.set_field1(i);
      if (!fixture.map.Set(key, value, Memory()).ok()) std::abort();
    }
  }
}

void WriteNew(benchmark::State& state) {
  Fixture& fixture = FixtureOf(state.range(0));
  std::mt19937_64 random(2);
  SmallRecord value;
  value.set_field2("example struct");
  for (auto _ : state) {
    // Between two existing keys, so that the index inserts mid-tree.
    const std::string key =
        Key(static_cast<int64_t>(random() %
                                 static_cast<uint64_t>(fixture.keys))) +
        "n";
    if (!fixture.map.Set(key, value, Memory()).ok()) std::abort();
    if (!fixture.map.Delete(key, Memory()).ok()) std::abort();
  }
}

void IndexAlone(benchmark::State& state) {
  const int64_t keys = state.range(0);
  absl::btree_set<std::string> index;
  for (int64_t i = 0; i < keys; ++i) index.insert(Key(i));
  std::mt19937_64 random(2);
  for (auto _ : state) {
    const std::string key =
        Key(static_cast<int64_t>(random() % static_cast<uint64_t>(keys))) + "n";
    index.insert(key);
    index.erase(key);
  }
}

void Register() {
  for (const int64_t keys : {10'000, 100'000, 1'000'000}) {
    const std::string size = absl::StrFormat("%d", keys);
    benchmark::RegisterBenchmark(("Page/scan/" + size).c_str(), PageScan)
        ->Arg(keys);
    benchmark::RegisterBenchmark(("Page/list/" + size).c_str(), PageList)
        ->Arg(keys);
    benchmark::RegisterBenchmark(("Write/existing/" + size).c_str(),
                                 WriteExisting)
        ->Arg(keys);
    benchmark::RegisterBenchmark(("Write/new/" + size).c_str(), WriteNew)
        ->Arg(keys);
    benchmark::RegisterBenchmark(("Index/" + size).c_str(), IndexAlone)
        ->Arg(keys);
  }
}

}  // namespace
}  // namespace persist::bench

int main(int argc, char** argv) {
  persist::bench::PrintRunHeader(argc, argv);
  benchmark::Initialize(&argc, argv);
  persist::bench::Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
