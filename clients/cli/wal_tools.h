// persistctl's offline tools: check and repair a WAL file without a server.
//
// check reads the file as persistd would and reports what it holds and the
// first problem, with its line and byte offset. Values of maps given a type
// are decoded as that type; all others as JSON (google.protobuf.Value), so
// that even without a schema invalid JSON is found.
//
// repair writes a new file: everything before the first problem, or, with
// skip_corrupt, every readable record. The original is never touched.
#ifndef PERSIST_CLIENTS_CLI_WAL_TOOLS_H_
#define PERSIST_CLIENTS_CLI_WAL_TOOLS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"

namespace persist::cli {

struct WalProblem {
  int64_t line = 0;
  uint64_t offset = 0;
  std::string reason;
};

struct WalReport {
  uint64_t file_bytes = 0;
  int64_t records = 0;                       // complete records
  std::map<std::string, int64_t> live_keys;  // by map ("" for untyped)
  uint64_t torn_tail_bytes = 0;              // cut off at the next open
  std::optional<WalProblem> first_problem;
  int64_t problems = 0;
};

// Map name -> its value type, for the maps whose values to decode as such.
using MapTypes =
    absl::flat_hash_map<std::string, const google::protobuf::Descriptor*>;

// FailedPrecondition when the file is not a WAL at all.
absl::StatusOr<WalReport> CheckWal(const std::string& path,
                                   const MapTypes& types);

// Writes the repaired copy of `path` to `out` (which must not exist) and
// returns how many records it holds.
absl::StatusOr<int64_t> RepairWal(const std::string& path,
                                  const std::string& out, const MapTypes& types,
                                  bool skip_corrupt);

}  // namespace persist::cli

#endif  // PERSIST_CLIENTS_CLI_WAL_TOOLS_H_
