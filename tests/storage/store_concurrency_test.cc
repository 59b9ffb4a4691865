// Many threads on one store, every operation and durability on overlapping
// keys, with Shrink and Close racing them. Runs under ThreadSanitizer in CI
// (label "concurrency"). Each test checks memory against the state replayed
// from the reopened file.
#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/manual_clock.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using testing::CapturedLog;
using testing::TempDir;

constexpr int kThreads = 8;

// key -> value name, for comparing states.
using State = std::map<std::string, std::string>;

State Snapshot(Map<Item> map) {
  State state;
  EXPECT_TRUE(map.Range([&](absl::string_view key, const Entry<Item>& entry) {
                   state[std::string(key)] = entry.value->name();
                   return true;
                 })
                  .ok());
  return state;
}

class StoreConcurrencyTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions options;
    options.path = dir_.Path("data.wal");
    options.maps = {{"items", Item::descriptor()}};
    options.log = log_.Sink();
    options.sync_interval = absl::Milliseconds(2);  // the flusher races too
    options.auto_shrink.enabled = false;
    options.shards_per_map = 4;  // few shards: more contention
    return options;
  }

  std::unique_ptr<Store> Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
    EXPECT_TRUE(store.ok()) << store.status();
    return *std::move(store);
  }

  TempDir dir_;
  CapturedLog log_;
};

std::shared_ptr<const Item> Value(std::string name, int64_t count) {
  auto item = std::make_shared<Item>();
  item->set_name(std::move(name));
  item->set_count(count);
  return item;
}

TEST_F(StoreConcurrencyTest, MixedOperationsLeaveMemoryEqualToTheReplayedFile) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  Notification start;
  std::atomic<int> shrinks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(1234 + t);
      start.WaitForNotification();
      for (int i = 0; i < 1500; ++i) {
        const std::string key = absl::StrCat("k", random() % 48);
        // The value names its durability: a key whose last change was a
        // MEMORY write may legitimately differ from the file.
        const auto durability = static_cast<Durability>(random() % 4);
        const std::string name =
            absl::StrCat(DurabilityName(durability), "/", t, "/", i);
        WriteOptions options;
        options.durability = durability;
        if (t == 0 && i % 250 == 0) {
          ASSERT_TRUE(store->Shrink().ok());
          shrinks.fetch_add(1);
        }
        switch (random() % 6) {
          case 0:
          case 1:
            ASSERT_TRUE(items.Set(key, Value(name, i), options).ok());
            break;
          case 2:
            if (durability != Durability::kMemory) {
              ASSERT_TRUE(items.Delete(key, options).ok());
            }
            break;
          case 3:
            ASSERT_TRUE(
                items
                    .Update(
                        key,
                        [&](const Item* current) {
                          return UpdateDecision<Item>::Set(
                              Value(name, current ? current->count() + 1 : 0));
                        },
                        options)
                    .ok());
            break;
          case 4: {
            absl::StatusOr<Entry<Item>> entry = items.Get(key);
            ASSERT_TRUE(entry.ok());
            if (entry->found()) {
              ASSERT_FALSE(entry->value->name().empty());
            }
            break;
          }
          case 5:
            if (i % 50 == 0) {
              ASSERT_TRUE(store->Flush().ok());
            }
            break;
        }
      }
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();

  const State memory = Snapshot(items);
  ASSERT_TRUE(store->Close().ok());
  store = Open();
  const State replayed = Snapshot(*store->GetMap<Item>("items"));
  for (int k = 0; k < 48; ++k) {
    const std::string key = absl::StrCat("k", k);
    auto in_memory = memory.find(key);
    if (in_memory != memory.end() &&
        absl::StartsWith(in_memory->second, "MEMORY/")) {
      continue;  // memory only, by contract
    }
    auto in_file = replayed.find(key);
    ASSERT_EQ(in_memory == memory.end(), in_file == replayed.end()) << key;
    if (in_file != replayed.end()) {
      EXPECT_EQ(in_memory->second, in_file->second) << key;
    }
  }
  EXPECT_GT(shrinks.load(), 0);
}

