// The typed C++ client against a real server (in-process channel) over a
// real store.
#include "clients/cpp/persist_client.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/write_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "tests/proto/make_item.h"
#include "tests/service/in_process_server.h"

namespace persist::client {
namespace {

using persist::test::v1::Item;
using persist::test::v1::Other;
using ::testing::HasSubstr;

using persist::testing::MakeItem;

class PersistClientTest : public ::testing::Test {
 protected:
  testing::InProcessServer server_{{{"items", Item::descriptor()}}};
  Client client_{server_.Channel()};
  TypedMap<Item> items_ = client_.Map<Item>("items");
};

TEST_F(PersistClientTest, TypedSetGetDeleteWithDurabilities) {
  for (v1::Durability durability :
       {v1::MEMORY, v1::ASYNC, v1::WRITE, v1::FSYNC}) {
    CallOptions options;
    options.durability = durability;
    absl::StatusOr<WriteResult> set =
        items_.Set("k", MakeItem("v", durability), options);
    ASSERT_TRUE(set.ok()) << set.status();
    EXPECT_EQ(set->existed, durability != v1::MEMORY);
  }
  absl::StatusOr<std::optional<Entry<Item>>> got = items_.Get("k");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value.count(), v1::FSYNC);
  EXPECT_TRUE(items_.Delete("k")->existed);
  EXPECT_FALSE(items_.Delete("k")->existed);
  EXPECT_FALSE(items_.Get("k")->has_value());
}

TEST_F(PersistClientTest, ResultsCarryRevisions) {
  absl::StatusOr<WriteResult> a = items_.Set("a", MakeItem("a", 1));
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<WriteResult> b = items_.Set("b", MakeItem("b", 2));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->revision, a->revision + 1);
  absl::StatusOr<std::optional<Entry<Item>>> got = items_.Get("a");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->mod_revision, a->revision);
  absl::StatusOr<Entry<Item>> updated =
      items_.Update("a", MakeItem("a2", 0), {"name"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->mod_revision, b->revision + 1);
  absl::StatusOr<Page<Item>> page = items_.List();
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->revision, b->revision + 1);
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].second.mod_revision, b->revision + 1);
  EXPECT_EQ(page->entries[1].second.mod_revision, b->revision);
}

TEST_F(PersistClientTest, TtlsAreSentAndExpiriesRead) {
  CallOptions options;
  options.ttl = absl::Hours(1);
  const absl::Time before = absl::Now();
  ASSERT_TRUE(items_.Set("brief", MakeItem("b"), options).ok());
  ASSERT_TRUE(items_.Set("kept", MakeItem("k")).ok());
  absl::StatusOr<std::optional<Entry<Item>>> brief = items_.Get("brief");
  ASSERT_TRUE(brief.ok() && brief->has_value());
  EXPECT_GE((*brief)->expire_time, before + absl::Hours(1));
  EXPECT_LE((*brief)->expire_time, absl::Now() + absl::Hours(1));
  EXPECT_EQ((*items_.Get("kept"))->expire_time, absl::InfiniteFuture());
  absl::StatusOr<Page<Item>> page = items_.List();
  ASSERT_TRUE(page.ok() && page->entries.size() == 2);
  EXPECT_EQ(page->entries[0].second.expire_time, (*brief)->expire_time);

  // An update keeps the expiry unless it gives one; a batch may give one.
  ASSERT_TRUE(items_.Update("brief", MakeItem("b2"), {"name"}).ok());
  EXPECT_EQ((*items_.Get("brief"))->expire_time, (*brief)->expire_time);
  Batch batch;
  batch.Set(items_, "kept", MakeItem("k2")).WithTtl(absl::Minutes(1));
  ASSERT_TRUE(client_.Write(batch).ok());
  EXPECT_LE((*items_.Get("kept"))->expire_time, absl::Now() + absl::Minutes(1));
}

