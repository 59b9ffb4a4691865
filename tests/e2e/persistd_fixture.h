// The end-to-end tests' fixture: persistd as a child process (started with
// flags, its address read from its start-up line, killed with any signal),
// a data file in a fresh folder, test certificates, and typed calls on the
// example map "users".
#ifndef PERSIST_TESTS_E2E_PERSISTD_FIXTURE_H_
#define PERSIST_TESTS_E2E_PERSISTD_FIXTURE_H_

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "example/v1/user.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/v1/persist.grpc.pb.h"
#include "tests/storage/test_files.h"

namespace persist::testing {

// A persistd child process; killed with SIGKILL on destruction if still
// running. The constructor returns once persistd serves (or has exited:
// address() is then empty).
class Persistd {
 public:
  explicit Persistd(std::vector<std::string> args);
  ~Persistd();
  Persistd(const Persistd&) = delete;
  Persistd& operator=(const Persistd&) = delete;

  // Sends `signal` and returns the wait status (-1 if not running).
  int Kill(int signal);
  // The wait status of a persistd that was expected to exit by itself (it
  // is killed if it serves instead).
  int ExitStatus();

  const std::string& address() const { return address_; }
  // The host:port that follows `marker` in a start-up line ("" if none),
  // e.g. LoggedAddress("metrics on http://") or LoggedAddress("health on ").
  std::string LoggedAddress(const std::string& marker) const;
  // The last line read from its output: the "serving" line once it serves.
  const std::string& banner() const { return banner_; }
  // Everything it wrote to stdout, up to its end: call once it exited.
  // (Until then only the start-up lines are read: a persistd that writes
  // more than a pipe holds, 64 KiB, would block.)
  std::string Output();

  std::shared_ptr<grpc::Channel> Channel(
      const std::shared_ptr<grpc::ChannelCredentials>& credentials =
          grpc::InsecureChannelCredentials()) const;
  std::unique_ptr<v1::Persist::Stub> Stub(
      std::shared_ptr<grpc::ChannelCredentials> credentials =
          grpc::InsecureChannelCredentials()) const;

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string banner_;
  std::string read_;  // the lines read so far
  std::string address_;
};

// Runs `command` with sh, stderr joined to stdout; returns its exit code
// (-1 if it did not exit) and fills `output`.
int RunCapturing(const std::string& command, std::string* output);

class PersistdTest : public ::testing::Test {
 protected:
  // persistd on a free loopback port (unless `flags` give --listen) with
  // data_ as its data file.
  std::unique_ptr<Persistd> Start(std::vector<std::string> flags = {});

  // A CA, a server certificate for localhost and a client certificate, made
  // with Debian's openssl in the test's folder.
  void MakeCertificates();
  std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(
      bool with_client_cert);
  // MakeCertificates, then persistd requiring client certificates.
  std::unique_ptr<Persistd> StartWithMutualTls(
      std::vector<std::string> flags = {});

  // On the example map "users".
  static grpc::Status SetUser(v1::Persist::Stub& stub, const std::string& key,
                              int age, v1::Durability durability);
  static std::optional<example::v1::User> GetUser(v1::Persist::Stub& stub,
                                                  const std::string& key);

  TempDir dir_;
  const std::string data_ = dir_.Path("data.wal");
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_E2E_PERSISTD_FIXTURE_H_
