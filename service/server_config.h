// persistd's configuration: the ServerConfig proto (proto/persist/v1/
// config.proto) from a JSON file, defaults under it, and what it turns into
// for the engine: the schema and the store's options. persistctl's check
// and repair read a data file through the same functions, so that they
// decode it as persistd would.
#ifndef PERSIST_SERVICE_SERVER_CONFIG_H_
#define PERSIST_SERVICE_SERVER_CONFIG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "persist/v1/config.pb.h"
#include "storage/schema.h"
#include "storage/store_options.h"

namespace persist::service {

// Reads a ServerConfig from a JSON file (proto3 JSON; unknown fields are an
// error naming them). Durations may be written "0.5s" or "500ms"; relative
// paths in the file (data file, schema, TLS files, tokens file) are taken
// from the file's folder, not from the working folder.
absl::StatusOr<v1::ServerConfig> ReadConfigFile(const std::string& path);

// What flags (persistd's, and persistctl's check and repair) say about the
// data: its file, its schema, its maps and how to recover it. Empty strings
// and false leave the config as it is.
struct DataSettings {
  std::string data_file;
  std::string descriptor_set;
  std::vector<std::string> proto_files;
  std::vector<std::string> proto_path;
  // "name=full.type.Name" each; when given, they replace the config's maps.
  std::vector<std::string> maps;
  bool skip_corrupt = false;
  bool ignore_unknown_fields = false;
};
// InvalidArgument naming the flag whose value is malformed.
absl::Status ApplyDataSettings(const DataSettings& settings,
                               v1::ServerConfig* config);

// Fills what `config` leaves unset: listen 127.0.0.1:50051, data file
// ./persist.wal, WRITE durability, and, when it names no schema and no
// maps, the embedded example (map "users" of example.v1.User).
void ApplyDefaults(v1::ServerConfig* config);

// Where the maps' types come from: the configured schema, or the types
// compiled into persistd (the example) when none is configured.
struct LoadedSchema {
  std::unique_ptr<Schema> schema;  // null: compiled-in types
  const google::protobuf::Descriptor* Find(const std::string& type) const;
};
absl::StatusOr<LoadedSchema> LoadSchema(const v1::Schema& schema);

// The store's options for `config`. A map whose type the schema lacks, a
// bad name or a duplicate is InvalidArgument naming it.
absl::StatusOr<StoreOptions> MakeStoreOptions(const v1::ServerConfig& config,
                                              const LoadedSchema& schema);

// How many changes the store keeps for Watch: watch.historyChanges, or
// kServerMaxChanges when it is unset.
uint64_t WatchHistoryChanges(const v1::ServerConfig& config);

// A protobuf Duration as an absl::Duration.
absl::Duration FromProto(const google::protobuf::Duration& duration);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_SERVER_CONFIG_H_
