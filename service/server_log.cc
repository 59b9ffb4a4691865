#include "service/server_log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "grpc/support/log.h"

namespace persist::service {
namespace {

LogSink MakeSink(bool json, absl::string_view source) {
  return json ? JsonLogSink(stdout, source) : TextLogSink(stdout, source);
}

const ServerLog* grpc_log_target = nullptr;

void ForwardGrpcLog(gpr_log_func_args* args) {
  if (grpc_log_target == nullptr) return;
  const LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR
                             ? LogLevel::kError
                             : LogLevel::kInfo;
  grpc_log_target->Grpc(level, args->message);
}

}  // namespace

ServerLog::ServerLog(bool json)
    : own_(MakeSink(json, "persistd")),
      engine_(MakeSink(json, "persist")),
      grpc_(MakeSink(json, "grpc")) {}

void ServerLog::Info(absl::string_view message) const {
  own_(LogLevel::kInfo, message);
}

void ServerLog::Warning(absl::string_view message) const {
  own_(LogLevel::kWarning, message);
}

void ServerLog::Error(absl::string_view message) const {
  own_(LogLevel::kError, message);
}

void ServerLog::Grpc(LogLevel level, absl::string_view message) const {
  grpc_(level, message);
}

LogSink ServerLog::EngineSink() const { return engine_; }

void ServerLog::SendGrpcLogsHere() const {
  grpc_log_target = this;
  gpr_set_log_function(&ForwardGrpcLog);
}

}  // namespace persist::service
