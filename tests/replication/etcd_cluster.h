// Real etcd members for the replication tests: Debian's etcd-server on
// loopback, each member a child process with a fresh data folder, killed
// with SIGKILL (or any signal) when the test says or when it ends.
#ifndef PERSIST_TESTS_REPLICATION_ETCD_CLUSTER_H_
#define PERSIST_TESTS_REPLICATION_ETCD_CLUSTER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "replication/etcd_connection.h"

namespace persist::testing {

class EtcdCluster {
 public:
  // Starts `members` members under `dir`; ready() says whether all serve.
  EtcdCluster(const std::string& dir, int members);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Whether every member answered a read within `timeout` (on failure, the
  // reason is in error()).
  bool WaitUntilReady(absl::Duration timeout);
  const std::string& error() const { return error_; }

  // "127.0.0.1:A,127.0.0.1:B,...": every member's client address.
  std::string Endpoints() const;
  std::string Endpoint(int member) const;
  replication::EtcdConnection Connect(
      absl::Duration call_timeout = absl::Seconds(5)) const;

  // Sends `signal` to a member; SIGKILL and SIGTERM also reap it.
  void Signal(int member, int signal);
  // The tail of a member's log, for failure messages.
  std::string LogTail(int member) const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string log;
    pid_t pid = -1;
  };
  std::string dir_;
  std::vector<Member> members_;
  std::string error_;
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_REPLICATION_ETCD_CLUSTER_H_
