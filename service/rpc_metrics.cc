#include "service/rpc_metrics.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/status.h"

namespace persist::service {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr absl::string_view kCodeNames[] = {"OK",
                                            "Canceled",
                                            "Unknown",
                                            "InvalidArgument",
                                            "DeadlineExceeded",
                                            "NotFound",
                                            "AlreadyExists",
                                            "PermissionDenied",
                                            "ResourceExhausted",
                                            "FailedPrecondition",
                                            "Aborted",
                                            "OutOfRange",
                                            "Unimplemented",
                                            "Internal",
                                            "Unavailable",
                                            "DataLoss",
                                            "Unauthenticated"};

const char* MethodType(const google::protobuf::MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) {
    return "bidi_stream";
  }
  if (method.client_streaming()) return "client_stream";
  if (method.server_streaming()) return "server_stream";
  return "unary";
}

// One per call: gRPC creates it when the call starts and deletes it when
// the call is done.
class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CallInterceptor(RpcMetrics::Method* method)
      : method_(method), start_(method->Started()) {}
  ~CallInterceptor() override {
    if (!counted_) Count(grpc::StatusCode::CANCELLED);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      Count(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Count(grpc::StatusCode code) {
    counted_ = true;
    method_->Handled(code, start_);
  }

  RpcMetrics::Method* const method_;
  const RpcMetrics::Method::Clock::time_point start_;
  bool counted_ = false;
};

}  // namespace

RpcMetrics::Method::Method(const google::protobuf::MethodDescriptor& descriptor)
    : service(descriptor.service()->full_name()),
      name(descriptor.name()),
      type(MethodType(descriptor)),
      // 50 us to 3.3 s.
      seconds(Histogram::ExponentialBounds(0.00005, 2, 17)) {}

PrometheusText::Labels RpcMetrics::Method::Labels() const {
  return {
      {"grpc_service", service}, {"grpc_method", name}, {"grpc_type", type}};
}

RpcMetrics::Method::Clock::time_point RpcMetrics::Method::Started() {
  started.fetch_add(1, std::memory_order_relaxed);
  return Clock::now();
}

void RpcMetrics::Method::Handled(grpc::StatusCode code,
                                 Clock::time_point start) {
  int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(handled.size())) {
    index = static_cast<int>(grpc::StatusCode::UNKNOWN);
  }
  handled[index].fetch_add(1, std::memory_order_relaxed);
  seconds.Observe(std::chrono::duration<double>(Clock::now() - start).count());
}

RpcMetrics::Method* RpcMetrics::Find(absl::string_view full_method) const {
  auto it = methods_.find(full_method);
  return it == methods_.end() ? nullptr : it->second.get();
}

class RpcMetrics::Factory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  Factory(const RpcMetrics* metrics, absl::string_view only_service)
      : metrics_(metrics), only_service_(only_service) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    Method* method = metrics_->Find(info->method());
    if (method == nullptr ||
        (!only_service_.empty() && method->service != only_service_)) {
      return nullptr;
    }
    return new CallInterceptor(method);
  }

 private:
  const RpcMetrics* const metrics_;
  const std::string only_service_;
};

RpcMetrics::RpcMetrics(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  for (const google::protobuf::ServiceDescriptor* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor& method = *service->method(i);
      auto counters = std::make_unique<Method>(method);
      ordered_.push_back(counters.get());
      methods_.emplace(
          absl::StrCat("/", service->full_name(), "/", method.name()),
          std::move(counters));
    }
  }
}

std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RpcMetrics::Interceptors(absl::string_view only_service) {
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      factories;
  factories.push_back(std::make_unique<Factory>(this, only_service));
  return factories;
}

void RpcMetrics::AppendTo(PrometheusText* page) const {
  page->Family("grpc_server_started_total", "counter",
               "Calls started, by service and method.");
  for (const Method* method : ordered_) {
    page->Sample("grpc_server_started_total", method->Labels(),
                 static_cast<double>(method->started.load()));
  }
  page->Family("grpc_server_handled_total", "counter",
               "Calls completed, by service, method and status code.");
  for (const Method* method : ordered_) {
    // Every code, 0 until it happens, so that the first error of a kind is
    // a step rate() sees (as go-grpc-prometheus' InitializeMetrics does).
    PrometheusText::Labels labels = method->Labels();
    labels.emplace_back("grpc_code", "");
    for (size_t code = 0; code < method->handled.size(); ++code) {
      labels.back().second = kCodeNames[code];
      page->Sample("grpc_server_handled_total", labels,
                   static_cast<double>(method->handled[code].load()));
    }
  }
  page->Family("grpc_server_handling_seconds", "histogram",
               "Time from a call's start to its completion.");
  for (const Method* method : ordered_) {
    page->Histogram("grpc_server_handling_seconds", method->Labels(),
                    method->seconds.Snapshot());
  }
}

}  // namespace persist::service
