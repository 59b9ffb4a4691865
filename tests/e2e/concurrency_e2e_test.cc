// Many clients at once against a real persistd, each on its own connection,
// through the C++ client library: counters incremented with etag retry
// loops end at the exact sum while field-mask updates land on the same
// keys, and a SIGKILL in the middle of WRITE-durability writes from several
// clients loses none of the acknowledged ones.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "clients/cpp/persist_client.h"
#include "example/v1/user.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/persistd_fixture.h"

namespace persist {
namespace {

using client::CallOptions;
using client::Entry;
using client::WriteResult;
using example::v1::User;
using testing::Persistd;
using testing::PersistdTest;

// A client with a connection of its own (not shared with other channels to
// the same address), as separate processes would have.
std::unique_ptr<client::Client> OwnConnection(const Persistd& persistd) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return std::make_unique<client::Client>(grpc::CreateCustomChannel(
      persistd.address(), grpc::InsecureChannelCredentials(), arguments));
}

std::shared_ptr<grpc::Channel> OwnChannel(const Persistd& persistd) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(
      persistd.address(), grpc::InsecureChannelCredentials(), arguments);
}

// Adds one to `key`'s age: read, then write with the read's etag (or
// create), again from the read when another writer came first. Returns the
// retries, or -1 on an unexpected error.
int Increment(const client::TypedMap<User>& users, const std::string& key,
              v1::Durability durability) {
  for (int retries = 0;; ++retries) {
    absl::StatusOr<std::optional<Entry<User>>> current = users.Get(key);
    if (!current.ok()) return -1;
    User next;
    CallOptions options;
    options.durability = durability;
    if (current->has_value()) {
      next = (*current)->value;
      options.precondition.set_etag((*current)->etag);
    } else {
      options.precondition.set_must_not_exist(true);
    }
    next.set_age(next.age() + 1);
    absl::StatusOr<WriteResult> written = users.Set(key, next, options);
    if (written.ok()) return retries;
    if (written.status().code() != absl::StatusCode::kAborted &&
        written.status().code() != absl::StatusCode::kFailedPrecondition) {
      ADD_FAILURE() << written.status();
      return -1;
    }
  }
}

