// persistd as a real process on a loopback port: started with its embedded
// default (the example schema), called over TCP, stopped with SIGTERM and
// SIGKILL, restarted.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "example/v1/user.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "json/json_codec.h"
#include "persist/v1/persist.grpc.pb.h"
#include "tests/e2e/persistd_fixture.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using example::v1::User;
using ::testing::HasSubstr;
using testing::Persistd;
using testing::PersistdTest;

TEST_F(PersistdTest, ServesTheEmbeddedExampleAndReportsHealth) {
  auto persistd = Start();
  EXPECT_THAT(persistd->banner(), HasSubstr("users (example.v1.User"));
  auto stub = persistd->Stub();
  ASSERT_TRUE(SetUser(*stub, "alice", 30, v1::WRITE).ok());
  ASSERT_TRUE(GetUser(*stub, "alice").has_value());
  EXPECT_EQ(GetUser(*stub, "alice")->age(), 30);

  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      persistd->address(), grpc::InsecureChannelCredentials()));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(PersistdTest, GracefulShutdownKeepsEveryDurabilityAndExitsZero) {
  {
    auto persistd = Start();
    auto stub = persistd->Stub();
    ASSERT_TRUE(SetUser(*stub, "async", 1, v1::ASYNC).ok());
    ASSERT_TRUE(SetUser(*stub, "write", 2, v1::WRITE).ok());
    ASSERT_TRUE(SetUser(*stub, "fsync", 3, v1::FSYNC).ok());
    ASSERT_TRUE(SetUser(*stub, "default", 4, v1::DURABILITY_UNSPECIFIED).ok());
    // Closing the connection first: persistd waits up to 5 s for connected
    // clients to go before it cancels what is left.
    stub.reset();
    const int status = persistd->Kill(SIGTERM);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto persistd = Start();
  auto stub = persistd->Stub();
  for (const char* key : {"async", "write", "fsync", "default"}) {
    EXPECT_TRUE(GetUser(*stub, key).has_value()) << key;
  }
}

TEST_F(PersistdTest, SigkillKeepsAcknowledgedWrites) {
  {
    auto persistd = Start();
    auto stub = persistd->Stub();
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(SetUser(*stub, absl::StrCat("u", i), i, v1::WRITE).ok());
    }
    persistd->Kill(SIGKILL);
  }
  auto persistd = Start();
  auto stub = persistd->Stub();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(GetUser(*stub, absl::StrCat("u", i)).has_value()) << i;
  }
}

// Revisions go on in a new epoch after a restart: what the file held
// comes back at revision 1, and the first change after it takes 2.
TEST_F(PersistdTest, ARestartStartsANewEpochOfRevisions) {
  const auto get_u2 = [](v1::Persist::Stub& stub) {
    v1::GetRequest get;
    get.set_map("users");
    get.set_key("u2");
    v1::GetResponse got;
    grpc::ClientContext context;
    EXPECT_TRUE(stub.Get(&context, get, &got).ok());
    return got;
  };
  std::string first_epoch;
  {
    auto persistd = Start();
    auto stub = persistd->Stub();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(SetUser(*stub, absl::StrCat("u", i), i, v1::WRITE).ok());
    }
    const v1::GetResponse got = get_u2(*stub);
    EXPECT_EQ(got.mod_revision(), 4);
    first_epoch = got.header().epoch();
    persistd->Kill(SIGKILL);
  }
  auto persistd = Start();
  auto stub = persistd->Stub();
  const v1::GetResponse got = get_u2(*stub);
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.mod_revision(), 1);
  EXPECT_EQ(got.header().revision(), 1);
  EXPECT_NE(got.header().epoch(), first_epoch);
  EXPECT_EQ(got.etag(), absl::StrCat(got.header().epoch(), "-1"));

  v1::SetRequest set;
  set.set_map("users");
  set.set_key("u9");
  example::v1::User user;
  user.set_name("u9");
  set.mutable_value()->PackFrom(user);
  v1::SetResponse made;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->Set(&context, set, &made).ok());
  EXPECT_EQ(made.header().revision(), 2);
  EXPECT_EQ(made.header().epoch(), got.header().epoch());
}

