#include "replication/etcd_status.h"

#include "absl/strings/str_cat.h"

namespace persist::replication {

absl::Status EtcdError(const grpc::Status& status, absl::string_view call,
                       absl::string_view endpoints) {
  if (status.ok()) return absl::OkStatus();
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    code = absl::StatusCode::kInvalidArgument;
  } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    code = absl::StatusCode::kResourceExhausted;
  }
  return absl::Status(code, absl::StrCat("etcd ", call, " at ", endpoints, ": ",
                                         status.error_message()));
}

}  // namespace persist::replication
