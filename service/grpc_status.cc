#include "service/grpc_status.h"

#include <string>

namespace persist::service {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, message};
    case absl::StatusCode::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, message};
    case absl::StatusCode::kAborted:
      return {grpc::StatusCode::ABORTED, message};
    case absl::StatusCode::kUnauthenticated:
      return {grpc::StatusCode::UNAUTHENTICATED, message};
    case absl::StatusCode::kPermissionDenied:
      return {grpc::StatusCode::PERMISSION_DENIED, message};
    case absl::StatusCode::kFailedPrecondition:
      // The engine says "closed" when the store shuts down: come back later.
      if (message.find("is closed") != std::string::npos) {
        return {grpc::StatusCode::UNAVAILABLE, message};
      }
      return {grpc::StatusCode::FAILED_PRECONDITION, message};
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kUnknown:
      // The WAL failed: the store stopped taking writes, reads go on.
      return {grpc::StatusCode::UNAVAILABLE, message};
    default:
      return {grpc::StatusCode::INTERNAL, message};
  }
}

}  // namespace persist::service
