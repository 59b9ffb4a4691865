// Where the engine reports what it did on its own: recovery (torn tails
// cut, records skipped), Shrink progress, background failures.
#ifndef PERSIST_STORAGE_LOGGER_H_
#define PERSIST_STORAGE_LOGGER_H_

#include <functional>

#include "absl/strings/string_view.h"

namespace persist {

enum class LogLevel { kInfo, kWarning, kError };

// Receives one complete message per call, from any thread.
using LogSink = std::function<void(LogLevel, absl::string_view message)>;

// Writes "persist <I|W|E> <UTC time> <message>" lines to stderr.
LogSink StderrLogSink();

}  // namespace persist

#endif  // PERSIST_STORAGE_LOGGER_H_
