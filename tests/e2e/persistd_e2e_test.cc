// persistd as a real process on a loopback port: started with its embedded
// default (the example schema), called over TCP, stopped with SIGTERM and
// SIGKILL, restarted.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "example/v1/user.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/v1/persist.grpc.pb.h"
#include "tests/storage/test_files.h"

extern char** environ;

namespace persist {
namespace {

using example::v1::User;
using ::testing::HasSubstr;

// A persistd child process; killed on destruction if still running.
class Persistd {
 public:
  explicit Persistd(std::vector<std::string> args) {
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    args.insert(args.begin(), PERSISTD_PATH);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    EXPECT_EQ(::posix_spawn(&pid_, PERSISTD_PATH, &actions, nullptr,
                            argv.data(), environ),
              0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    out_ = ::fdopen(out[0], "r");
    // The first line says where it serves: "persistd: serving HOST:PORT, ...".
    char line[4096] = {};
    if (std::fgets(line, sizeof(line), out_) != nullptr) banner_ = line;
    const size_t at = banner_.find("serving ");
    const size_t comma = banner_.find(',', at);
    if (at != std::string::npos && comma != std::string::npos) {
      address_ = banner_.substr(at + 8, comma - at - 8);
    }
  }
  ~Persistd() {
    if (pid_ > 0) Kill(SIGKILL);
    if (out_ != nullptr) std::fclose(out_);
  }

  // Sends `signal` and returns the exit status.
  int Kill(int signal) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  const std::string& address() const { return address_; }
  const std::string& banner() const { return banner_; }

  std::unique_ptr<v1::Persist::Stub> Stub() const {
    return v1::Persist::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string banner_;
  std::string address_;
};

class PersistdTest : public ::testing::Test {
 protected:
  std::unique_ptr<Persistd> Start() {
    auto persistd = std::make_unique<Persistd>(std::vector<std::string>{
        "--listen=127.0.0.1:0", absl::StrCat("--data=", data_)});
    EXPECT_FALSE(persistd->address().empty()) << persistd->banner();
    return persistd;
  }

  static grpc::Status SetUser(v1::Persist::Stub& stub, const std::string& key,
                              int age, v1::Durability durability) {
    User user;
    user.set_name(key);
    user.set_age(age);
    v1::SetRequest request;
    request.set_map("users");
    request.set_key(key);
    request.mutable_value()->PackFrom(user);
    request.set_durability(durability);
    v1::SetResponse response;
    grpc::ClientContext context;
    return stub.Set(&context, request, &response);
  }

  static std::optional<User> GetUser(v1::Persist::Stub& stub,
                                      const std::string& key) {
    v1::GetRequest request;
    request.set_map("users");
    request.set_key(key);
    v1::GetResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub.Get(&context, request, &response).ok());
    if (!response.found()) return std::nullopt;
    User user;
    EXPECT_TRUE(response.value().UnpackTo(&user));
    return user;
  }

  testing::TempDir dir_;
  const std::string data_ = dir_.Path("data.wal");
};

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

TEST_F(PersistdTest, ClientDemoRunsAgainstPersistd) {
  auto persistd = Start();
  const std::string command =
      absl::StrCat(CLIENT_DEMO_PATH, " ", persistd->address(), " 2>&1");
  FILE* demo = ::popen(command.c_str(), "r");
  ASSERT_NE(demo, nullptr);
  std::string output;
  char buffer[1024];
  while (std::fgets(buffer, sizeof(buffer), demo) != nullptr) output += buffer;
  const int status = ::pclose(demo);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_THAT(output, HasSubstr("age: 37"));
  auto stub = persistd->Stub();
  EXPECT_EQ(GetUser(*stub, "ada")->age(), 37);
}

TEST_F(PersistdTest, RefusesToStartOnAMapWhoseTypeIsMissing) {
  Persistd persistd({"--listen=127.0.0.1:0", absl::StrCat("--data=", data_),
                     "--maps=orders=shop.v1.Order"});
  EXPECT_TRUE(persistd.address().empty());
  const int status = persistd.Kill(0);  // already exited: reap it
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace persist
