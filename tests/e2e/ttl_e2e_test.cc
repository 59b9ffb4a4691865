// Expiry (TTL) against persistd as a real process: a value set with a ttl
// is gone once it expires, watchers get a DELETE marked expired, Stats
// count it, and expiries survive a restart; persistctl's --ttl.
#include <signal.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "example/v1/user.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/v1/persist.grpc.pb.h"
#include "tests/e2e/persistd_fixture.h"

namespace persist {
namespace {

using example::v1::User;
using ::testing::HasSubstr;
using testing::PersistdTest;

v1::SetRequest SetWithTtl(const std::string& key, absl::Duration ttl) {
  User user;
  user.set_name(key);
  v1::SetRequest request;
  request.set_map("users");
  request.set_key(key);
  request.mutable_value()->PackFrom(user);
  if (ttl != absl::ZeroDuration()) {
    request.mutable_ttl()->set_seconds(absl::ToInt64Seconds(ttl));
    request.mutable_ttl()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(ttl % absl::Seconds(1))));
  }
  return request;
}

grpc::Status Set(v1::Persist::Stub& stub, const v1::SetRequest& request) {
  grpc::ClientContext context;
  v1::SetResponse response;
  return stub.Set(&context, request, &response);
}

v1::GetResponse Get(v1::Persist::Stub& stub, const std::string& key) {
  v1::GetRequest request;
  request.set_map("users");
  request.set_key(key);
  grpc::ClientContext context;
  v1::GetResponse response;
  EXPECT_TRUE(stub.Get(&context, request, &response).ok());
  return response;
}

absl::Time TimeOf(const google::protobuf::Timestamp& time) {
  return absl::FromUnixSeconds(time.seconds()) +
         absl::Nanoseconds(time.nanos());
}

v1::StatsResponse Stats(v1::Persist::Stub& stub) {
  grpc::ClientContext context;
  v1::StatsResponse response;
  EXPECT_TRUE(stub.Stats(&context, v1::StatsRequest(), &response).ok());
  return response;
}

TEST_F(PersistdTest, AValueSetWithATtlExpiresForReadersWatchersAndRestarts) {
  auto persistd = Start();
  auto stub = persistd->Stub();
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(30));
  v1::WatchRequest watch;
  watch.set_map("users");
  auto reader = stub->Watch(&watch_context, watch);
  v1::WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));

  const absl::Time before = absl::Now();
  ASSERT_TRUE(Set(*stub, SetWithTtl("brief", absl::Milliseconds(300))).ok());
  ASSERT_TRUE(Set(*stub, SetWithTtl("lasting", absl::Hours(1))).ok());
  ASSERT_TRUE(Set(*stub, SetWithTtl("forever", absl::ZeroDuration())).ok());
  const v1::GetResponse lasting = Get(*stub, "lasting");
  ASSERT_TRUE(lasting.found());
  ASSERT_TRUE(lasting.has_expire_time());
  EXPECT_GE(TimeOf(lasting.expire_time()), before + absl::Hours(1));
  EXPECT_LE(TimeOf(lasting.expire_time()), absl::Now() + absl::Hours(1));
  EXPECT_FALSE(Get(*stub, "forever").has_expire_time());

  // The PUT carries the expiry; the expiry comes as a DELETE marked so.
  bool put_had_expiry = false;
  bool expired = false;
  int64_t expired_at = 0;
  while (!expired && reader->Read(&response)) {
    for (const v1::WatchEvent& event : response.events()) {
      if (event.key() != "brief") continue;
      if (event.type() == v1::WatchEvent::PUT) {
        put_had_expiry = event.has_expire_time();
      } else {
        EXPECT_EQ(event.type(), v1::WatchEvent::DELETE);
        expired = event.expired();
        expired_at = event.revision();
      }
    }
  }
  ASSERT_TRUE(expired) << reader->Finish().error_message();
  EXPECT_TRUE(put_had_expiry);
  EXPECT_GE(absl::Now(), before + absl::Milliseconds(300));
  EXPECT_FALSE(Get(*stub, "brief").found());
  const v1::StatsResponse stats = Stats(*stub);
  EXPECT_EQ(stats.expirations(), 1u);
  EXPECT_EQ(stats.expiring_keys(), 1);
  EXPECT_GE(stats.header().revision(), expired_at);
  watch_context.TryCancel();
  while (reader->Read(&response)) {
  }
  reader->Finish();

  ASSERT_EQ(persistd->Kill(SIGTERM), 0);
  persistd = Start();
  stub = persistd->Stub();
  EXPECT_FALSE(Get(*stub, "brief").found());
  const v1::GetResponse again = Get(*stub, "lasting");
  ASSERT_TRUE(again.found());
  EXPECT_EQ(again.expire_time().seconds(), lasting.expire_time().seconds());
  EXPECT_EQ(again.expire_time().nanos(), lasting.expire_time().nanos());
  EXPECT_TRUE(Get(*stub, "forever").found());
  EXPECT_EQ(Stats(*stub).expiring_keys(), 1);
}

