// What persistd's configuration turns into for serving: the service's
// options, the server's credentials, and a check of its addresses.
#ifndef PERSIST_SERVICE_SERVER_SETUP_H_
#define PERSIST_SERVICE_SERVER_SETUP_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "persist/v1/config.pb.h"
#include "service/persist_service.h"

namespace persist::service {

// The addresses (listen, metrics_listen, health_listen), each host:port
// with a port from 0 to 65535 when set, and no two on one port (0 picks a
// free one each time). InvalidArgument naming the settings and their flags.
absl::Status CheckAddresses(const v1::ServerConfig& config);

absl::StatusOr<ServiceOptions> MakeServiceOptions(
    const v1::ServerConfig& config);

// Insecure without tls.cert_file; TLS with cert and key; mutual TLS (client
// certificates required and verified) with client_ca_file too. Errors name
// the file that cannot be read or the setting that is missing.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::Tls& tls);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_SERVER_SETUP_H_
