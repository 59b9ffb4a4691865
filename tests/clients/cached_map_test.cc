// WatchCall and CachedMap against a real server (in-process channel) over
// a real store: list+watch, typed events, callbacks, prefixes, and errors.
#include "clients/cpp/cached_map.h"

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/watch_call.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "tests/proto/make_item.h"
#include "tests/service/in_process_server.h"

namespace persist::client {
namespace {

using persist::test::v1::Item;
using persist::test::v1::Other;
using persist::testing::MakeItem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Type = WatchEvent<Item>::Type;

// What a callback saw: "PUT key count @revision" or "DELETE key @revision".
class Recorder {
 public:
  void operator()(const WatchEvent<Item>& event) {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(
        event.type == Type::kPut
            ? absl::StrCat("PUT ", event.key, " ", event.entry->value.count(),
                           " @", event.revision)
            : absl::StrCat("DELETE ", event.key, " @", event.revision));
  }
  std::vector<std::string> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> seen_;
};

class CachedMapTest : public ::testing::Test {
 protected:
  WriteResult Set(const std::string& key, int64_t count) {
    absl::StatusOr<WriteResult> set = items_.Set(key, MakeItem(key, count));
    EXPECT_TRUE(set.ok()) << set.status();
    return set.ok() ? *set : WriteResult{};
  }

