// persistctl's offline commands: check and repair a data file without a
// server, through the engine's own recovery (storage/check.h) and with the
// map types persistd would use: from the same config file (--config) and
// schema flags, or persistd's embedded default without them. What check
// says of a file is what persistd does when it opens it.
#ifndef PERSIST_CLIENTS_CLI_OFFLINE_COMMANDS_H_
#define PERSIST_CLIENTS_CLI_OFFLINE_COMMANDS_H_

#include <string>

#include "absl/status/statusor.h"
#include "service/server_config.h"

namespace persist::cli {

struct OfflineFlags {
  std::string config;  // persistd's config file, if any
  // The data file (--file, over the config's), the schema, the maps and
  // the recovery modes, as persistd's flags give them.
  service::DataSettings data;
  std::string out;  // repair: the new file
  // check: a file go-persist cannot read is a problem too.
  bool go_persist = false;
};

// Exit codes.
inline constexpr int kOpens = 0;
inline constexpr int kRefused = 1;

// Prints one JSON object: what the file holds and what opening it does.
// Returns kOpens if persistd would open it with these settings (and, with
// go_persist, go-persist could too), kRefused if not; errors are those of
// the settings or of reading the file.
absl::StatusOr<int> Check(const OfflineFlags& flags);

// Writes flags.out: the records up to the first damage, or with
// skip_corrupt every readable one. Prints what it kept.
absl::Status Repair(const OfflineFlags& flags);

}  // namespace persist::cli

#endif  // PERSIST_CLIENTS_CLI_OFFLINE_COMMANDS_H_
