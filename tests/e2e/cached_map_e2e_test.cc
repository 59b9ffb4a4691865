// The C++ client's CachedMap against persistd as a real process over TCP:
// it lists again after persistd restarts (a new epoch), and after its
// callback stalls long enough for persistd to end its stream, it resumes
// with no change missed and none twice.
#include <signal.h>
#include <sys/wait.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cpp/cached_map.h"
#include "clients/cpp/persist_client.h"
#include "example/v1/user.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/persistd_fixture.h"

namespace persist {
namespace {

using client::CachedMap;
using client::CachedMapOptions;
using client::Client;
using client::WatchEvent;
using client::WriteResult;
using example::v1::User;
using testing::PersistdTest;

User Named(const std::string& name) {
  User user;
  user.set_name(name);
  return user;
}

TEST_F(PersistdTest, ACachedMapListsAgainAfterPersistdRestarts) {
  auto persistd = Start();
  const std::string address = persistd->address();
  std::unique_ptr<Client> client = Client::Connect(address);
  auto users = client->Map<User>("users");
  ASSERT_TRUE(users.Set("alice", Named("Alice")).ok());

  CachedMapOptions<User> options;
  options.retry_max = absl::Milliseconds(200);
  CachedMap<User> cache(users, options);
  ASSERT_TRUE(cache.WaitSynced(absl::Seconds(30)).ok());
  absl::StatusOr<WriteResult> bob = users.Set("bob", Named("Bob"));
  ASSERT_TRUE(bob.ok()) << bob.status();
  ASSERT_TRUE(cache.WaitFor(*bob, absl::Seconds(30)).ok());
  const std::string first_epoch = cache.epoch();

  const int status = persistd->Kill(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  persistd = Start({absl::StrCat("--listen=", address)});
  ASSERT_EQ(persistd->address(), address) << persistd->banner();
  // A client of its own: the cache's channel may be waiting out its
  // reconnection backoff, and would answer UNAVAILABLE until then.
  std::unique_ptr<Client> writer = Client::Connect(address);
  auto writer_users = writer->Map<User>("users");
  absl::StatusOr<WriteResult> carol = writer_users.Set("carol", Named("Carol"));
  ASSERT_TRUE(carol.ok()) << carol.status();
  absl::StatusOr<WriteResult> gone = writer_users.Delete("alice");
  ASSERT_TRUE(gone.ok() && gone->existed) << gone.status();
  ASSERT_NE(gone->epoch, first_epoch);

  const absl::Status caught_up = cache.WaitFor(*gone, absl::Seconds(60));
  ASSERT_TRUE(caught_up.ok()) << caught_up;
  EXPECT_EQ(cache.epoch(), gone->epoch);
  EXPECT_EQ(cache.Get("alice"), nullptr);
  ASSERT_NE(cache.Get("bob"), nullptr);
  EXPECT_EQ(cache.Get("bob")->value.name(), "Bob");
  ASSERT_NE(cache.Get("carol"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  const client::CachedMapStats stats = cache.stats();
  EXPECT_EQ(stats.listings, 2) << "the first, and one in the new epoch";
  EXPECT_GE(stats.resumes, 1);
}

// Holds the callback while closed.
class Gate {
 public:
  explicit Gate(bool open = false) : open_(open) {}
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    open_cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    open_cv_.notify_all();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable open_cv_;
  bool open_;
};

TEST_F(PersistdTest, ACachedMapWhoseCallbackStallsResumesWithNoGap) {
  // Ended once 150 revisions behind; the history keeps all 280 changes, so
  // that the cache can resume rather than list again.
  auto persistd = Start(
      {"--watch_history_changes=300", "--watch_history_bytes=1000000000"});
  std::unique_ptr<Client> client = Client::Connect(persistd->address());
  auto users = client->Map<User>("users");

  Gate gate;
  std::mutex mu;
  std::vector<int64_t> seen;  // guarded by mu
  CachedMapOptions<User> options;
  options.on_change = [&](const WatchEvent<User>& event) {
    gate.Pass();
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(event.revision);
  };
  CachedMap<User> cache(users, options);
  ASSERT_TRUE(cache.WaitSynced(absl::Seconds(30)).ok());

  // 70 MB while the callback holds the cache's thread: far more than the
  // connection's windows and socket buffers hold.
  std::vector<int64_t> written;
  WriteResult last;
  client::CallOptions memory;
  memory.durability = v1::MEMORY;
  for (int i = 0; i < 280; ++i) {
    absl::StatusOr<WriteResult> set =
        users.Set(absl::StrCat("user", i),
                  Named(std::string(256 << 10, 'a' + i % 26)), memory);
    ASSERT_TRUE(set.ok()) << set.status();
    written.push_back(set->revision);
    last = *set;
  }
  gate.Open();

  const absl::Status caught_up = cache.WaitFor(last, absl::Seconds(60));
  ASSERT_TRUE(caught_up.ok()) << caught_up;
  EXPECT_EQ(cache.size(), 280u);
  {
    // WaitFor returns once the callbacks of the change ran too.
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(seen, written) << "each change once, in order";
  }
  const client::CachedMapStats stats = cache.stats();
  EXPECT_EQ(stats.listings, 1);
  EXPECT_GE(stats.resumes, 1);
  EXPECT_EQ(stats.last_error.code(), absl::StatusCode::kResourceExhausted)
      << stats.last_error;
}

TEST_F(PersistdTest,
       ACachedMapThatFellOutOfTheHistoryListsAgainInTheSameEpoch) {
  // A history of at most 5 MB: the 60 values of 256 KB below push out the
  // changes the stalled cache still needs.
  auto persistd =
      Start({"--watch_history_changes=100", "--watch_history_bytes=5000000"});
  std::unique_ptr<Client> client = Client::Connect(persistd->address());
  auto users = client->Map<User>("users");
  ASSERT_TRUE(users.Set("victim", Named("v")).ok());

  Gate gate(/*open=*/true);
  std::mutex mu;
  std::vector<std::string> seen;  // guarded by mu
  CachedMapOptions<User> options;
  options.on_change = [&](const WatchEvent<User>& event) {
    gate.Pass();
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(absl::StrCat(
        event.type == WatchEvent<User>::Type::kPut ? "PUT " : "DELETE ",
        event.key));
  };
  CachedMap<User> cache(users, options);
  ASSERT_TRUE(cache.WaitSynced(absl::Seconds(30)).ok());
  const std::string epoch = cache.epoch();

  gate.Close();
  ASSERT_TRUE(users.Set("trigger", Named("t")).ok());  // holds the cache
  ASSERT_TRUE(users.Delete("victim").ok());
  WriteResult last;
  client::CallOptions memory;
  memory.durability = v1::MEMORY;
  for (int i = 0; i < 60; ++i) {
    absl::StatusOr<WriteResult> set = users.Set(
        absl::StrCat("big", i), Named(std::string(256 << 10, 'b')), memory);
    ASSERT_TRUE(set.ok()) << set.status();
    last = *set;
  }
  gate.Open();

  const absl::Status caught_up = cache.WaitFor(last, absl::Seconds(60));
  ASSERT_TRUE(caught_up.ok()) << caught_up;
  EXPECT_EQ(cache.epoch(), epoch);
  EXPECT_EQ(cache.Get("victim"), nullptr);
  EXPECT_NE(cache.Get("trigger"), nullptr);
  EXPECT_EQ(cache.size(), 61u);
  const client::CachedMapStats stats = cache.stats();
  EXPECT_EQ(stats.listings, 2) << "the first, and one after falling out";
  std::lock_guard<std::mutex> lock(mu);
  // The victim's delete came with the second listing, as a difference.
  EXPECT_THAT(seen, ::testing::Contains("DELETE victim"));
}

}  // namespace
}  // namespace persist