TEST_F(PersistdTest, EtagRetryLoopsCountExactlyUnderConcurrentUpdates) {
  constexpr int kCounters = 4;
  constexpr int kIncrementers = 8;
  constexpr int kIncrementsEach = 60;
  constexpr int kLabelers = 2;
  constexpr int kLabelsEach = 60;
  auto persistd = Start();
  std::atomic<int> retries{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kIncrementers; ++c) {
    threads.emplace_back([&, c] {
      auto client = OwnConnection(*persistd);
      auto users = client->Map<User>("users");
      const v1::Durability durability =
          std::vector<v1::Durability>{v1::ASYNC, v1::WRITE, v1::FSYNC}[c % 3];
      for (int i = 0; i < kIncrementsEach; ++i) {
        const int r = Increment(
            users, absl::StrCat("counter", (c + i) % kCounters), durability);
        if (r < 0) {
          ++failures;
          return;
        }
        retries += r;
      }
    });
  }
  // Field-mask updates of another field on the same keys: they change the
  // etags under the incrementers, but must never undo an increment.
  for (int c = 0; c < kLabelers; ++c) {
    threads.emplace_back([&, c] {
      auto client = OwnConnection(*persistd);
      auto users = client->Map<User>("users");
      for (int i = 0; i < kLabelsEach; ++i) {
        User patch;
        patch.set_email(absl::StrCat("labeler", c, "-", i, "@example.org"));
        if (!users
                 .Update(absl::StrCat("counter", i % kCounters), patch,
                         {"email"}, {}, /*allow_missing=*/true)
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);

  auto check = [&](const Persistd& server) {
    auto client = OwnConnection(server);
    auto users = client->Map<User>("users");
    int total = 0;
    for (int k = 0; k < kCounters; ++k) {
      absl::StatusOr<std::optional<Entry<User>>> counter =
          users.Get(absl::StrCat("counter", k));
      ASSERT_TRUE(counter.ok() && counter->has_value()) << k;
      // Each incrementer spreads its increments evenly over the counters.
      EXPECT_EQ((*counter)->value.age(),
                kIncrementers * kIncrementsEach / kCounters)
          << "counter" << k;
      EXPECT_THAT((*counter)->value.email(),
                  ::testing::MatchesRegex("labeler[01]-[0-9]+@example.org"));
      total += (*counter)->value.age();
    }
    EXPECT_EQ(total, kIncrementers * kIncrementsEach);
  };
  check(*persistd);
  std::printf("etag conflicts retried: %d\n", retries.load());

  // Acknowledged at ASYNC, WRITE and FSYNC: all there after a graceful
  // restart.
  const int status = persistd->Kill(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  persistd = Start();
  check(*persistd);
}

TEST_F(PersistdTest, SigkillDuringWritesFromManyClientsKeepsAcknowledged) {
  constexpr int kWriters = 6;
  constexpr int kAcknowledgedBeforeKill = 1500;
  auto persistd = Start();
  std::atomic<int> acknowledged{0};
  std::atomic<int> stopped{0};
  // Enough writes acknowledged, or every writer stopped (then the test
  // fails below instead of waiting forever).
  Notification enough;
  // Per writer: how many of its keys w<t>-0 ... were acknowledged, in order.
  std::vector<int> last(kWriters, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      auto client = OwnConnection(*persistd);
      auto users = client->Map<User>("users");
      CallOptions options;
      options.durability = v1::WRITE;
      for (int i = 0;; ++i) {
        User user;
        user.set_name(absl::StrCat("writer", t));
        user.set_age(i);
        if (!users.Set(absl::StrCat("w", t, "-", i), user, options).ok()) {
          // persistd is gone.
          if (++stopped == kWriters) enough.Notify();
          return;
        }
        last[t] = i + 1;
        if (++acknowledged == kAcknowledgedBeforeKill) enough.Notify();
      }
    });
  }
  enough.WaitForNotification();
  persistd->Kill(SIGKILL);
  for (std::thread& thread : threads) thread.join();
  ASSERT_GE(acknowledged.load(), kAcknowledgedBeforeKill)
      << "the writers stopped before the kill";

  persistd = Start();
  auto client = OwnConnection(*persistd);
  auto users = client->Map<User>("users");
  int checked = 0;
  for (int t = 0; t < kWriters; ++t) {
    for (int i = 0; i < last[t]; ++i) {
      absl::StatusOr<std::optional<Entry<User>>> user =
          users.Get(absl::StrCat("w", t, "-", i));
      ASSERT_TRUE(user.ok() && user->has_value()) << "w" << t << "-" << i;
      EXPECT_EQ((*user)->value.age(), i);
      ++checked;
    }
  }
  EXPECT_GE(checked, kAcknowledgedBeforeKill);
}

// Atomic batches under SIGKILL: each writer's batch i sets four keys of
// its own to i and its head key to i. After the restart, the head says
// which batch was the last to reach the file; that batch and every one
// before it are there whole, none after it is there at all, and no batch
// acknowledged is missing.
TEST_F(PersistdTest, SigkillDuringBatchesKeepsEachBatchWholeOrNotAtAll) {
  constexpr int kWriters = 4;
  constexpr int kKeys = 4;
  constexpr int kAcknowledgedBeforeKill = 600;
  auto persistd = Start();
  std::atomic<int> acknowledged{0};
  std::atomic<int> stopped{0};
  Notification enough;
  std::vector<int> acknowledged_of(kWriters, 0);  // batches 0..n-1
  auto set = [](const std::string& key, int age) {
    v1::WriteOperation operation;
    operation.mutable_set()->set_map("users");
    operation.mutable_set()->set_key(key);
    User user;
    user.set_age(age);
    operation.mutable_set()->mutable_value()->PackFrom(user);
    return operation;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::Persist::NewStub(OwnChannel(*persistd));
      for (int i = 0;; ++i) {
        v1::WriteRequest request;
        request.set_durability(v1::WRITE);
        for (int k = 0; k < kKeys; ++k) {
          *request.add_operations() = set(absl::StrCat("b", t, "-", k), i);
        }
        *request.add_operations() = set(absl::StrCat("b", t, "-head"), i);
        v1::WriteResponse response;
        grpc::ClientContext context;
        if (!stub->Write(&context, request, &response).ok()) {
          if (++stopped == kWriters) enough.Notify();
          return;
        }
        acknowledged_of[t] = i + 1;
        if (++acknowledged == kAcknowledgedBeforeKill) enough.Notify();
      }
    });
  }
  enough.WaitForNotification();
  persistd->Kill(SIGKILL);
  for (std::thread& thread : threads) thread.join();
  ASSERT_GE(acknowledged.load(), kAcknowledgedBeforeKill)
      << "the writers stopped before the kill";

  persistd = Start();
  auto stub = persistd->Stub();
  for (int t = 0; t < kWriters; ++t) {
    SCOPED_TRACE(absl::StrCat("writer ", t));
    std::optional<User> head = GetUser(*stub, absl::StrCat("b", t, "-head"));
    ASSERT_TRUE(head.has_value());
    // Acknowledged batches are all there; the one in flight may be too.
    EXPECT_GE(head->age(), acknowledged_of[t] - 1);
    EXPECT_LE(head->age(), acknowledged_of[t]);
    for (int k = 0; k < kKeys; ++k) {
      std::optional<User> user = GetUser(*stub, absl::StrCat("b", t, "-", k));
      ASSERT_TRUE(user.has_value()) << k;
      EXPECT_EQ(user->age(), head->age()) << "key " << k;
    }
  }
}

// SIGTERM while many clients write: every call that persistd took either
// completes (and its write is there after a restart) or is turned away
// with UNAVAILABLE, which clients retry; none is CANCELLED half-way.
TEST_F(PersistdTest, SigtermLetsCallsInFlightFinish) {
  constexpr int kWriters = 12;
  constexpr int kAcknowledgedBeforeTerm = 600;
  auto persistd = Start();
  std::atomic<int> acknowledged{0};
  std::atomic<int> stopped{0};
  Notification enough;
  Mutex mu;
  // Status codes seen, by name, with the message of one of each.
  std::map<std::string, std::pair<int, std::string>> codes;
  std::vector<int> last(kWriters, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      auto client = OwnConnection(*persistd);
      auto users = client->Map<User>("users");
      CallOptions options;
      options.durability = t % 2 ? v1::FSYNC : v1::WRITE;
      for (int i = 0;; ++i) {
        User user;
        user.set_age(i);
        absl::StatusOr<WriteResult> written =
            users.Set(absl::StrCat("w", t, "-", i), user, options);
        if (!written.ok()) {
          {
            MutexLock lock(&mu);
            auto& [count, message] =
                codes[absl::StatusCodeToString(written.status().code())];
            ++count;
            message = std::string(written.status().message());
          }
          if (++stopped == kWriters) enough.Notify();
          return;
        }
        last[t] = i + 1;
        if (++acknowledged == kAcknowledgedBeforeTerm) enough.Notify();
      }
    });
  }
  enough.WaitForNotification();
  const int status = persistd->Kill(SIGTERM);
  for (std::thread& thread : threads) thread.join();
  ASSERT_GE(acknowledged.load(), kAcknowledgedBeforeTerm);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  {
    MutexLock lock(&mu);
    for (const auto& [code, seen] : codes) {
      EXPECT_EQ(code, "UNAVAILABLE")
          << seen.first << " calls ended " << code << ": " << seen.second;
    }
  }
  persistd = Start();
  auto client = OwnConnection(*persistd);
  auto users = client->Map<User>("users");
  for (int t = 0; t < kWriters; ++t) {
    for (int i = 0; i < last[t]; ++i) {
      absl::StatusOr<std::optional<Entry<User>>> user =
          users.Get(absl::StrCat("w", t, "-", i));
      ASSERT_TRUE(user.ok() && user->has_value()) << "w" << t << "-" << i;
    }
  }
}

}  // namespace
}  // namespace persist
