#include "service/grpc_status.h"

#include <string>

namespace persist::service {

static_assert(static_cast<int>(absl::StatusCode::kUnavailable) ==
                      grpc::StatusCode::UNAVAILABLE &&
                  static_cast<int>(absl::StatusCode::kUnauthenticated) ==
                      grpc::StatusCode::UNAUTHENTICATED,
              "abseil's canonical codes are gRPC's");

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const int code = static_cast<int>(status.code());
  // A code this build of gRPC does not know (none today) is INTERNAL, not a
  // value no client could interpret.
  if (code < 0 || code > grpc::StatusCode::UNAUTHENTICATED) {
    return {grpc::StatusCode::INTERNAL, std::string(status.message())};
  }
  return {static_cast<grpc::StatusCode>(code), std::string(status.message())};
}

}  // namespace persist::service
