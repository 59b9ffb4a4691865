// UnaryCall: one unary call being served with gRPC's callback API: its
// reactor, and the RpcMetrics counters it is counted under once finished.
// A handler makes one first thing, then either returns call.Finish(status)
// at once, or hands a copy to the engine's completion callback (which calls
// Finish once the write is durable) and returns call.reactor().
//
// Counting here costs two clock reads, a cancellation check and a few
// atomic adds per call, far less than a gRPC interceptor (rpc_metrics.h). A
// call the client cancelled, or whose deadline passed, before it finished
// counts as CANCELLED. A copyable value: lambdas capture it.
#ifndef PERSIST_SERVICE_UNARY_CALL_H_
#define PERSIST_SERVICE_UNARY_CALL_H_

#include <chrono>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "service/call_drain.h"
#include "service/grpc_status.h"
#include "service/rpc_metrics.h"

namespace persist::service {

class UnaryCall {
 public:
  // `method` may be null: the call is then not counted. The call enters
  // `drain` (call_drain.h), if set, until it finishes.
  UnaryCall(grpc::CallbackServerContext* context, RpcMetrics::Method* method,
            CallDrain* drain = nullptr)
      : context_(context),
        reactor_(context->DefaultReactor()),
        method_(method),
        drain_(drain),
        admitted_(drain == nullptr || drain->Enter()) {
    if (method_ != nullptr) start_ = method_->Started();
  }

  // False when persistd is stopping: the call must be answered at once
  // (Unavailable) without touching the store.
  bool admitted() const { return admitted_; }

  // Finishes the call with `status` (mapped by ToGrpcStatus) and counts
  // it; returns the reactor, for a handler that finishes before returning.
  // Call once.
  grpc::ServerUnaryReactor* Finish(const absl::Status& status) const {
    const grpc::Status sent = ToGrpcStatus(status);
    if (method_ != nullptr) {
      const grpc::StatusCode code = context_->IsCancelled()
                                        ? grpc::StatusCode::CANCELLED
                                        : sent.error_code();
      method_->Handled(code, start_);
    }
    reactor_->Finish(sent);
    if (admitted_ && drain_ != nullptr) drain_->Exit();
    return reactor_;
  }

  // For a handler whose call finishes later (from a completion callback).
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }

 private:
  grpc::CallbackServerContext* context_;
  grpc::ServerUnaryReactor* reactor_;
  RpcMetrics::Method* method_;
  CallDrain* drain_;
  bool admitted_;
  RpcMetrics::Method::Clock::time_point start_;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_UNARY_CALL_H_
