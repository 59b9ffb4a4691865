// persistd as a real process on a loopback port: started with its embedded
// default (the example schema), called over TCP, stopped with SIGTERM and
// SIGKILL, restarted.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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
    // "persistd: listening on HOST:PORT, loading FILE", then, once loaded,
    // "persistd: serving HOST:PORT, ...".
    char line[4096] = {};
    while (std::fgets(line, sizeof(line), out_) != nullptr) {
      banner_ = line;
      if (banner_.find("serving ") != std::string::npos) break;
    }
    const size_t at = banner_.find("serving ");
    const size_t end = banner_.find_first_of(" ,", at + 8);
    if (at != std::string::npos && end != std::string::npos) {
      address_ = banner_.substr(at + 8, end - at - 8);
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

  std::unique_ptr<v1::Persist::Stub> Stub(
      std::shared_ptr<grpc::ChannelCredentials> credentials =
          grpc::InsecureChannelCredentials()) const {
    grpc::ChannelArguments arguments;
    // The test certificates name "localhost".
    arguments.SetSslTargetNameOverride("localhost");
    return v1::Persist::NewStub(
        grpc::CreateCustomChannel(address_, credentials, arguments));
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string banner_;
  std::string address_;
};

class PersistdTest : public ::testing::Test {
 protected:
  std::unique_ptr<Persistd> Start(std::vector<std::string> flags = {}) {
    flags.push_back("--listen=127.0.0.1:0");
    flags.push_back(absl::StrCat("--data=", data_));
    auto persistd = std::make_unique<Persistd>(std::move(flags));
    EXPECT_FALSE(persistd->address().empty()) << persistd->banner();
    return persistd;
  }

  // A CA, a server certificate for localhost and a client certificate, made
  // with Debian's openssl in the test's folder.
  void MakeCertificates() {
    const std::string run = absl::StrCat("cd ", dir_.dir(), " && ");
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    testing::WriteFileOrDie(dir_.Path("san.ext"),
                            "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    for (const std::string& command : {
             absl::StrCat("openssl req -x509 ", key,
                          " -days 1 -subj /CN=persist-test-ca -keyout ca.key "
                          "-out ca.pem"),
             absl::StrCat("openssl req ", key,
                          " -subj /CN=localhost -keyout server.key -out "
                          "server.csr"),
             std::string("openssl x509 -req -in server.csr -CA ca.pem -CAkey "
                         "ca.key -CAcreateserial -days 1 -extfile san.ext "
                         "-out server.pem"),
             absl::StrCat("openssl req ", key,
                          " -subj /CN=client -keyout client.key -out "
                          "client.csr"),
             std::string("openssl x509 -req -in client.csr -CA ca.pem -CAkey "
                         "ca.key -CAcreateserial -days 1 -out client.pem")}) {
      ASSERT_EQ(std::system((run + command + " 2>/dev/null").c_str()), 0)
          << command;
    }
  }
  std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(bool with_client_cert) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = testing::ReadFileOrDie(dir_.Path("ca.pem"));
    if (with_client_cert) {
      options.pem_private_key = testing::ReadFileOrDie(dir_.Path("client.key"));
      options.pem_cert_chain = testing::ReadFileOrDie(dir_.Path("client.pem"));
    }
    return grpc::SslCredentials(options);
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

TEST_F(PersistdTest, ServesTlsAndRefusesPlaintext) {
  MakeCertificates();
  auto persistd = Start({absl::StrCat("--tls_cert=", dir_.Path("server.pem")),
                         absl::StrCat("--tls_key=", dir_.Path("server.key"))});
  EXPECT_THAT(persistd->banner(), HasSubstr("(TLS)"));
  EXPECT_TRUE(SetUser(*persistd->Stub(TlsCredentials(false)), "tls", 1,
                      v1::WRITE)
                  .ok());
  EXPECT_EQ(SetUser(*persistd->Stub(), "plain", 1, v1::WRITE).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(PersistdTest, MutualTlsNeedsAClientCertificate) {
  MakeCertificates();
  auto persistd =
      Start({absl::StrCat("--tls_cert=", dir_.Path("server.pem")),
             absl::StrCat("--tls_key=", dir_.Path("server.key")),
             absl::StrCat("--tls_client_ca=", dir_.Path("ca.pem"))});
  EXPECT_THAT(persistd->banner(), HasSubstr("(mTLS)"));
  EXPECT_TRUE(SetUser(*persistd->Stub(TlsCredentials(true)), "mtls", 1,
                      v1::WRITE)
                  .ok());
  EXPECT_EQ(SetUser(*persistd->Stub(TlsCredentials(false)), "anonymous", 1,
                    v1::WRITE)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(PersistdTest, TokensSeparateReadersFromWriters) {
  testing::WriteFileOrDie(dir_.Path("tokens"),
                          "# test tokens\nreader-token read\nwriter-token write\n");
  auto persistd =
      Start({absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
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
  EXPECT_EQ(call(nullptr, false), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("wrong", false), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call("reader-token", true), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(call("reader-token", false), grpc::StatusCode::OK);
  EXPECT_EQ(call("writer-token", true), grpc::StatusCode::OK);
}

// Runs persistctl with `args`; returns its exit code and fills `output`.
int Persistctl(const std::string& args, std::string* output) {
  FILE* pipe =
      ::popen(absl::StrCat(PERSISTCTL_PATH, " ", args, " 2>&1").c_str(), "r");
  char buffer[4096];
  output->clear();
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) *output += buffer;
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(PersistdTest, PersistctlTalksToPersistd) {
  auto persistd = Start();
  auto stub = persistd->Stub();
  ASSERT_TRUE(SetUser(*stub, "a", 1, v1::WRITE).ok());
  ASSERT_TRUE(SetUser(*stub, "a", 2, v1::WRITE).ok());
  const std::string addr = absl::StrCat("--addr=", persistd->address());
  std::string output;
  EXPECT_EQ(Persistctl(addr + " health", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("SERVING"));
  EXPECT_EQ(Persistctl(addr + " maps", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("\"name\":\"users\",\"type\":\"example.v1.User\""));
  EXPECT_EQ(Persistctl(addr + " shrink", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("\"recordsAfter\":1"));
  EXPECT_EQ(Persistctl(addr + " stats", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("\"walRecords\":1"));
  EXPECT_EQ(Persistctl(addr + " bogus", &output), 2);
  persistd.reset();
  // Nobody listens any more: UNAVAILABLE is gRPC code 14.
  EXPECT_EQ(Persistctl(addr + " stats", &output), 14) << output;
}

TEST_F(PersistdTest, PersistctlChecksAndRepairsFilesOffline) {
  const std::string damaged = dir_.Path("damaged.wal");
  testing::WriteFileOrDie(damaged,
                          "go-persist 1\n"
                          "S users:a\n{\"name\":\"A\"}\n"
                          "S users:b\n{\"name\":\n"
                          "S users:c\n{\"name\":\"C\"}\n"
                          "S users:d\n{\"na");
  std::string output;
  EXPECT_EQ(Persistctl("check --file=" + damaged, &output), 1) << output;
  EXPECT_THAT(output, HasSubstr("\"line\":4,\"offset\":36"));
  EXPECT_THAT(output, HasSubstr("\"torn_tail_bytes\":14"));
  EXPECT_THAT(output, HasSubstr("\"users\":2"));

  const std::string repaired = dir_.Path("repaired.wal");
  EXPECT_EQ(Persistctl(absl::StrCat("repair --file=", damaged, " --out=",
                                    repaired),
                       &output),
            0)
      << output;
  EXPECT_EQ(testing::ReadFileOrDie(repaired),
            "go-persist 1\nS users:a\n{\"name\":\"A\"}\n");
  const std::string salvaged = dir_.Path("salvaged.wal");
  EXPECT_EQ(Persistctl(absl::StrCat("repair --skip_corrupt --file=", damaged,
                                    " --out=", salvaged),
                       &output),
            0)
      << output;
  EXPECT_EQ(testing::ReadFileOrDie(salvaged),
            "go-persist 1\nS users:a\n{\"name\":\"A\"}\n"
            "S users:c\n{\"name\":\"C\"}\n");
  EXPECT_EQ(Persistctl("check --file=" + salvaged, &output), 0) << output;
  // The original is untouched, and repair never overwrites.
  EXPECT_THAT(testing::ReadFileOrDie(damaged), HasSubstr("S users:d"));
  EXPECT_EQ(Persistctl(absl::StrCat("repair --file=", damaged, " --out=",
                                    salvaged),
                       &output),
            1);
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
  const int status = persistd.Kill(0);  // already exited: reap it
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace persist
