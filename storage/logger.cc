#include "storage/logger.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace persist {

LogSink StderrLogSink() {
  return [](LogLevel level, absl::string_view message) {
    const char tag = level == LogLevel::kInfo      ? 'I'
                     : level == LogLevel::kWarning ? 'W'
                                                   : 'E';
    // One fwrite per line so that concurrent lines do not interleave.
    const std::string line = absl::StrCat(
        "persist ", absl::string_view(&tag, 1), " ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                         absl::UTCTimeZone()),
        " ", message, "\n");
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

}  // namespace persist
