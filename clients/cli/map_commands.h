// persistctl's data commands: get, set, delete, update, list and watch on a
// map,
// with values as JSON in the map's type, which RemoteTypes learns from the
// server.
#ifndef PERSIST_CLIENTS_CLI_MAP_COMMANDS_H_
#define PERSIST_CLIENTS_CLI_MAP_COMMANDS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/persist.pb.h"

namespace persist::cli {

struct MapCommandFlags {
  std::string durability;  // "", memory, async, write or fsync
  // Preconditions; at most one.
  std::string etag;
  bool must_exist = false;
  bool must_not_exist = false;
  // update: the fields to change (proto names), and whether a missing key
  // is created.
  std::vector<std::string> mask;
  bool allow_missing = false;
  // set, update: the value's time to live, as 30s or 24h; "" for none (a
  // set clears the key's expiry, an update keeps it).
  std::string ttl;
  // list, watch
  std::string prefix;
  int page_size = 0;  // 0: the server's default
  // list: entries in all; watch: entries and events, then it stops. 0: no
  // limit.
  int64_t limit = 0;
  // watch: the first revision to stream and its epoch (0: from now), and
  // whether to list the entries first.
  int64_t from_revision = 0;
  std::string epoch;
  bool initial = false;
};

// --durability's value ("" for the server's default, memory, async, write
// or fsync); InvalidArgument for another.
absl::StatusOr<v1::Durability> ParseDurability(const std::string& text);

// How many words follow `command` (get MAP KEY: 2), or -1 if it is not a
// map command.
int MapCommandArgCount(const std::string& command);

// Runs `command` on `args` (MapCommandArgCount words), printing one JSON object
// per line (per entry for list, per entry and event for watch). Errors keep
// their gRPC codes, and say what was wrong; a key that get finds absent is
// NotFound. watch runs until the stream ends (its status) or --limit.
absl::Status RunMapCommand(
    const std::string& command, const std::vector<std::string>& args,
    const MapCommandFlags& flags, const std::shared_ptr<grpc::Channel>& channel,
    const std::function<std::unique_ptr<grpc::ClientContext>()>& new_context);

}  // namespace persist::cli

#endif  // PERSIST_CLIENTS_CLI_MAP_COMMANDS_H_
