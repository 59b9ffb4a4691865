#include "service/server_log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace persist::service {
namespace {

void WriteLine(FILE* out, absl::string_view message) {
  // One fwrite per line so that concurrent lines do not interleave.
  const std::string line = absl::StrCat("persistd: ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), out);
  std::fflush(out);
}

}  // namespace

ServerLog::ServerLog(bool json)
    : json_(json), own_(json ? JsonLogSink(stdout, "persistd") : nullptr) {}

void ServerLog::Info(absl::string_view message) const {
  if (json_) {
    own_(LogLevel::kInfo, message);
  } else {
    WriteLine(stdout, message);
  }
}

void ServerLog::Warning(absl::string_view message) const {
  if (json_) {
    own_(LogLevel::kWarning, message);
  } else {
    WriteLine(stderr, message);
  }
}

void ServerLog::Error(absl::string_view message) const {
  if (json_) {
    own_(LogLevel::kError, message);
  } else {
    WriteLine(stderr, message);
  }
}

LogSink ServerLog::EngineSink() const {
  return json_ ? JsonLogSink(stdout, "persist") : StderrLogSink();
}

}  // namespace persist::service
