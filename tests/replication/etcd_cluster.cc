#include "tests/replication/etcd_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "gtest/gtest.h"

namespace persist::testing {
namespace {

// A loopback port nothing listens on now. etcd needs its ports up front
// (its peers' URLs name them), so it cannot pick its own.
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof(address);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), size), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string Url(int port) { return absl::StrCat("http://127.0.0.1:", port); }

}  // namespace

EtcdCluster::EtcdCluster(const std::string& dir, int members) : dir_(dir) {
  for (int i = 0; i < members; ++i) {
    Member member;
    member.name = absl::StrCat("etcd", i);
    member.client_port = FreeLoopbackPort();
    member.peer_port = FreeLoopbackPort();
    member.log = absl::StrCat(dir, "/", member.name, ".log");
    members_.push_back(member);
  }
  std::vector<std::string> initial;
  for (const Member& member : members_) {
    initial.push_back(absl::StrCat(member.name, "=", Url(member.peer_port)));
  }
  const std::string initial_cluster = absl::StrJoin(initial, ",");
  const pid_t test = ::getpid();
  for (Member& member : members_) {
    std::vector<std::string> args = {"etcd",
                                     "--name",
                                     member.name,
                                     "--data-dir",
                                     absl::StrCat(dir, "/", member.name),
                                     "--listen-client-urls",
                                     Url(member.client_port),
                                     "--advertise-client-urls",
                                     Url(member.client_port),
                                     "--listen-peer-urls",
                                     Url(member.peer_port),
                                     "--initial-advertise-peer-urls",
                                     Url(member.peer_port),
                                     "--initial-cluster",
                                     initial_cluster,
                                     "--initial-cluster-state",
                                     "new"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int log =
        ::open(member.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    member.pid = ::fork();
    if (member.pid == 0) {
      // Only async-signal-safe calls until exec; etcd dies with the test.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != test) ::_exit(127);
      ::dup2(log, STDOUT_FILENO);
      ::dup2(log, STDERR_FILENO);
      ::execvp("etcd", argv.data());
      ::_exit(127);
    }
    ::close(log);
    EXPECT_GT(member.pid, 0);
  }
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < static_cast<int>(members_.size()); ++i) {
    Signal(i, SIGKILL);
  }
}

bool EtcdCluster::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (int i = 0; i < static_cast<int>(members_.size()); ++i) {
    std::unique_ptr<etcdserverpb::KV::Stub> kv = etcdserverpb::KV::NewStub(
        grpc::CreateChannel(Endpoint(i), grpc::InsecureChannelCredentials()));
    for (;;) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(
          std::min(deadline, absl::Now() + absl::Seconds(2))));
      context.set_wait_for_ready(true);
      etcdserverpb::RangeRequest request;
      request.set_key("ready?");
      etcdserverpb::RangeResponse response;
      const grpc::Status status = kv->Range(&context, request, &response);
      if (status.ok()) break;
      int wait_status = 0;
      if (members_[i].pid > 0 && ::waitpid(members_[i].pid, &wait_status,
                                           WNOHANG) == members_[i].pid) {
        members_[i].pid = -1;
        error_ = absl::StrCat(members_[i].name, " exited:\n", LogTail(i));
        return false;
      }
      if (absl::Now() >= deadline) {
        error_ = absl::StrCat(members_[i].name, " did not serve within ",
                              absl::FormatDuration(timeout), ": ",
                              status.error_message(), "\n", LogTail(i));
        return false;
      }
      // A member without a leader yet may answer at once; poll again.
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  return true;
}

std::string EtcdCluster::Endpoint(int member) const {
  return absl::StrCat("127.0.0.1:", members_[member].client_port);
}

std::string EtcdCluster::Endpoints() const {
  std::vector<std::string> endpoints;
  for (int i = 0; i < static_cast<int>(members_.size()); ++i) {
    endpoints.push_back(Endpoint(i));
  }
  return absl::StrJoin(endpoints, ",");
}

replication::EtcdConnection EtcdCluster::Connect(
    absl::Duration call_timeout) const {
  absl::StatusOr<replication::EtcdConnection> connection =
      replication::EtcdConnection::Open(
          Endpoints(), grpc::InsecureChannelCredentials(), call_timeout);
  EXPECT_TRUE(connection.ok()) << connection.status();
  return *std::move(connection);
}

void EtcdCluster::Signal(int member, int signal) {
  Member& m = members_[member];
  if (m.pid <= 0) return;
  ::kill(m.pid, signal);
  if (signal == SIGKILL || signal == SIGTERM) {
    int status = 0;
    ::waitpid(m.pid, &status, 0);
    m.pid = -1;
  }
}

std::string EtcdCluster::LogTail(int member) const {
  std::ifstream in(members_[member].log);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

}  // namespace persist::testing
