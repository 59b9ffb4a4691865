// PersistdServers: persistd's gRPC servers under one health status. The
// main server (--listen) serves the services it is given, with the
// configured credentials; the health port (--health_listen), when
// configured, serves only grpc.health.v1 in plaintext, for probes that
// cannot do TLS, and answers anything else UNIMPLEMENTED.
//
// Both apply the configured message size limits and keepalive, and refuse
// a port another server already holds (no SO_REUSEPORT).
//
// Thread-safety: serving() may be used from any thread; Start and Stop
// from one.
#ifndef PERSIST_SERVICE_PERSISTD_SERVERS_H_
#define PERSIST_SERVICE_PERSISTD_SERVERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/config.pb.h"
#include "service/host_port.h"
#include "service/rpc_metrics.h"
#include "service/serving_status.h"

namespace persist::service {

class PersistdServers {
 public:
  PersistdServers() = default;
  // Stop()s.
  ~PersistdServers();
  PersistdServers(const PersistdServers&) = delete;
  PersistdServers& operator=(const PersistdServers&) = delete;

  // Starts the main server with `services` (which must outlive this
  // object), then the health port. Both start NOT_SERVING, and both report
  // on the server as a whole (service "") and on each of `service_names`.
  // With `rpc_metrics` (which must outlive this object), the health port
  // counts its checks. Unavailable naming the address that cannot be
  // served.
  absl::Status Start(
      const v1::ServerConfig& config,
      const std::shared_ptr<grpc::ServerCredentials>& credentials,
      const std::vector<grpc::Service*>& services,
      const std::vector<std::string>& service_names, RpcMetrics* rpc_metrics);

  // NOT_SERVING; then calls in flight, open health Watch streams included,
  // get `grace` to finish before they are cancelled. Idempotent.
  void Stop(absl::Duration grace = absl::Seconds(5));

  ServingStatus& serving() { return serving_; }
  // host:port with the real port; empty before Start or for a health port
  // that is not configured.
  const std::string& address() const { return address_; }
  const std::string& health_address() const { return health_address_; }

 private:
  // Answers every call on the health port but grpc.health.v1's.
  // Registering it also gives that server the callback method gRPC insists
  // on before it adds its default health service.
  class HealthPortFallback final : public grpc::CallbackGenericService {
   public:
    grpc::ServerGenericBidiReactor* CreateReactor(
        grpc::GenericCallbackServerContext* context) override;
  };

  absl::Status StartHealthPort(const v1::ServerConfig& config,
                               const std::vector<std::string>& service_names,
                               RpcMetrics* rpc_metrics);

  ServingStatus serving_;
  HealthPortFallback health_fallback_;
  std::unique_ptr<grpc::Server> main_;
  std::unique_ptr<grpc::Server> health_;  // null without health_listen
  std::string address_;
  std::string health_address_;
  bool stopped_ = false;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_PERSISTD_SERVERS_H_
