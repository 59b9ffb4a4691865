// RpcMetrics: calls served, by service, method and status code, with their
// latency, exposed with the names and labels of go-grpc-prometheus
// (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_handling_seconds), so that the usual gRPC dashboards and
// alerts work unchanged.
//
//   persist::service::RpcMetrics metrics(
//       {persist::v1::GetRequest::descriptor()->file()->FindServiceByName(
//           "Persist")});
//
// Calls are counted either by the service itself (UnaryCall, through
// Find), from its handler's start to its Finish, or by a gRPC server
// interceptor (Interceptors()), from the call's start to its status being
// sent; there a call that ends without a status sent (cancelled by the
// client) counts as CANCELLED. An interceptor costs every call on its
// server about 6,000 instructions, 10% of a MEMORY Set, and still about
// 1,000 when it declines to count the call (bench/README.md); persistd uses
// one only on its health port.
//
// Thread-safety: counting is lock-free; AppendTo may run during calls. The
// object must outlive the servers that use its interceptors.
#ifndef PERSIST_SERVICE_RPC_METRICS_H_
#define PERSIST_SERVICE_RPC_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "base/histogram.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "service/prometheus_text.h"

namespace persist::service {

class RpcMetrics {
 public:
  // Counts the methods of `services`; calls of other methods are not
  // counted (gRPC answers them UNIMPLEMENTED before any interceptor).
  explicit RpcMetrics(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);
  RpcMetrics(const RpcMetrics&) = delete;
  RpcMetrics& operator=(const RpcMetrics&) = delete;

  // For ServerBuilder::experimental().SetInterceptorCreators. With
  // `only_service`, calls of other services are not counted (a port that
  // refuses them must not count them as the main port's).
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  Interceptors(absl::string_view only_service = "");

  void AppendTo(PrometheusText* page) const;

  struct Method;
  // The counters of `full_method` ("/package.Service/Method"); null if it
  // is not one of the services'. For services that count their own calls
  // (unary_call.h) instead of through Interceptors().
  Method* Find(absl::string_view full_method) const;

  // The counters of one method.
  struct Method {
    explicit Method(const google::protobuf::MethodDescriptor& descriptor);
    // grpc_service, grpc_method and grpc_type.
    PrometheusText::Labels Labels() const;

    using Clock = std::chrono::steady_clock;
    // A call starts: counts it and returns the time to pass to Handled.
    Clock::time_point Started();
    // The call that Started at `start` finished with `code`.
    void Handled(grpc::StatusCode code, Clock::time_point start);

    const std::string service;
    const std::string name;
    const std::string type;  // unary, client_stream, server_stream, bidi_stream
    std::atomic<uint64_t> started{0};
    // By grpc::StatusCode, 0 (OK) to 16 (UNAUTHENTICATED).
    std::array<std::atomic<uint64_t>, 17> handled{};
    Histogram seconds;
  };

 private:
  class Factory;

  // By "/package.Service/Method", as gRPC names calls. Fixed after the
  // constructor, so lookups need no lock.
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_;
  std::vector<const Method*> ordered_;  // by service, then method
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_RPC_METRICS_H_