  testing::InProcessServer server_{{{"items", Item::descriptor()}}};
  Client client_{server_.Channel()};
  TypedMap<Item> items_ = client_.Map<Item>("items");
};

TEST_F(CachedMapTest, AWatchCallListsThenStreamsTypedChanges) {
  Set("a", 1);
  const int64_t b = Set("b", 2).revision;
  WatchOptions options;
  options.send_initial = true;
  WatchCall<Item> watch(items_, options);
  std::vector<std::string> listed;
  int64_t listed_at = 0;
  while (true) {
    absl::StatusOr<WatchBatch<Item>> batch = watch.Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (const auto& [key, entry] : batch->initial) {
      listed.push_back(absl::StrCat(key, "=", entry.value.count()));
    }
    if (batch->initial_done) {
      listed_at = batch->revision;
      EXPECT_FALSE(batch->epoch.empty());
      break;
    }
  }
  EXPECT_THAT(listed, ElementsAre("a=1", "b=2"));
  EXPECT_EQ(listed_at, b);

  const int64_t c = Set("c", 3).revision;
  absl::StatusOr<WriteResult> deleted = items_.Delete("a");
  ASSERT_TRUE(deleted.ok() && deleted->existed);
  std::vector<WatchEvent<Item>> events;
  while (events.size() < 2) {
    absl::StatusOr<WatchBatch<Item>> batch = watch.Next();
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (auto& event : batch->events) events.push_back(std::move(event));
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, Type::kPut);
  EXPECT_EQ(events[0].key, "c");
  EXPECT_EQ(events[0].revision, c);
  ASSERT_TRUE(events[0].entry.has_value());
  EXPECT_EQ(events[0].entry->value.count(), 3);
  EXPECT_EQ(events[0].entry->mod_revision, c);
  EXPECT_EQ(events[1].type, Type::kDelete);
  EXPECT_EQ(events[1].key, "a");
  EXPECT_EQ(events[1].revision, deleted->revision);
  EXPECT_FALSE(events[1].entry.has_value());

  watch.Cancel();
  absl::StatusOr<WatchBatch<Item>> after = watch.Next();
  while (after.ok()) after = watch.Next();  // messages already on the way
  EXPECT_EQ(after.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(watch.Next().status().code(), absl::StatusCode::kCancelled)
      << "an ended call answers its status again";
}

TEST_F(CachedMapTest, AWatchCallOfTheWrongTypeEndsFailedPrecondition) {
  Set("a", 1);
  WatchOptions options;
  options.send_initial = true;
  WatchCall<Other> watch(client_.Map<Other>("items"), options);
  absl::StatusOr<WatchBatch<Other>> batch = watch.Next();
  while (batch.ok()) batch = watch.Next();
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(batch.status().message(), HasSubstr("persist.test.v1.Item"));
}

TEST_F(CachedMapTest, AWatchCallFromACompactedOrForeignRevisionIsOutOfRange) {
  WatchOptions options;
  options.start_revision = 1;
  options.epoch = "0123456789abcdef";
  WatchCall<Item> watch(items_, options);
  EXPECT_EQ(watch.Next().status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(CachedMapTest, ACachedMapListsFollowsAndCallsBackInRevisionOrder) {
  const int64_t a = Set("a", 1).revision;
  const int64_t b = Set("b", 2).revision;
  Recorder recorder;
  CachedMapOptions<Item> options;
  options.on_change = std::ref(recorder);
  CachedMap<Item> cache(items_, options);
  ASSERT_TRUE(cache.WaitSynced(absl::Seconds(30)).ok());
  EXPECT_EQ(cache.size(), 2u);
  ASSERT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.Get("a")->value.count(), 1);
  EXPECT_EQ(cache.Get("a")->mod_revision, a);
  EXPECT_EQ(cache.Get("zzz"), nullptr);
  EXPECT_EQ(cache.revision(), b);

  const int64_t c = Set("c", 3).revision;
  absl::StatusOr<WriteResult> deleted = items_.Delete("a");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  const WriteResult b2_write = Set("b", 20);
  const int64_t b2 = b2_write.revision;
  ASSERT_TRUE(cache.WaitFor(b2_write, absl::Seconds(30)).ok());
  EXPECT_EQ(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.Get("b")->value.count(), 20);
  EXPECT_EQ(cache.Get("c")->value.count(), 3);
  std::vector<std::string> keys;
  for (const auto& [key, entry] : cache.Snapshot()) keys.push_back(key);
  EXPECT_THAT(keys, ElementsAre("b", "c"));
  EXPECT_EQ(cache.epoch(), deleted->epoch);

  // The listing, as changes from an empty copy, then each change once.
  const std::vector<std::string> seen = recorder.seen();
  EXPECT_THAT(seen,
              ::testing::UnorderedElementsAreArray(
                  {absl::StrCat("PUT a 1 @", b), absl::StrCat("PUT b 2 @", b),
                   absl::StrCat("PUT c 3 @", c),
                   absl::StrCat("DELETE a @", deleted->revision),
                   absl::StrCat("PUT b 20 @", b2)}));
  ASSERT_EQ(seen.size(), 5u);
  const std::vector<std::string> after_listing(seen.begin() + 2, seen.end());
  EXPECT_THAT(after_listing,
              ElementsAre(absl::StrCat("PUT c 3 @", c),
                          absl::StrCat("DELETE a @", deleted->revision),
                          absl::StrCat("PUT b 20 @", b2)));
  const CachedMapStats stats = cache.stats();
  EXPECT_EQ(stats.listings, 1);
  EXPECT_EQ(stats.resumes, 0);
  EXPECT_EQ(stats.events, 3);
  EXPECT_TRUE(stats.last_error.ok());
}

TEST_F(CachedMapTest, ACachedMapKeepsOnlyItsPrefix) {
  Set("user/1", 1);
  Set("group/1", 1);
  CachedMapOptions<Item> options;
  options.prefix = "user/";
  CachedMap<Item> cache(items_, options);
  ASSERT_TRUE(cache.WaitSynced(absl::Seconds(30)).ok());
  Set("group/2", 2);
  const WriteResult last = Set("user/2", 2);
  ASSERT_TRUE(cache.WaitFor(last, absl::Seconds(30)).ok());
  std::vector<std::string> keys;
  for (const auto& [key, entry] : cache.Snapshot()) keys.push_back(key);
  EXPECT_THAT(keys, ElementsAre("user/1", "user/2"));
}

TEST_F(CachedMapTest, ACachedMapOfAMissingMapIsNeverSynced) {
  CachedMapOptions<Item> options;
  options.retry_max = absl::Milliseconds(200);
  CachedMap<Item> cache(client_.Map<Item>("nope"), options);
  const absl::Status synced = cache.WaitSynced(absl::Milliseconds(300));
  EXPECT_EQ(synced.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(synced.message(), HasSubstr("not listed yet"));
  EXPECT_THAT(synced.message(), HasSubstr("nope"));
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace persist::client
