// Addresses as persistd's settings give them: "host:port", such as
// "0.0.0.0:50051", "[::]:9090" or "127.0.0.1:0" (port 0 picks a free one).
#ifndef PERSIST_SERVICE_HOST_PORT_H_
#define PERSIST_SERVICE_HOST_PORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace persist::service {

struct HostAndPort {
  std::string host;  // as written, IPv6 brackets included
  int port = 0;
};

// InvalidArgument, quoting `address`, unless it is host:port with a port
// from 0 to 65535.
absl::StatusOr<HostAndPort> SplitHostPort(absl::string_view address);

// `address` with `port` for its port (the port a server really got).
std::string HostPort(absl::string_view address, int port);

// "localhost", 127.0.0.0/8 or [::1]: only this machine reaches it.
bool IsLoopback(absl::string_view host);

// OK if a server may listen on `address` now: Unavailable saying "the port
// is in use" (or why else it cannot be bound), naming `setting`, if not.
// A server's own error for the same is a dump of gRPC's internal state.
absl::Status CheckCanListen(absl::string_view address,
                            absl::string_view setting);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_HOST_PORT_H_
