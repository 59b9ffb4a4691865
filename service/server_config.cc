#include "service/server_config.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "example/v1/user.pb.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/security/server_credentials.h"
#include "service/host_port.h"
#include "json/json_codec.h"
#include "base/status_macros.h"

namespace persist::service {
namespace {

using google::protobuf::util::TimeUtil;

absl::Duration FromProto(const google::protobuf::Duration& duration) {
  return absl::Nanoseconds(TimeUtil::DurationToNanoseconds(duration));
}

absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the ", what, " ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::Tls& tls) {
  if (tls.cert_file().empty() && tls.key_file().empty()) {
    if (!tls.client_ca_file().empty()) {
      return absl::InvalidArgumentError(
          "tls.client_ca_file needs tls.cert_file and tls.key_file too");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert_file().empty() || tls.key_file().empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both tls.cert_file and tls.key_file (PEM)");
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  PERSIST_ASSIGN_OR_RETURN(pair.private_key,
                           ReadPem(tls.key_file(), "TLS key"));
  PERSIST_ASSIGN_OR_RETURN(pair.cert_chain,
                           ReadPem(tls.cert_file(), "TLS certificate"));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file().empty()) {
    PERSIST_ASSIGN_OR_RETURN(options.pem_root_certs,
                             ReadPem(tls.client_ca_file(), "client CA"));
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<v1::ServerConfig> ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the config file ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  v1::ServerConfig config;
  if (absl::Status status = JsonCodec().Decode(text.str(), &config);
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, ": ", status.message()));
  }
  return config;
}

void ApplyDefaults(v1::ServerConfig* config) {
  if (config->listen().empty()) config->set_listen("127.0.0.1:50051");
  if (config->data_file().empty()) config->set_data_file("persist.wal");
  if (config->default_durability() == v1::DURABILITY_UNSPECIFIED) {
    config->set_default_durability(v1::WRITE);
  }
  const v1::Schema& schema = config->schema();
  if (schema.descriptor_set().empty() && schema.proto_files().empty() &&
      config->maps().empty()) {
    v1::MapConfig* users = config->add_maps();
    users->set_name("users");
    users->set_type(example::v1::User::descriptor()->full_name());
  }
}

const google::protobuf::Descriptor* LoadedSchema::Find(
    const std::string& type) const {
  if (schema == nullptr) {
    return google::protobuf::DescriptorPool::generated_pool()
        ->FindMessageTypeByName(type);
  }
  absl::StatusOr<const google::protobuf::Descriptor*> found =
      schema->FindMessage(type);
  return found.ok() ? *found : nullptr;
}

absl::StatusOr<LoadedSchema> LoadSchema(const v1::Schema& schema) {
  LoadedSchema loaded;
  if (!schema.descriptor_set().empty()) {
    PERSIST_ASSIGN_OR_RETURN(
        loaded.schema, Schema::FromDescriptorSetFile(schema.descriptor_set()));
  } else if (!schema.proto_files().empty()) {
    PERSIST_ASSIGN_OR_RETURN(
        loaded.schema,
        Schema::FromProtoFiles(
            {schema.proto_files().begin(), schema.proto_files().end()},
            {schema.include_paths().begin(), schema.include_paths().end()}));
  }
  // Make sure the example is linked in for the embedded default.
  (void)example::v1::User::descriptor();
  return loaded;
}

absl::StatusOr<StoreOptions> MakeStoreOptions(const v1::ServerConfig& config,
                                              const LoadedSchema& schema) {
  StoreOptions options;
  options.path = config.data_file();
  for (const v1::MapConfig& map : config.maps()) {
    const google::protobuf::Descriptor* type = schema.Find(map.type());
    if (type == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "map \"", map.name(), "\": its type ", map.type(),
          " is not in the schema; give its full name (package included) and "
          "the .proto files or descriptor set that define it"));
    }
    options.maps.push_back({map.name(), type});
  }
  if (config.has_sync_interval()) {
    options.sync_interval = FromProto(config.sync_interval());
  }
  const v1::AutoShrink& shrink = config.auto_shrink();
  options.auto_shrink.enabled = !shrink.disabled();
  if (shrink.has_check_interval()) {
    options.auto_shrink.check_interval = FromProto(shrink.check_interval());
  }
  if (shrink.ratio() != 0) options.auto_shrink.ratio = shrink.ratio();
  if (shrink.min_file_bytes() != 0) {
    options.auto_shrink.min_file_bytes = shrink.min_file_bytes();
  }
  options.recovery = config.recovery().skip_corrupt()
                         ? RecoveryMode::kSkipCorrupt
                         : RecoveryMode::kStrict;
  options.ignore_unknown_fields = config.recovery().ignore_unknown_fields();
  if (schema.schema != nullptr) options.any_type_pool = schema.schema->pool();
  return options;
}

absl::Status CheckAddresses(const v1::ServerConfig& config) {
  struct Address {
    const char* setting;
    const std::string& value;
    int port = 0;
  };
  Address addresses[] = {{"listen (--listen)", config.listen()},
                         {"metricsListen (--metrics_listen)",
                          config.metrics_listen()},
                         {"healthListen (--health_listen)",
                          config.health_listen()}};
  for (Address& address : addresses) {
    if (address.value.empty()) continue;
    absl::StatusOr<HostAndPort> split = SplitHostPort(address.value);
    if (!split.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(address.setting, ": ", split.status().message()));
    }
    address.port = split->port;
  }
  for (const Address& a : addresses) {
    for (const Address& b : addresses) {
      if (&a < &b && a.port != 0 && a.port == b.port) {
        return absl::InvalidArgumentError(
            absl::StrCat(a.setting, " and ", b.setting, " both use port ",
                         a.port, "; give each its own port"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ServiceOptions> MakeServiceOptions(
    const v1::ServerConfig& config) {
  ServiceOptions options;
  switch (config.default_durability()) {
    case v1::MEMORY:
      options.default_durability = Durability::kMemory;
      break;
    case v1::ASYNC:
      options.default_durability = Durability::kAsync;
      break;
    case v1::FSYNC:
      options.default_durability = Durability::kFsync;
      break;
    case v1::WRITE:
    case v1::DURABILITY_UNSPECIFIED:
      options.default_durability = Durability::kWrite;
      break;
    default:
      return absl::InvalidArgumentError("unknown default_durability");
  }
  if (config.limits().max_page_size() < 0 ||
      config.limits().max_message_bytes() < 0) {
    return absl::InvalidArgumentError(
        "limits.max_page_size and limits.max_message_bytes must not be "
        "negative (0 means the default)");
  }
  if (config.limits().max_message_bytes() > 0) {
    options.max_message_bytes = config.limits().max_message_bytes();
  }
  if (config.limits().max_page_size() > 0) {
    options.max_page_size = config.limits().max_page_size();
    options.default_page_size =
        std::min(options.default_page_size, options.max_page_size);
  }
  return options;
}

}  // namespace persist::service
