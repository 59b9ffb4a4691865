// The one place where engine statuses become gRPC statuses (DESIGN.md 6).
#ifndef PERSIST_SERVICE_GRPC_STATUS_H_
#define PERSIST_SERVICE_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace persist::service {

// InvalidArgument, NotFound, FailedPrecondition, Aborted, Unauthenticated
// and PermissionDenied keep their codes; a closed store and every I/O error
// of the WAL (DataLoss, Internal, ResourceExhausted for a full disk...: the
// store stopped taking writes) become UNAVAILABLE; anything else is
// INTERNAL. The message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_GRPC_STATUS_H_
