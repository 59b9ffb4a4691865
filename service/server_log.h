// persistd's log: its own lines and the engine's, as text for people
// (default) or as one JSON object per line for log collectors
// (--log_format=json; storage/logger.h has the fields).
//
// Text: progress ("persistd: serving ...") on stdout, problems on stderr,
// the engine's "persist I ..." lines on stderr, as before. JSON: every line
// on stdout, the engine's with source "persist", persistd's with
// "persistd".
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

  // For StoreOptions::log.
  LogSink EngineSink() const;

 private:
  const bool json_;
  const LogSink own_;  // JSON only
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_SERVER_LOG_H_