TEST_F(StoreConcurrencyTest,
       ExpiriesRacingWritesSweepsAndShrinksLeaveMemoryEqualToTheFile) {
  testing::ManualClock clock;
  StoreOptions options = Options();
  options.clock = &clock;
  options.expiry_interval = absl::Milliseconds(1);  // the sweep races too
  absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<Store> store = *std::move(opened);
  Map<Item> items = *store->GetMap<Item>("items");
  Notification start;
  std::atomic<bool> writing{true};
  std::thread ticks([&] {
    start.WaitForNotification();
    while (writing.load()) {
      clock.Advance(absl::Milliseconds(1));
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads / 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(4321 + t);
      start.WaitForNotification();
      for (int i = 0; i < 1500; ++i) {
        const std::string key = absl::StrCat("k", random() % 48);
        const std::string name = absl::StrCat(t, "/", i);
        WriteOptions write;
        write.durability =
            random() % 2 == 0 ? Durability::kWrite : Durability::kAsync;
        if (random() % 3 != 0) {
          write.expires = clock.Now() + absl::Milliseconds(random() % 5);
        }
        if (t == 0 && i % 250 == 0) {
          ASSERT_TRUE(store->Shrink().ok());
        }
        if (t == 1 && i % 100 == 0) store->DeleteExpired();
        switch (random() % 4) {
          case 0:
            ASSERT_TRUE(items.Set(key, Value(name, i), write).ok());
            break;
          case 1:
            ASSERT_TRUE(items.Delete(key, write).ok());
            break;
          case 2:
            write.keep_expiry = random() % 2 == 0;
            ASSERT_TRUE(items
                            .Update(
                                key,
                                [&](const Item* current) {
                                  if (current == nullptr) {
                                    return UpdateDecision<Item>::Cancel();
                                  }
                                  return UpdateDecision<Item>::Set(
                                      Value(name, current->count() + 1));
                                },
                                write)
                            .ok());
            break;
          case 3: {
            // Found only if not expired when read, which is after `before`.
            const absl::Time before = clock.Now();
            absl::StatusOr<Entry<Item>> entry = items.Get(key);
            ASSERT_TRUE(entry.ok());
            if (entry->found()) {
              ASSERT_GT(entry->expires, before);
            }
            break;
          }
        }
      }
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();
  writing.store(false);
  ticks.join();

  // The clock stands still from here: what memory shows (the live keys and
  // their values), the file brings back.
  const State memory = Snapshot(items);
  const StoreStats stats = store->Stats();
  EXPECT_GT(stats.expirations, 0u);
  ASSERT_TRUE(store->Close().ok());
  opened = Store::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store = *std::move(opened);
  EXPECT_EQ(Snapshot(*store->GetMap<Item>("items")), memory);
}

TEST_F(StoreConcurrencyTest,
       ShrinkUnderConcurrentWritersLosesAndResurrectsNothing) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  Notification start;
  std::atomic<bool> writing{true};
  // Each writer owns its keys, so it knows their final state.
  std::vector<State> expected(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(99 + t);
      start.WaitForNotification();
      for (int i = 0; i < 2000; ++i) {
        const std::string key = absl::StrCat("t", t, "/", random() % 40);
        WriteOptions options;
        options.durability =
            random() % 2 ? Durability::kWrite : Durability::kAsync;
        if (random() % 4 == 0) {
          ASSERT_TRUE(items.Delete(key, options).ok());
          expected[t].erase(key);
        } else {
          const std::string name = absl::StrCat(i);
          ASSERT_TRUE(items.Set(key, Value(name, i), options).ok());
          expected[t][key] = name;
        }
      }
    });
  }
  std::thread shrinker([&] {
    start.WaitForNotification();
    int rounds = 0;
    while (writing.load() || rounds < 3) {
      ASSERT_TRUE(store->Shrink().ok());
      ++rounds;
    }
  });
  start.Notify();
  for (std::thread& thread : threads) thread.join();
  writing.store(false);
  shrinker.join();

  State all;
  for (const State& state : expected) all.insert(state.begin(), state.end());
  EXPECT_EQ(Snapshot(items), all);
  ASSERT_TRUE(store->Close().ok());
  store = Open();
  EXPECT_EQ(Snapshot(*store->GetMap<Item>("items")), all);
}

TEST_F(StoreConcurrencyTest, CloseRacingWritersKeepsEveryAcknowledgedWrite) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  Notification start;
  std::vector<State> acknowledged(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> writes{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.WaitForNotification();
      for (int i = 0;; ++i) {
        const std::string key = absl::StrCat("t", t, "/", i % 10);
        const std::string name = absl::StrCat(i);
        WriteOptions options;
        options.durability = i % 2 ? Durability::kWrite : Durability::kAsync;
        absl::StatusOr<WriteResult> result =
            items.Set(key, Value(name, i), options);
        if (!result.ok()) {
          ASSERT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
              << result.status();
          return;  // closed
        }
        acknowledged[t][key] = name;
        writes.fetch_add(1);
      }
    });
  }
  start.Notify();
  // Let every writer get going, then close under them.
  while (writes.load() < 400) std::this_thread::yield();
  ASSERT_TRUE(store->Close().ok());
  for (std::thread& thread : threads) thread.join();

  State all;
  for (const State& state : acknowledged)
    all.insert(state.begin(), state.end());
  store = Open();
  EXPECT_EQ(Snapshot(*store->GetMap<Item>("items")), all);
}

