#include "service/host_port.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace persist::service {

absl::StatusOr<HostAndPort> SplitHostPort(absl::string_view address) {
  const size_t colon = address.rfind(':');
  HostAndPort split;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &split.port) ||
      split.port < 0 || split.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address,
                     "\" is not host:port (for example 0.0.0.0:50051, "
                     "[::]:50051 or 127.0.0.1:0)"));
  }
  split.host = std::string(address.substr(0, colon));
  return split;
}

std::string HostPort(absl::string_view address, int port) {
  return absl::StrCat(address.substr(0, address.rfind(':')), ":", port);
}

}  // namespace persist::service
