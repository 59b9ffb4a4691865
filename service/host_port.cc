#include "service/host_port.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

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

bool IsLoopback(absl::string_view host) {
  return host == "localhost" || host == "[::1]" || host == "::1" ||
         absl::StartsWith(host, "127.");
}

absl::Status CheckCanListen(absl::string_view address,
                            absl::string_view setting) {
  absl::StatusOr<HostAndPort> split = SplitHostPort(address);
  if (!split.ok()) return split.status();
  if (split->port == 0) return absl::OkStatus();  // any free port
  absl::string_view host = split->host;
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(split->port);
  if (::getaddrinfo(host.empty() ? nullptr : std::string(host).c_str(),
                    port.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::OkStatus();  // gRPC resolves it, and says what is wrong
  }
  int error = 0;
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    // As gRPC binds: a port in TIME_WAIT is free, one with a listener not.
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) error = errno;
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (error == 0) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "cannot listen on ", address, " (", setting,
      "): ", error == EADDRINUSE ? "the port is in use" : std::strerror(error),
      " (errno ", error, "); ",
      error == EADDRINUSE ? "stop the other server or choose another port"
                          : "choose another address or port"));
}

}  // namespace persist::service
