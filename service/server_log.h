// persistd's log: its own lines and the engine's, as text for people
// (default) or as one JSON object per line for log collectors
// (--log_format=json; storage/logger.h has the fields).
//
// Every line goes to stdout, with its time, level and source: "persistd"
// for the server's own lines, "persist" for the engine's, "grpc" for gRPC's
// (SendGrpcLogsHere). Text: "persistd I 2026-12-01T10:00:00.000Z serving
// ..."; JSON: base/logger.h has the fields.
//
// Thread-safe: lines may come from any thread.
#ifndef PERSIST_SERVICE_SERVER_LOG_H_
#define PERSIST_SERVICE_SERVER_LOG_H_

#include <string>

#include "absl/strings/string_view.h"
#include "base/logger.h"

namespace persist::service {

class ServerLog {
 public:
  explicit ServerLog(bool json);

  void Info(absl::string_view message) const;
  void Warning(absl::string_view message) const;
  void Error(absl::string_view message) const;
  void Grpc(LogLevel level, absl::string_view message) const;

  // For StoreOptions::log.
  LogSink EngineSink() const;

  // Routes gRPC's own log lines (gpr_log) through this log, one line each,
  // instead of gRPC's format on stderr. This log must outlive the process's
  // use of gRPC.
  void SendGrpcLogsHere() const;

 private:
  const LogSink own_;
  const LogSink engine_;
  const LogSink grpc_;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_SERVER_LOG_H_
