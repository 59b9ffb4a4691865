// persistctl's data commands: get, set, delete, update and list on a map,
// with values as JSON in the map's type, which RemoteTypes learns from the
// server.
#ifndef PERSIST_CLIENTS_CLI_MAP_COMMANDS_H_
#define PERSIST_CLIENTS_CLI_MAP_COMMANDS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

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
  // list
  std::string prefix;
  int page_size = 0;  // 0: the server's default
  int64_t limit = 0;  // entries in all; 0: every one
};

// How many words follow `command` (get MAP KEY: 2), or -1 if it is not a
// map command.
int MapCommandArgCount(const std::string& command);

// Runs `command` on `args` (MapCommandArgCount words), printing one JSON object
// per line (per entry for list). Errors keep their gRPC codes, and say what
// was wrong; a key that get finds absent is NotFound.
absl::Status RunMapCommand(
    const std::string& command, const std::vector<std::string>& args,
    const MapCommandFlags& flags, std::shared_ptr<grpc::Channel> channel,
    const std::function<std::unique_ptr<grpc::ClientContext>()>& new_context);

}  // namespace persist::cli

#endif  // PERSIST_CLIENTS_CLI_MAP_COMMANDS_H_
