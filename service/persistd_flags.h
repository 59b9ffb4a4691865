// persistd's command-line flags: one for every ServerConfig field, and the
// two that are not config (--config, --log_format). Defined here so that
// persistd.cc holds only the server's start and stop.
#ifndef PERSIST_SERVICE_PERSISTD_FLAGS_H_
#define PERSIST_SERVICE_PERSISTD_FLAGS_H_

#include <string>

#include "absl/status/status.h"
#include "persist/v1/config.pb.h"

namespace persist::service {

// Sets every field of `config` whose flag was given: flags override the
// config file. A malformed value is InvalidArgument naming the flag.
absl::Status ApplyFlags(v1::ServerConfig* config);

// --log_format ("text" or "json") and --config (a ServerConfig JSON file).
std::string LogFormatFlag();
std::string ConfigFlag();

}  // namespace persist::service

#endif  // PERSIST_SERVICE_PERSISTD_FLAGS_H_
