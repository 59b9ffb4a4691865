// EtcdConnection: one gRPC channel to the members of an etcd cluster, and
// the deadline of every call made on it.
#ifndef PERSIST_REPLICATION_ETCD_CONNECTION_H_
#define PERSIST_REPLICATION_ETCD_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace persist::replication {

struct EtcdConnection {
  // `endpoints`: the members' client addresses, comma-separated. Either
  // one host:port (a DNS name resolving to every member, such as a
  // Kubernetes headless Service, or one member), or IPv4 host:port pairs.
  // Calls go round-robin to the members that are up, so a member that is
  // down is passed over (its call in flight fails; Call() tries again). Names
  // that are not IPv4 literals can only be given one at a time (gRPC takes a
  // list of literal addresses only).
  static absl::StatusOr<EtcdConnection> Open(
      absl::string_view endpoints,
      const std::shared_ptr<grpc::ChannelCredentials>& credentials,
      absl::Duration call_timeout);

  // Sets `context`'s deadline to call_timeout from now, and waits for a
  // connection within it (a member restarting is not an error yet).
  void Prepare(grpc::ClientContext* context) const;

  // Makes `call` on a fresh context until it succeeds, fails otherwise
  // than UNAVAILABLE or DEADLINE_EXCEEDED, or call_timeout has passed since
  // the first try. Each try lasts try_timeout at most. A member that just
  // died fails the call sent to it ("Socket closed"), and a proposal that
  // was on its way to etcd's leader when that leader died is never
  // answered (etcd itself gives up only after 7 s by default): the next
  // try reaches a member that is up, and the new leader. Only for calls
  // that are safe to repeat. `tries`, if set, receives how many were made.
  grpc::Status Call(absl::FunctionRef<grpc::Status(grpc::ClientContext*)> call,
                    int* tries = nullptr) const;

  std::string endpoints;
  std::shared_ptr<grpc::Channel> channel;
  absl::Duration call_timeout;
  absl::Duration try_timeout = absl::Seconds(2);
};

}  // namespace persist::replication

#endif  // PERSIST_REPLICATION_ETCD_CONNECTION_H_
