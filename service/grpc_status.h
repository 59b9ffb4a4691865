// The one place where engine statuses become gRPC statuses (DESIGN.md 6).
//
// The engine decides each error's code where it makes the error (abseil's
// canonical codes): Unavailable for a store that is closed or stopped taking
// writes (whatever the errno), InvalidArgument, NotFound,
// FailedPrecondition, Aborted and so on for the rest. abseil's codes are
// gRPC's, number for number, so each keeps its code; the message is kept
// too. Nothing is recognised by its text.
#ifndef PERSIST_SERVICE_GRPC_STATUS_H_
#define PERSIST_SERVICE_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace persist::service {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_GRPC_STATUS_H_
