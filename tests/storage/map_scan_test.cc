// DynamicMap::Scan: the ordered index behind List (DESIGN.md section 5).
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using ::testing::ElementsAre;
using testing::TempDir;

Item Named(const std::string& name) {
  Item item;
  item.set_name(name);
  return item;
}

WriteOptions InMemory() {
  WriteOptions options;
  options.durability = Durability::kMemory;
  return options;
}

class MapScanTest : public ::testing::Test {
 protected:
  std::vector<std::string> Keys(absl::string_view prefix,
                                absl::string_view after, size_t limit = 1000) {
    std::vector<std::string> keys;
    EXPECT_TRUE(items_
                    .Scan(prefix, after,
                          [&](absl::string_view key, const Entry<Item>& e) {
                            EXPECT_EQ(e.value->name(), key);
                            keys.emplace_back(key);
                            return keys.size() < limit;
                          })
                    .ok());
    return keys;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_ = *Store::Open(
      testing::QuietStoreOptions(dir_, {{"items", Item::descriptor()}}));
  Map<Item> items_ = *store_->GetMap<Item>("items");
};

TEST_F(MapScanTest, VisitsKeysInByteOrderFromAfterTheStartWithinThePrefix) {
  for (const char* key :
       {"b", "a/2", "a/10", "a/1", "a", "ab", "a/1/x", "\xc3\xa9"}) {
    ASSERT_TRUE(items_.Set(key, Named(key)).ok());
  }
  EXPECT_THAT(Keys("", ""), ElementsAre("a", "a/1", "a/1/x", "a/10", "a/2",
                                        "ab", "b", "\xc3\xa9"));
  EXPECT_THAT(Keys("a/", ""), ElementsAre("a/1", "a/1/x", "a/10", "a/2"));
  EXPECT_THAT(Keys("a/", "a/1/x"), ElementsAre("a/10", "a/2"));
  // A start before the prefix starts at the prefix; one past it, nowhere.
  EXPECT_THAT(Keys("a/", "0"), ElementsAre("a/1", "a/1/x", "a/10", "a/2"));
  EXPECT_THAT(Keys("a/", "a/3"), ElementsAre());
  EXPECT_THAT(Keys("zz", ""), ElementsAre());
  EXPECT_THAT(Keys("", "", 2), ElementsAre("a", "a/1"));
  // The prefix itself is a key of the listing.
  EXPECT_THAT(Keys("ab", ""), ElementsAre("ab"));
}

TEST_F(MapScanTest, DeletedKeysLeaveTheIndexAndRewrittenOnesStayOnce) {
  for (int i = 0; i < 300; ++i) {
    const std::string key = absl::StrCat("k", 1000 + i);
    ASSERT_TRUE(items_.Set(key, Named(key), InMemory()).ok());
  }
  for (int i = 0; i < 300; i += 2) {
    ASSERT_TRUE(items_.Delete(absl::StrCat("k", 1000 + i), InMemory()).ok());
  }
  for (int i = 1; i < 300; i += 2) {
    const std::string key = absl::StrCat("k", 1000 + i);
    ASSERT_TRUE(items_.Set(key, Named(key), InMemory()).ok());
  }
  const std::vector<std::string> keys = Keys("", "");
  ASSERT_EQ(keys.size(), 150u);
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(keys[i], absl::StrCat("k", 1001 + 2 * i));
  }
  EXPECT_EQ(items_.Size(), 150);
}

TEST_F(MapScanTest, PagesMatchAnOrderedModelUnderRandomWrites) {
  std::mt19937 random(7);
  std::map<std::string, std::string> model;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 200; ++i) {
      const std::string key =
          absl::StrCat(random() % 2 ? "p/" : "q/", random() % 500);
      if (random() % 3 == 0) {
        ASSERT_TRUE(items_.Delete(key, InMemory()).ok());
        model.erase(key);
      } else {
        ASSERT_TRUE(items_.Set(key, Named(key), InMemory()).ok());
        model[key] = key;
      }
    }
    // Page through "p/" seven keys at a time, as List does.
    std::vector<std::string> paged;
    std::string after;
    for (;;) {
      const std::vector<std::string> page = Keys("p/", after, 7);
      paged.insert(paged.end(), page.begin(), page.end());
      if (page.size() < 7) break;
      after = page.back();
    }
    std::vector<std::string> expected;
    for (const auto& [key, value] : model) {
      if (absl::StartsWith(key, "p/")) expected.push_back(key);
    }
    ASSERT_EQ(paged, expected) << "round " << round;
  }
}

// The callback runs with no lock held: it may write the map it scans. A
// key written meanwhile may or may not be seen, at most once.
TEST_F(MapScanTest, TheCallbackMayWriteTheMapItScans) {
  for (const char* key : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(items_.Set(key, Named(key)).ok());
  }
  std::vector<std::string> seen;
  ASSERT_TRUE(items_
                  .Scan("", "",
                        [&](absl::string_view key, const Entry<Item>&) {
                          seen.emplace_back(key);
                          if (key == "a") {
                            EXPECT_TRUE(items_.Delete("c").ok());
                            EXPECT_TRUE(items_.Set("bb", Named("bb")).ok());
                          }
                          return true;
                        })
                  .ok());
  std::vector<std::string> expected = {"a", "b", "d"};
  std::vector<std::string> stable;
  for (const std::string& key : seen) {
    if (key != "c" && key != "bb") stable.push_back(key);
  }
  EXPECT_EQ(stable, expected);
  EXPECT_LE(std::count(seen.begin(), seen.end(), "c"), 1);
  EXPECT_EQ(Keys("", ""), (std::vector<std::string>{"a", "b", "bb", "d"}));
}

TEST_F(MapScanTest, TheIndexIsRebuiltByRecovery) {
  for (const char* key : {"c", "a", "b"}) {
    ASSERT_TRUE(items_.Set(key, Named(key)).ok());
  }
  ASSERT_TRUE(items_.Delete("b").ok());
  store_.reset();
  store_ = *Store::Open(
      testing::QuietStoreOptions(dir_, {{"items", Item::descriptor()}}));
  items_ = *store_->GetMap<Item>("items");
  EXPECT_THAT(Keys("", ""), ElementsAre("a", "c"));
}

}  // namespace
}  // namespace persist
