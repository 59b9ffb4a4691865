// persistctl batch: many writes as one atomic batch (the Write RPC).
//
// The input holds one operation per line, as JSON: a WriteOperation of
// persist.v1 in proto3 JSON, whose "value" is JSON of its map's type (as
// set and update take it), not an Any:
//
//   {"set": {"map": "users", "key": "ada", "value": {"name": "Ada"},
//            "precondition": {"mustNotExist": true}}}
//   {"delete": {"map": "users", "key": "bob"}}
//   {"update": {"map": "users", "key": "cy", "value": {"age": 40},
//               "updateMask": "age", "allowMissing": true}}
//
// (each on one line). Blank lines are skipped. Either every operation
// applies, or none does and the error names the operation and its line.
#ifndef PERSIST_CLIENTS_CLI_BATCH_COMMAND_H_
#define PERSIST_CLIENTS_CLI_BATCH_COMMAND_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "clients/cli/map_client.h"
#include "grpcpp/grpcpp.h"

namespace persist::cli {

// Applies the operations of `input` (named `input_name` in errors) at
// `durability` ("", write or fsync), and prints one JSON line per
// operation: map, key, etag (of a set or update), existed, revision, and
// an update's stored value. InvalidArgument names the line of a bad
// operation; the server's errors keep their codes.
absl::Status RunBatch(const std::string& input_name, const std::string& input,
                      const std::string& durability,
                      const std::shared_ptr<grpc::Channel>& channel,
                      const ContextFactory& new_context);

}  // namespace persist::cli

#endif  // PERSIST_CLIENTS_CLI_BATCH_COMMAND_H_
