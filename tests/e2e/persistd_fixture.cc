#include "tests/e2e/persistd_fixture.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace persist::testing {

Persistd::Persistd(std::vector<std::string> args) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  args.insert(args.begin(), PERSISTD_PATH);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t test = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls until exec. persistd dies with the test,
    // even when the test crashes: an orphan would hold ctest's output pipe
    // open and hang the run.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != test) ::_exit(127);  // the test died before prctl
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    ::execv(PERSISTD_PATH, argv.data());
    ::_exit(127);
  }
  EXPECT_GT(pid_, 0);
  ::close(out[1]);
  out_ = ::fdopen(out[0], "r");
  // "persistd: listening on HOST:PORT, loading FILE", then, once loaded,
  // "persistd: serving HOST:PORT, ...".
  char line[4096] = {};
  while (std::fgets(line, sizeof(line), out_) != nullptr) {
    banner_ = line;
    read_ += line;
    if (banner_.find("serving ") != std::string::npos) break;
  }
  if (banner_.find("serving ") != std::string::npos) {
    address_ = LoggedAddress("serving ");
  }
}

std::string Persistd::LoggedAddress(const std::string& marker) const {
  const size_t at = read_.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = at + marker.size();
  const size_t end = read_.find_first_of(" ,/\n", start);
  return read_.substr(start, end - start);
}

Persistd::~Persistd() {
  if (pid_ > 0) Kill(SIGKILL);
  if (out_ != nullptr) std::fclose(out_);
}

int Persistd::Kill(int signal) {
  if (pid_ <= 0) return -1;  // never started, or already reaped
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string Persistd::Output() {
  // Reading to the end would wait for a running persistd forever.
  if (pid_ > 0) {
    ADD_FAILURE() << "Output() before persistd exited";
    return read_;
  }
  char buffer[4096];
  while (out_ != nullptr && std::fgets(buffer, sizeof(buffer), out_)) {
    read_ += buffer;
  }
  return read_;
}

int Persistd::ExitStatus() {
  // A persistd that serves did not exit: SIGKILL, so that the test fails
  // on the status instead of waiting forever.
  return Kill(address_.empty() ? 0 : SIGKILL);
}

std::shared_ptr<grpc::Channel> Persistd::Channel(
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) const {
  grpc::ChannelArguments arguments;
  // The test certificates name "localhost".
  arguments.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(address_, credentials, arguments);
}

std::unique_ptr<v1::Persist::Stub> Persistd::Stub(
    std::shared_ptr<grpc::ChannelCredentials> credentials) const {
  return v1::Persist::NewStub(Channel(std::move(credentials)));
}

int RunCapturing(const std::string& command, std::string* output) {
  output->clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) *output += buffer;
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

using example::v1::User;

std::unique_ptr<Persistd> PersistdTest::Start(std::vector<std::string> flags) {
  const bool listens =
      std::any_of(flags.begin(), flags.end(), [](const std::string& flag) {
        return absl::StartsWith(flag, "--listen=");
      });
  if (!listens) flags.push_back("--listen=127.0.0.1:0");
  flags.push_back(absl::StrCat("--data=", data_));
  auto persistd = std::make_unique<Persistd>(std::move(flags));
  EXPECT_FALSE(persistd->address().empty()) << persistd->banner();
  return persistd;
}

void PersistdTest::MakeCertificates() {
  const std::string run = absl::StrCat("cd ", dir_.dir(), " && ");
  const std::string key =
      "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  WriteFileOrDie(dir_.Path("san.ext"),
                 "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const std::string& command :
       {absl::StrCat("openssl req -x509 ", key,
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
std::shared_ptr<grpc::ChannelCredentials> PersistdTest::TlsCredentials(
    bool with_client_cert) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFileOrDie(dir_.Path("ca.pem"));
  if (with_client_cert) {
    options.pem_private_key = ReadFileOrDie(dir_.Path("client.key"));
    options.pem_cert_chain = ReadFileOrDie(dir_.Path("client.pem"));
  }
  return grpc::SslCredentials(options);
}

std::unique_ptr<Persistd> PersistdTest::StartWithMutualTls(
    std::vector<std::string> flags) {
  MakeCertificates();
  flags.push_back(absl::StrCat("--tls_cert=", dir_.Path("server.pem")));
  flags.push_back(absl::StrCat("--tls_key=", dir_.Path("server.key")));
  flags.push_back(absl::StrCat("--tls_client_ca=", dir_.Path("ca.pem")));
  return Start(std::move(flags));
}

grpc::Status PersistdTest::SetUser(v1::Persist::Stub& stub,
                                   const std::string& key, int age,
                                   v1::Durability durability) {
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

std::optional<User> PersistdTest::GetUser(v1::Persist::Stub& stub,
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

}  // namespace persist::testing