TEST_F(PersistdTest, AnUpdateKeepsTheExpiryAndASetWithoutATtlClearsIt) {
  auto persistd = Start();
  auto stub = persistd->Stub();
  ASSERT_TRUE(Set(*stub, SetWithTtl("ada", absl::Hours(2))).ok());
  const google::protobuf::Timestamp expiry = Get(*stub, "ada").expire_time();

  v1::UpdateRequest update;
  update.set_map("users");
  update.set_key("ada");
  User patch;
  patch.set_age(37);
  update.mutable_value()->PackFrom(patch);
  update.mutable_update_mask()->add_paths("age");
  {
    grpc::ClientContext context;
    v1::UpdateResponse response;
    ASSERT_TRUE(stub->Update(&context, update, &response).ok());
  }
  v1::GetResponse updated = Get(*stub, "ada");
  EXPECT_EQ(updated.expire_time().seconds(), expiry.seconds());
  EXPECT_EQ(updated.expire_time().nanos(), expiry.nanos());

  // In a batch, an update may give a new ttl.
  v1::WriteRequest write;
  *write.add_operations()->mutable_update() = update;
  write.mutable_operations(0)->mutable_update()->mutable_ttl()->set_seconds(60);
  {
    grpc::ClientContext context;
    v1::WriteResponse response;
    ASSERT_TRUE(stub->Write(&context, write, &response).ok());
  }
  updated = Get(*stub, "ada");
  EXPECT_LT(TimeOf(updated.expire_time()), absl::Now() + absl::Seconds(61));

  ASSERT_TRUE(Set(*stub, SetWithTtl("ada", absl::ZeroDuration())).ok());
  EXPECT_FALSE(Get(*stub, "ada").has_expire_time());
  EXPECT_EQ(Stats(*stub).expiring_keys(), 0);
}

TEST_F(PersistdTest, ATtlThatIsNotPositiveIsRefused) {
  auto persistd = Start();
  auto stub = persistd->Stub();
  v1::SetRequest request = SetWithTtl("ada", absl::ZeroDuration());
  request.mutable_ttl()->set_seconds(-5);
  grpc::Status status = Set(*stub, request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("must be positive"));

  request.mutable_expire_time()->set_seconds(-1);
  request.mutable_expire_time()->set_nanos(-3);
  status = Set(*stub, request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not a valid"));
  EXPECT_FALSE(Get(*stub, "ada").found());

  // An expire_time already past writes a value that is gone at once.
  request.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) -
                                             60);
  request.mutable_expire_time()->set_nanos(0);
  ASSERT_TRUE(Set(*stub, request).ok());
  EXPECT_FALSE(Get(*stub, "ada").found());
}

TEST_F(PersistdTest, PersistctlSetsATtlAndShowsTheExpiry) {
  auto persistd = Start();
  const std::string ctl =
      absl::StrCat(PERSISTCTL_PATH, " --addr=", persistd->address(), " ");
  std::string out;
  ASSERT_EQ(testing::RunCapturing(
                ctl + R"(set users ada '{"name":"Ada"}' --ttl=1h)", &out),
            0)
      << out;
  ASSERT_EQ(testing::RunCapturing(ctl + "get users ada", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("\"expire_time\":\""));
  ASSERT_EQ(testing::RunCapturing(ctl + "list users", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("\"expire_time\":\""));
  EXPECT_EQ(testing::RunCapturing(
                ctl + R"(set users bob '{"name":"Bob"}' --ttl=-1s)", &out),
            3)
      << out;
  EXPECT_THAT(out, HasSubstr("positive time to live"));
}

}  // namespace
}  // namespace persist
