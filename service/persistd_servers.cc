#include "service/persistd_servers.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/health_check_service_interface.h"
#include "service/message_limits.h"

namespace persist::service {
namespace {

// Limits and keepalive, the same on every port.
void Configure(const v1::ServerConfig& config, grpc::ServerBuilder* builder) {
  // Larger requests are RESOURCE_EXHAUSTED, before they reach the store;
  // replies get headroom (message_limits.h).
  const int max_message_bytes = config.limits().max_message_bytes() > 0
                                    ? config.limits().max_message_bytes()
                                    : kDefaultMaxMessageBytes;
  builder->SetMaxReceiveMessageSize(max_message_bytes);
  builder->SetMaxSendMessageSize(MaxReplyBytes(max_message_bytes));
  // gRPC lets a second server share a port (SO_REUSEPORT) and take half of
  // its connections; a port in use must be an error instead.
  builder->AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Find dead clients on idle connections, and let live ones ping us.
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
}

// Builds and starts `builder`'s server on `address`.
absl::StatusOr<std::unique_ptr<grpc::Server>> Listen(
    grpc::ServerBuilder& builder, const std::string& address,
    const std::shared_ptr<grpc::ServerCredentials>& credentials,
    absl::string_view what, absl::string_view setting, int* port) {
  PERSIST_RETURN_IF_ERROR(CheckCanListen(address, setting));
  builder.AddListeningPort(address, credentials, port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve ", what, " on ", address,
                     "; is the address valid and the port free?"));
  }
  return server;
}

}  // namespace

grpc::ServerGenericBidiReactor*
PersistdServers::HealthPortFallback::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  class Refusal final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Refusal(const std::string& method) {
      Finish(grpc::Status(
          grpc::StatusCode::UNIMPLEMENTED,
          absl::StrCat("this port serves only grpc.health.v1.Health, not ",
                       method, "; call persistd's main port (--listen)")));
    }
    void OnDone() override { delete this; }
  };
  return new Refusal(context->method());
}

PersistdServers::~PersistdServers() { Stop(); }

absl::Status PersistdServers::Start(
    const v1::ServerConfig& config,
    const std::shared_ptr<grpc::ServerCredentials>& credentials,
    const std::vector<grpc::Service*>& services,
    const std::vector<std::string>& service_names, RpcMetrics* rpc_metrics) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  Configure(config, &builder);
  for (grpc::Service* service : services) builder.RegisterService(service);
  int port = 0;
  PERSIST_ASSIGN_OR_RETURN(main_, Listen(builder, config.listen(), credentials,
                                         "gRPC", "--listen", &port));
  serving_.Add(main_->GetHealthCheckService(), service_names);
  address_ = HostPort(config.listen(), port);
  return StartHealthPort(config, service_names, rpc_metrics);
}

absl::Status PersistdServers::StartHealthPort(
    const v1::ServerConfig& config,
    const std::vector<std::string>& service_names, RpcMetrics* rpc_metrics) {
  if (config.health_listen().empty()) return absl::OkStatus();
  grpc::ServerBuilder builder;
  Configure(config, &builder);
  // On this port an interceptor counts the checks; the main port has none,
  // as an interceptor costs every call (rpc_metrics.h).
  if (rpc_metrics != nullptr) {
    builder.experimental().SetInterceptorCreators(rpc_metrics->Interceptors(
        grpc::health::v1::Health::service_full_name()));
  }
  builder.RegisterCallbackGenericService(&health_fallback_);
  int port = 0;
  PERSIST_ASSIGN_OR_RETURN(
      health_,
      Listen(builder, config.health_listen(), grpc::InsecureServerCredentials(),
             "health checks", "--health_listen", &port));
  serving_.Add(health_->GetHealthCheckService(), service_names);
  health_address_ = HostPort(config.health_listen(), port);
  return absl::OkStatus();
}

void PersistdServers::Stop(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  serving_.Set(false);
  const auto deadline = absl::ToChronoTime(absl::Now() + grace);
  for (grpc::Server* server : {main_.get(), health_.get()}) {
    if (server == nullptr) continue;
    server->GetHealthCheckService()->Shutdown();
    server->Shutdown(deadline);
  }
  for (grpc::Server* server : {main_.get(), health_.get()}) {
    if (server != nullptr) server->Wait();
  }
}

}  // namespace persist::service
