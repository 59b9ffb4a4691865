#include "base/logger.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/json_escape.h"

namespace persist {

LogSink TextLogSink(FILE* out, absl::string_view source) {
  return [out, source = std::string(source)](LogLevel level,
                                             absl::string_view message) {
    const char tag = level == LogLevel::kInfo      ? 'I'
                     : level == LogLevel::kWarning ? 'W'
                                                   : 'E';
    // One fwrite per line so that concurrent lines do not interleave.
    const std::string line =
        absl::StrCat(source, " ", absl::string_view(&tag, 1), " ",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                      absl::UTCTimeZone()),
                     " ", message, "\n");
    std::fwrite(line.data(), 1, line.size(), out);
    std::fflush(out);
  };
}

LogSink StderrLogSink() { return TextLogSink(stderr, "persist"); }

LogSink JsonLogSink(FILE* out, absl::string_view source) {
  return [out, source = QuoteJsonString(source)](LogLevel level,
                                                 absl::string_view message) {
    const char* name = level == LogLevel::kInfo      ? "info"
                       : level == LogLevel::kWarning ? "warning"
                                                     : "error";
    const std::string line =
        absl::StrCat("{\"time\":\"",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                      absl::UTCTimeZone()),
                     "\",\"level\":\"", name, "\",\"source\":", source,
                     ",\"message\":", QuoteJsonString(message), "}\n");
    // One fwrite per line so that concurrent lines do not interleave.
    std::fwrite(line.data(), 1, line.size(), out);
    std::fflush(out);
  };
}

}  // namespace persist
