#include "service/server_config.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "example/v1/user.pb.h"
#include "google/protobuf/util/time_util.h"
#include "json/json_codec.h"
#include "storage/file_system.h"

namespace persist::service {
namespace {

// `path` as seen from `dir`, unless it is absolute or empty.
void ResolveIn(const std::string& dir, std::string* path) {
  if (path->empty() || absl::StartsWith(*path, "/")) return;
  *path = dir == "." ? *path : absl::StrCat(dir, "/", *path);
}

// Every path a config file names, made relative to its folder.
void ResolvePaths(const std::string& dir, v1::ServerConfig* config) {
  ResolveIn(dir, config->mutable_data_file());
  ResolveIn(dir, config->mutable_tokens_file());
  v1::Schema* schema = config->mutable_schema();
  ResolveIn(dir, schema->mutable_descriptor_set());
  for (std::string& include : *schema->mutable_include_paths()) {
    ResolveIn(dir, &include);
  }
  v1::Tls* tls = config->mutable_tls();
  ResolveIn(dir, tls->mutable_cert_file());
  ResolveIn(dir, tls->mutable_key_file());
  ResolveIn(dir, tls->mutable_client_ca_file());
}

}  // namespace

absl::StatusOr<v1::ServerConfig> ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the config file ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  JsonCodecOptions options;
  options.read_go_durations = true;  // "500ms" as well as "0.5s"
  v1::ServerConfig config;
  if (absl::Status status = JsonCodec(options).Decode(text.str(), &config);
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, ": ", status.message()));
  }
  ResolvePaths(DirName(path), &config);
  return config;
}

absl::Status ApplyDataSettings(const DataSettings& settings,
                               v1::ServerConfig* config) {
  if (!settings.data_file.empty()) config->set_data_file(settings.data_file);
  v1::Schema* schema = config->mutable_schema();
  if (!settings.descriptor_set.empty()) {
    schema->set_descriptor_set(settings.descriptor_set);
  }
  for (const std::string& file : settings.proto_files) {
    schema->add_proto_files(file);
  }
  for (const std::string& path : settings.proto_path) {
    schema->add_include_paths(path);
  }
  if (!settings.maps.empty()) config->clear_maps();
  for (const std::string& map : settings.maps) {
    const std::vector<std::string> parts = absl::StrSplit(map, '=');
    // An empty name ("=full.type.Name") is go-persist's single map.
    if (parts.size() != 2 || parts[1].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--maps: \"", map,
          "\" is not name=full.type.Name (or =full.type.Name, for the map "
          "with the empty name)"));
    }
    v1::MapConfig* entry = config->add_maps();
    entry->set_name(parts[0]);
    entry->set_type(parts[1]);
  }
  if (settings.skip_corrupt) {
    config->mutable_recovery()->set_skip_corrupt(true);
  }
  if (settings.ignore_unknown_fields) {
    config->mutable_recovery()->set_ignore_unknown_fields(true);
  }
  return absl::OkStatus();
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
  if (config.has_expiry_interval()) {
    options.expiry_interval = FromProto(config.expiry_interval());
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
  // Kept for Watch; the engine keeps none unless asked.
  options.history.max_changes = WatchHistoryChanges(config);
  if (config.watch().history_bytes() != 0) {
    options.history.max_bytes = config.watch().history_bytes();
  }
  return options;
}

uint64_t WatchHistoryChanges(const v1::ServerConfig& config) {
  return config.watch().history_changes() != 0
             ? config.watch().history_changes()
             : kServerMaxChanges;
}

absl::Duration FromProto(const google::protobuf::Duration& duration) {
  using google::protobuf::util::TimeUtil;
  return absl::Nanoseconds(TimeUtil::DurationToNanoseconds(duration));
}

}  // namespace persist::service
