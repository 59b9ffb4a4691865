// persistd's configuration: the ServerConfig proto (proto/persist/v1/
// config.proto) from a JSON file, flags over it, defaults under it, and
// what it turns into: the schema, the store's options, the service's.
#ifndef PERSIST_SERVICE_SERVER_CONFIG_H_
#define PERSIST_SERVICE_SERVER_CONFIG_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "persist/v1/config.pb.h"
#include "service/persist_service.h"
#include "storage/schema.h"
#include "storage/store_options.h"

namespace persist::service {

// Reads a ServerConfig from a JSON file (proto3 JSON, unknown fields are an
// error naming them).
absl::StatusOr<v1::ServerConfig> ReadConfigFile(const std::string& path);

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

// The addresses (listen, metrics_listen, health_listen), each host:port
// with a port from 0 to 65535 when set, and no two on one port (0 picks a
// free one each time). InvalidArgument naming the settings and their flags.
absl::Status CheckAddresses(const v1::ServerConfig& config);

absl::StatusOr<ServiceOptions> MakeServiceOptions(
    const v1::ServerConfig& config);

// Insecure without tls.cert_file; TLS with cert and key; mutual TLS (client
// certificates required and verified) with client_ca_file too. Errors name
// the file that cannot be read or the setting that is missing.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::Tls& tls);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_SERVER_CONFIG_H_
