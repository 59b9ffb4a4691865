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
      : method_(method), start_(std::chrono::steady_clock::now()) {
    method_->started.fetch_add(1, std::memory_order_relaxed);
  }
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
    method_->Handled(
        static_cast<int>(code),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
            .count());
  }

  RpcMetrics::Method* const method_;
  const std::chrono::steady_clock::time_point start_;
  bool counted_ = false;
};

}  // namespace

RpcMetrics::Method::Method(const google::protobuf::MethodDescriptor& descriptor)
    : service(descriptor.service()->full_name()),
      name(descriptor.name()),
      type(MethodType(descriptor)),
      // 50 us to 3.3 s.
      seconds(Histogram::ExponentialBounds(0.00005, 2, 17)) {}

void RpcMetrics::Method::Handled(int code, double seconds_taken) {
  if (code < 0 || code >= static_cast<int>(handled.size())) {
    code = static_cast<int>(grpc::StatusCode::UNKNOWN);
  }
  handled[code].fetch_add(1, std::memory_order_relaxed);
  seconds.Observe(seconds_taken);
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
    page->Sample("grpc_server_started_total",
                 {{"grpc_service", method->service},
                  {"grpc_method", method->name},
                  {"grpc_type", method->type}},
                 static_cast<double>(method->started.load()));
  }
  page->Family("grpc_server_handled_total", "counter",
               "Calls completed, by service, method and status code.");
  for (const Method* method : ordered_) {
    // Every code, 0 until it happens, so that the first error of a kind is
    // a step rate() sees (as go-grpc-prometheus' InitializeMetrics does).
    for (size_t code = 0; code < method->handled.size(); ++code) {
      const uint64_t count = method->handled[code].load();
      page->Sample("grpc_server_handled_total",
                   {{"grpc_service", method->service},
                    {"grpc_method", method->name},
                    {"grpc_type", method->type},
                    {"grpc_code", kCodeNames[code]}},
                   static_cast<double>(count));
    }
  }
  page->Family("grpc_server_handling_seconds", "histogram",
               "Time from a call's start to its completion.");
  for (const Method* method : ordered_) {
    page->Histogram("grpc_server_handling_seconds",
                    {{"grpc_service", method->service},
                     {"grpc_method", method->name},
                     {"grpc_type", method->type}},
                    method->seconds.Snapshot());
  }
}

}  // namespace persist::service