TEST_F(PersistdTest, ClientDemoRunsAgainstPersistd) {
  auto persistd = Start();
  std::string output;
  ASSERT_EQ(
      testing::RunCapturing(
          absl::StrCat(CLIENT_DEMO_PATH, " ", persistd->address()), &output),
      0)
      << output;
  EXPECT_THAT(output, HasSubstr("age: 37"));
  auto stub = persistd->Stub();
  EXPECT_EQ(GetUser(*stub, "ada")->age(), 37);
  // --help is help, not a host name.
  ASSERT_EQ(
      testing::RunCapturing(absl::StrCat(CLIENT_DEMO_PATH, " --help"), &output),
      0);
  EXPECT_THAT(output, HasSubstr("usage: client_demo [HOST:PORT]"));
  EXPECT_EQ(
      testing::RunCapturing(absl::StrCat(CLIENT_DEMO_PATH, " -x"), &output),
      64);
}

TEST_F(PersistdTest, ServesTlsAndRefusesPlaintext) {
  MakeCertificates();
  auto persistd = Start({absl::StrCat("--tls_cert=", dir_.Path("server.pem")),
                         absl::StrCat("--tls_key=", dir_.Path("server.key"))});
  EXPECT_THAT(persistd->banner(), HasSubstr("(TLS)"));
  EXPECT_TRUE(
      SetUser(*persistd->Stub(TlsCredentials(false)), "tls", 1, v1::WRITE)
          .ok());
  EXPECT_EQ(SetUser(*persistd->Stub(), "plain", 1, v1::WRITE).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(PersistdTest, MutualTlsNeedsAClientCertificate) {
  auto persistd = StartWithMutualTls();
  EXPECT_THAT(persistd->banner(), HasSubstr("(mTLS)"));
  EXPECT_TRUE(
      SetUser(*persistd->Stub(TlsCredentials(true)), "mtls", 1, v1::WRITE)
          .ok());
  EXPECT_EQ(
      SetUser(*persistd->Stub(TlsCredentials(false)), "anonymous", 1, v1::WRITE)
          .error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

TEST_F(PersistdTest, TokensSeparateReadersFromWriters) {
  testing::WriteFileOrDie(
      dir_.Path("tokens"),
      "# test tokens\nreader-token read\nwriter-token write\n");
  auto persistd = Start({absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  auto stub = persistd->Stub();
  auto call = [&](const char* token, bool write) {
    grpc::ClientContext context;
    if (token != nullptr) {
      context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
    if (write) {
      v1::SetRequest request;
      request.set_map("users");
      request.set_key("k");
      request.mutable_value()->PackFrom(User());
      v1::SetResponse response;
      return stub->Set(&context, request, &response).error_code();
    }
    v1::GetRequest request;
    request.set_map("users");
    request.set_key("k");
    v1::GetResponse response;
    return stub->Get(&context, request, &response).error_code();
  };
  auto batch = [&](const char* token) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    v1::WriteRequest request;
    v1::SetRequest* set = request.add_operations()->mutable_set();
    set->set_map("users");
    set->set_key("batched");
    set->mutable_value()->PackFrom(User());
    v1::WriteResponse response;
    return stub->Write(&context, request, &response).error_code();
  };
  EXPECT_EQ(batch("reader-token"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(batch("writer-token"), grpc::StatusCode::OK);
  EXPECT_EQ(call(nullptr, false), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("wrong", false), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("reader-token", true), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(call("reader-token", false), grpc::StatusCode::OK);
  EXPECT_EQ(call("writer-token", true), grpc::StatusCode::OK);
}

TEST_F(PersistdTest, OversizedMessagesAreRefusedAndChangeNothing) {
  auto persistd = Start({"--max_message_bytes=1024"});
  auto stub = persistd->Stub();
  User big;
  big.set_email(std::string(2000, 'x'));
  v1::SetRequest request;
  request.set_map("users");
  request.set_key("big");
  request.mutable_value()->PackFrom(big);
  v1::SetResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(stub->Set(&context, request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_FALSE(GetUser(*stub, "big").has_value());
}

TEST_F(PersistdTest, RefusesToStartOnAMapWhoseTypeIsMissing) {
  Persistd persistd({"--listen=127.0.0.1:0", absl::StrCat("--data=", data_),
                     "--maps=orders=shop.v1.Order"});
  EXPECT_TRUE(persistd.address().empty());
  const int status = persistd.ExitStatus();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

TEST_F(PersistdTest, SkipCorruptFlagOpensADamagedFile) {
  testing::WriteFileOrDie(data_,
                          "go-persist 1\n"
                          "S users:a\n{\"name\":\"A\"}\n"
                          "S users:b\n{\"name\":\n"
                          "S users:c\n{\"name\":\"C\"}\n");
  {
    // Refused by default: a file persist does not understand is not served.
    // (JSON logs go to stdout, which the test reads.)
    Persistd persistd({"--listen=127.0.0.1:0", absl::StrCat("--data=", data_),
                       "--log_format=json"});
    EXPECT_TRUE(persistd.address().empty()) << persistd.banner();
    const int status = persistd.ExitStatus();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);
    // The error names the line, and says what the operator can do.
    const std::string output = persistd.Output();
    EXPECT_THAT(output, HasSubstr("data.wal line 5"));
    EXPECT_THAT(output, HasSubstr("--skip_corrupt"));
    EXPECT_THAT(output, HasSubstr("persistctl check --file="));
  }
  auto persistd = Start({"--skip_corrupt"});
  auto stub = persistd->Stub();
  EXPECT_EQ(GetUser(*stub, "a")->name(), "A");
  EXPECT_FALSE(GetUser(*stub, "b").has_value());
  EXPECT_EQ(GetUser(*stub, "c")->name(), "C");
}

TEST_F(PersistdTest, ServesGoPersistsSingleMapAsTheMapWithTheEmptyName) {
  // As go-persist's OpenSingleMap writes it.
  testing::WriteFileOrDie(data_,
                          "go-persist 1\n"
                          "S :ann\n{\"name\":\"Ann\",\"age\":40}\n");
  auto persistd = Start({"--maps==example.v1.User"});
  EXPECT_THAT(persistd->banner(),
              HasSubstr("maps: \"\" (example.v1.User, 1 keys)"));
  auto stub = persistd->Stub();
  {
    v1::GetRequest request;  // no map: the map with the empty name
    request.set_key("ann");
    v1::GetResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Get(&context, request, &response).ok());
    ASSERT_TRUE(response.found());
    User ann;
    ASSERT_TRUE(response.value().UnpackTo(&ann));
    EXPECT_EQ(ann.age(), 40);
  }
  {
    User bob;
    bob.set_name("Bob");
    v1::SetRequest request;
    request.set_key("bob");
    request.mutable_value()->PackFrom(bob);
    request.set_durability(v1::FSYNC);
    v1::SetResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Set(&context, request, &response).ok());
  }
  EXPECT_THAT(testing::ReadFileOrDie(data_),
              HasSubstr("S :bob\n{\"name\":\"Bob\"}\n"));
  // The example map is not declared now: naming it is NOT_FOUND.
  v1::GetRequest request;
  request.set_map("users");
  request.set_key("ann");
  v1::GetResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(stub->Get(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(PersistdTest, SigtermEndsOpenHealthWatchesAndExitsZero) {
  auto persistd = Start({"--health_listen=127.0.0.1:0"});
  ASSERT_TRUE(SetUser(*persistd->Stub(), "kept", 1, v1::ASYNC).ok());
  // Watch streams never end by themselves: clients doing client-side health
  // checking keep one open on each port.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<
      grpc::ClientReader<grpc::health::v1::HealthCheckResponse>>>
      watches;
  for (const std::string& address :
       {persistd->address(), persistd->LoggedAddress("health on ")}) {
    auto health = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    watches.push_back(health->Watch(contexts.back().get(), {}));
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(watches.back()->Read(&response)) << address;
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
  const int status = persistd->Kill(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // It closed the store: the ASYNC write is in the file.
  auto again = Start();
  ASSERT_TRUE(GetUser(*again->Stub(), "kept").has_value());
}

TEST_F(PersistdTest, RefusesPortsThatAreTakenOrShared) {
  auto first = Start();
  // gRPC would let a second server share the port (SO_REUSEPORT) and take
  // half of its connections.
  const std::string taken = first->address();
  const std::string port = taken.substr(taken.rfind(':') + 1);
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {absl::StrCat("--listen=", taken)},
           {"--listen=127.0.0.1:" + port, "--health_listen=127.0.0.1:" + port},
           {"--listen=127.0.0.1:0", "--metrics_listen=0.0.0.0:" + port,
            "--health_listen=127.0.0.1:" + port},
           {"--listen=127.0.0.1:0", "--health_listen=localhost"}}) {
    std::vector<std::string> args = flags;
    args.push_back(absl::StrCat("--data=", dir_.Path("other.wal")));
    args.push_back("--log_format=json");
    Persistd persistd(args);
    EXPECT_TRUE(persistd.address().empty()) << flags.back();
    const int status = persistd.ExitStatus();
    ASSERT_TRUE(WIFEXITED(status)) << flags.back();
    EXPECT_EQ(WEXITSTATUS(status), 1) << flags.back();
    const std::string output = persistd.Output();
    EXPECT_TRUE(absl::StrContains(output, "the port is in use") ||
                absl::StrContains(output, "both use port") ||
                absl::StrContains(output, "is not host:port"))
        << output;
    // One clear line of persistd's, no dump of gRPC's internal state.
    EXPECT_FALSE(absl::StrContains(output, "\"source\":\"grpc\"")) << output;
  }
  // The first one still serves.
  EXPECT_TRUE(SetUser(*first->Stub(), "a", 1, v1::WRITE).ok());
}

TEST_F(PersistdTest, RefusesOutOfRangeTuningFlags) {
  for (const char* flag :
       {"--sync_interval=0s", "--auto_shrink_ratio=0.5",
        "--auto_shrink_check_interval=-1s", "--max_page_size=-1",
        "--default_durability=sometimes", "--log_format=xml"}) {
    Persistd persistd(
        {"--listen=127.0.0.1:0", absl::StrCat("--data=", data_), flag});
    EXPECT_TRUE(persistd.address().empty()) << flag;
    const int status = persistd.ExitStatus();
    ASSERT_TRUE(WIFEXITED(status)) << flag;
    EXPECT_EQ(WEXITSTATUS(status), 1) << flag;
  }
  // In range, they are taken.
  auto persistd = Start({"--sync_interval=50ms", "--auto_shrink_ratio=3",
                         "--auto_shrink_check_interval=10s",
                         "--auto_shrink_min_file_bytes=1024",
                         "--max_page_size=2", "--ignore_unknown_fields"});
  auto stub = persistd->Stub();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(SetUser(*stub, absl::StrCat("k", i), i, v1::WRITE).ok());
  }
  v1::ListRequest request;
  request.set_map("users");
  request.set_page_size(100);
  v1::ListResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->List(&context, request, &response).ok());
  EXPECT_EQ(response.entries_size(), 2);  // lowered to --max_page_size
}

TEST_F(PersistdTest, JsonLogsAreOneObjectPerLine) {
  auto persistd = Start({"--log_format=json", "--metrics_listen=127.0.0.1:0",
                         "--health_listen=127.0.0.1:0"});
  auto stub = persistd->Stub();
  ASSERT_TRUE(SetUser(*stub, "a", 1, v1::WRITE).ok());
  {
    v1::ShrinkResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Shrink(&context, {}, &response).ok());
  }
  stub.reset();
  const int status = persistd->Kill(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::vector<std::string> messages;
  for (absl::string_view line :
       absl::StrSplit(persistd->Output(), '\n', absl::SkipEmpty())) {
    google::protobuf::Struct object;
    ASSERT_TRUE(JsonCodec().Decode(line, &object).ok()) << line;
    const auto& fields = object.fields();
    ASSERT_TRUE(fields.contains("time") && fields.contains("level") &&
                fields.contains("source") && fields.contains("message"))
        << line;
    EXPECT_THAT(fields.at("level").string_value(),
                ::testing::AnyOf("info", "warning", "error"));
    messages.push_back(absl::StrCat(fields.at("source").string_value(), ": ",
                                    fields.at("message").string_value()));
  }
  // The events an operator needs: start (and where), load, shrink,
  // shutdown, from both persistd and the engine.
  const auto has = [&](absl::string_view part) {
    return std::any_of(
        messages.begin(), messages.end(),
        [&](const std::string& m) { return absl::StrContains(m, part); });
  };
  EXPECT_TRUE(has("persistd: serving 127.0.0.1:")) << persistd->banner();
  EXPECT_TRUE(has("persistd: metrics on http://127.0.0.1:"));
  EXPECT_TRUE(has("persistd: health on 127.0.0.1:"));
  EXPECT_TRUE(has("persist: created ")) << messages.size();
  EXPECT_TRUE(has("persist: opened "));
  EXPECT_TRUE(has("persist: shrank "));
  EXPECT_TRUE(has("persistd: SIGTERM: shutting down"));
  EXPECT_TRUE(has("persist: closed "));
  EXPECT_TRUE(has("persistd: stopped; "));
}

}  // namespace
}  // namespace persist
