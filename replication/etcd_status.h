// The one place where replication/ turns etcd's gRPC answers into
// absl::Status, naming the call and the etcd endpoints it went to.
#ifndef PERSIST_REPLICATION_ETCD_STATUS_H_
#define PERSIST_REPLICATION_ETCD_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace persist::replication {

// OK for an OK `status`; otherwise Unavailable for any code (etcd's own
// refusals are answered as such: a timeout, no leader, a member down all
// mean "not now"), except InvalidArgument and ResourceExhausted (a request
// too large: etcd's --max-request-bytes), which keep their code. The
// message reads "etcd <call> at <endpoints>: <etcd's message>".
absl::Status EtcdError(const grpc::Status& status, absl::string_view call,
                       absl::string_view endpoints);

}  // namespace persist::replication

#endif  // PERSIST_REPLICATION_ETCD_STATUS_H_