TEST_F(PersistClientTest, WriteAppliesABatchOverMapsWithConsecutiveRevisions) {
  testing::InProcessServer server(
      {{"items", Item::descriptor()}, {"others", Other::descriptor()}});
  Client client(server.Channel());
  TypedMap<Item> items = client.Map<Item>("items");
  TypedMap<Other> others = client.Map<Other>("others");
  absl::StatusOr<WriteResult> old = items.Set("old", MakeItem("old", 1));
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_TRUE(items.Set("counter", MakeItem("counter", 1)).ok());
  Other other;
  other.set_text("o");
  Batch batch;
  batch.Set(items, "new", MakeItem("new", 2), MustNotExist())
      .Set(others, "o", other)
      .Delete(items, "old", EtagIs(old->etag))
      .Update(items, "counter", MakeItem("", 5), {"count"});
  EXPECT_EQ(batch.size(), 4u);
  CallOptions fsync;
  fsync.durability = v1::FSYNC;
  absl::StatusOr<BatchResult> done = client.Write(batch, fsync);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->results.size(), 4u);
  EXPECT_EQ(done->revision, old->revision + 5);
  EXPECT_FALSE(done->results[0].existed);
  EXPECT_TRUE(done->results[2].existed);
  EXPECT_TRUE(done->results[2].etag.empty());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(done->results[i].revision, old->revision + 2 + i) << i;
  }
  absl::StatusOr<Item> counter = done->Updated<Item>(3);
  ASSERT_TRUE(counter.ok()) << counter.status();
  EXPECT_EQ(counter->name(), "counter");
  EXPECT_EQ(counter->count(), 5);
  EXPECT_EQ(done->Updated<Item>(0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::optional<Entry<Item>>> got = items.Get("new");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->etag, done->results[0].etag);
  EXPECT_EQ((*got)->mod_revision, old->revision + 2);
  EXPECT_FALSE(items.Get("old")->has_value());
  EXPECT_EQ((*others.Get("o"))->value.text(), "o");

  // A precondition that fails: nothing changes, and the error says which.
  Batch again;
  again.Set(items, "newer", MakeItem("newer", 1))
      .Set(items, "new", MakeItem("x", 1), MustNotExist());
  absl::StatusOr<BatchResult> refused = client.Write(again);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("operations[1]"));
  EXPECT_FALSE(items.Get("newer")->has_value());
}

TEST_F(PersistClientTest, GetManyReadsManyKeysInOneCall) {
  absl::StatusOr<WriteResult> a = items_.Set("a", MakeItem("a", 1));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(items_.Set("c", MakeItem("c", 3)).ok());
  absl::StatusOr<std::vector<std::optional<Entry<Item>>>> got =
      items_.GetMany({"c", "b", "a"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  ASSERT_TRUE((*got)[0].has_value());
  EXPECT_EQ((*got)[0]->value.count(), 3);
  EXPECT_FALSE((*got)[1].has_value());
  ASSERT_TRUE((*got)[2].has_value());
  EXPECT_EQ((*got)[2]->etag, a->etag);
  EXPECT_EQ(client_.Map<Item>("nope").GetMany({"k"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PersistClientTest, ErrorsKeepTheServersCodeAndMessage) {
  absl::StatusOr<WriteResult> bad = items_.Set("bad\nkey", MakeItem("v", 1));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("position 3"));
  EXPECT_EQ(client_.Map<Item>("nope").Get("k").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client_.Map<Other>("items").Set("k", Other()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PersistClientTest, EtagRetryLoopsCountExactly) {
  ASSERT_TRUE(items_.Set("counter", MakeItem("c", 0)).ok());
  int retries = 0;
  for (int i = 0; i < 20; ++i) {
    for (;;) {
      absl::StatusOr<std::optional<Entry<Item>>> current =
          items_.Get("counter");
      ASSERT_TRUE(current.ok() && current->has_value());
      Item next = (*current)->value;
      next.set_count(next.count() + 1);
      CallOptions options;
      options.precondition.set_etag((*current)->etag);
      // Every other round, someone else writes in between.
      if (i % 2 == 0 && retries < 10) {
        Item other = (*current)->value;
        other.set_count(other.count() + 1);
        ASSERT_TRUE(items_.Set("counter", other).ok());
      }
      absl::StatusOr<WriteResult> written =
          items_.Set("counter", next, options);
      if (written.ok()) break;
      ASSERT_EQ(written.status().code(), absl::StatusCode::kAborted);
      ++retries;
    }
  }
  EXPECT_EQ(retries, 10);
  EXPECT_EQ((*items_.Get("counter"))->value.count(), 20 + 10);
}

TEST_F(PersistClientTest, UpdateListAndAdministration) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(items_.Set(absl::StrCat("k", i), MakeItem("v", i)).ok());
  }
  Item patch;
  patch.set_name("patched");
  absl::StatusOr<Entry<Item>> updated = items_.Update("k3", patch, {"name"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->value.name(), "patched");
  EXPECT_EQ(updated->value.count(), 3);

  std::vector<std::string> keys;
  std::string token;
  do {
    absl::StatusOr<Page<Item>> page = items_.List("k", 3, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& [key, entry] : page->entries) keys.push_back(key);
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(keys, (std::vector<std::string>{"k0", "k1", "k2", "k3", "k4", "k5",
                                            "k6"}));

  ASSERT_TRUE(client_.Flush().ok());
  absl::StatusOr<v1::ListMapsResponse> maps = client_.ListMaps();
  ASSERT_TRUE(maps.ok());
  EXPECT_EQ(maps->maps(0).live_keys(), 7);
  absl::StatusOr<v1::ShrinkResponse> shrunk = client_.Shrink();
  ASSERT_TRUE(shrunk.ok());
  EXPECT_EQ(shrunk->records_after(), 7u);
  EXPECT_EQ(client_.Stats()->wal_records(), 7u);
}

TEST_F(PersistClientTest, DeadlinesAreSent) {
  CallOptions options;
  options.deadline = -absl::Seconds(1);  // already passed
  EXPECT_EQ(items_.Get("k", options).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace persist::client