TEST_F(StoreConcurrencyTest, ConcurrentUpdatesAreAtomic) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  Notification start;
  std::vector<std::thread> threads;
  constexpr int kIncrements = 500;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.WaitForNotification();
      WriteOptions options;
      options.durability = t % 2 ? Durability::kFsync : Durability::kAsync;
      for (int i = 0; i < kIncrements; ++i) {
        ASSERT_TRUE(
            items
                .Update(
                    "counter",
                    [](const Item* current) {
                      return UpdateDecision<Item>::Set(
                          Value("counter", current ? current->count() + 1 : 1));
                    },
                    options)
                .ok());
      }
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(items.Get("counter")->value->count(), kThreads * kIncrements);
  ASSERT_TRUE(store->Close().ok());
  store = Open();
  EXPECT_EQ((*store->GetMap<Item>("items")).Get("counter")->value->count(),
            kThreads * kIncrements);
}

// Scans (List's pages) while writers add and remove keys: each scan sees
// keys in strictly increasing order, each once, and every key that exists
// throughout.
TEST_F(StoreConcurrencyTest,
       ScansDuringInsertsAndDeletesSeeEachKeyOnceInOrder) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  WriteOptions memory;
  memory.durability = Durability::kMemory;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        items.Set(absl::StrCat("s/", 100 + i), Value("s", i), memory).ok());
  }
  Notification start;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      start.WaitForNotification();
      for (int i = 0; !stop.load(); ++i) {
        // Keys among the stable ones and around them.
        const std::string key =
            absl::StrCat(i % 2 ? "s/" : "c/", 100 + (i * 7 + t) % 100, "/", t);
        if (i % 3 == 0) {
          ASSERT_TRUE(items.Delete(key, memory).ok());
        } else {
          ASSERT_TRUE(items.Set(key, Value("c", i), memory).ok());
        }
      }
    });
  }
  std::vector<std::thread> scanners;
  for (int t = 0; t < 2; ++t) {
    scanners.emplace_back([&] {
      start.WaitForNotification();
      for (int round = 0; round < 30; ++round) {
        std::string last;
        int stable = 0;
        ASSERT_TRUE(items
                        .Scan("s/", "",
                              [&](absl::string_view key, const Entry<Item>& e) {
                                EXPECT_GT(key, last);
                                last = std::string(key);
                                if (key.size() ==
                                    5) {  // "s/NNN", never written
                                  EXPECT_EQ(e.value->name(), "s");
                                  ++stable;
                                }
                                return true;
                              })
                        .ok());
        EXPECT_EQ(stable, 100);
      }
    });
  }
  start.Notify();
  for (std::thread& scanner : scanners) scanner.join();
  stop = true;
  for (std::thread& writer : writers) writer.join();
}

// Shrinks asked for from many threads at once, with writers, and a Close
// racing them: every request completes exactly once (with a result, or
// Unavailable once closed), and fewer Shrinks run than were asked for.
TEST_F(StoreConcurrencyTest, ConcurrentShrinksJoinAndCloseAnswersEveryOne) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(items.Set(absl::StrCat("k", i % 20), *Value("v", i)).ok());
  }
  constexpr int kAskers = 6;
  constexpr int kEach = 5;
  std::atomic<int> answered{0};
  std::atomic<int> ok{0};
  Notification start;
  Notification half_answered;
  std::vector<std::thread> threads;
  for (int t = 0; t < kAskers; ++t) {
    threads.emplace_back([&] {
      start.WaitForNotification();
      for (int i = 0; i < kEach; ++i) {
        Notification done;
        store->StartShrink([&](absl::StatusOr<ShrinkResult> result) {
          if (result.ok()) {
            ++ok;
          } else {
            EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
                << result.status();
          }
          if (++answered == kAskers * kEach / 2) half_answered.Notify();
          done.Notify();
        });
        done.WaitForNotification();
      }
    });
  }
  threads.emplace_back([&] {
    start.WaitForNotification();
    for (int i = 0;; ++i) {
      if (!items.Set(absl::StrCat("w", i % 10), *Value("w", i)).ok()) return;
    }
  });
  start.Notify();
  half_answered.WaitForNotification();
  const uint64_t shrinks_before_close = store->Stats().shrinks;
  ASSERT_TRUE(store->Close().ok());
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(answered.load(), kAskers * kEach);
  EXPECT_GE(ok.load(), kAskers * kEach / 2);
  // Joined requests share a run: never more runs than successful answers.
  EXPECT_LE(shrinks_before_close, static_cast<uint64_t>(ok.load()));
}

}  // namespace
}  // namespace persist
