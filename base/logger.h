// Where the engine reports what it did on its own: recovery (torn tails
// cut, records skipped), Shrink progress, background failures.
#ifndef PERSIST_BASE_LOGGER_H_
#define PERSIST_BASE_LOGGER_H_

#include <cstdio>
#include <functional>

#include "absl/strings/string_view.h"

namespace persist {

enum class LogLevel { kInfo, kWarning, kError };

// Receives one complete message per call, from any thread.
using LogSink = std::function<void(LogLevel, absl::string_view message)>;

// Writes "<source> <I|W|E> <UTC time> <message>" lines to `out`, flushed
// one by one. `source` names the component ("persist" for the engine,
// "persistd" for the server).
LogSink TextLogSink(FILE* out, absl::string_view source);

// TextLogSink(stderr, "persist"): the engine's default.
LogSink StderrLogSink();

// Writes one JSON object per line to `out`, for log collectors:
// {"time":"2026-11-25T10:00:00.000Z","level":"info","source":"persist",
//  "message":"..."}. `source` names the component ("persist" for the
// engine, "persistd" for the server).
LogSink JsonLogSink(FILE* out, absl::string_view source);

}  // namespace persist

#endif  // PERSIST_BASE_LOGGER_H_
