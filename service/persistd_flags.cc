#include "service/persistd_flags.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "service/server_config.h"

ABSL_FLAG(std::string, config, "",
          "a JSON file holding a persist.v1.ServerConfig");
ABSL_FLAG(std::string, listen, "",
          "host:port to serve on (default 127.0.0.1:50051; port 0 picks one)");
ABSL_FLAG(std::string, data, "", "the data file (default ./persist.wal)");
ABSL_FLAG(std::string, descriptor_set, "",
          "the schema as a FileDescriptorSet (protoc --include_imports "
          "--descriptor_set_out)");
ABSL_FLAG(std::vector<std::string>, proto_files, {},
          "the schema as .proto files, relative to --proto_path");
ABSL_FLAG(std::vector<std::string>, proto_path, {},
          "include paths for --proto_files");
ABSL_FLAG(std::vector<std::string>, maps, {},
          "maps to serve, as name=full.type.Name, comma-separated");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA: require client certificates it signed (mutual TLS)");
ABSL_FLAG(std::string, tokens_file, "",
          "bearer tokens, one \"<token> read|write\" per line");
ABSL_FLAG(int, max_message_bytes, 0,
          "largest request or response in bytes (default 4 MiB)");
// Durations are strings and "unset" is empty or 0: abseil's flags of
// std::optional or of absl::Duration use a fence that GCC's ThreadSanitizer
// build refuses.
ABSL_FLAG(std::string, sync_interval, "",
          "how often ASYNC changes are written and fsynced, as 500ms or 2s "
          "(default 1s)");
ABSL_FLAG(std::string, expiry_interval, "",
          "how often expired entries (TTL) are deleted, as 100ms or 1s "
          "(default 100ms)");
ABSL_FLAG(bool, auto_shrink_disabled, false, "never shrink on its own");
ABSL_FLAG(std::string, drain_timeout, "",
          "on SIGTERM, how long calls in flight may take to finish before "
          "the servers stop (default 10s)");
ABSL_FLAG(std::string, auto_shrink_check_interval, "",
          "how often to consider shrinking (default 1m)");
ABSL_FLAG(double, auto_shrink_ratio, 0,
          "shrink when records / live keys reaches this (default 1.8)");
ABSL_FLAG(uint64_t, auto_shrink_min_file_bytes, 0,
          "... and the file has at least this many bytes (default 16 MiB)");
ABSL_FLAG(bool, skip_corrupt, false,
          "on open, skip damaged records (counted and logged) instead of "
          "refusing to start");
ABSL_FLAG(bool, ignore_unknown_fields, false,
          "on open, skip JSON fields the maps' types lack instead of "
          "refusing them");
ABSL_FLAG(int, max_page_size, 0, "largest List page (default 1000)");
ABSL_FLAG(int, max_batch_operations, 0,
          "most operations in one Write, an atomic batch (default 128)");
ABSL_FLAG(std::string, log_format, "text",
          "text (for people) or json (one object per line, on stdout)");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of a Prometheus endpoint (GET /metrics); off when empty");
ABSL_FLAG(std::string, health_listen, "",
          "host:port of a plaintext port serving only grpc.health.v1, for "
          "probes that cannot use TLS; off when empty");
ABSL_FLAG(uint64_t, watch_history_changes, 0,
          "recent changes kept for Watch, which watchers may start or resume "
          "from (default 10000)");
ABSL_FLAG(uint64_t, watch_history_bytes, 0,
          "... and at most this many bytes of them (default 16 MiB)");
ABSL_FLAG(std::string, watch_progress_interval, "",
          "how long an idle Watch stream waits before a progress notice "
          "(default 10s)");
ABSL_FLAG(std::string, default_durability, "",
          "durability of writes that give none: memory, async, write "
          "(default) or fsync");

namespace persist::service {
namespace {

// Sets the duration `out()` returns from the flag `name`'s text, unless the
// text is empty (then `out` is not called, so the field stays unset).
absl::Status SetDurationFlag(
    absl::string_view name, const std::string& text,
    absl::FunctionRef<google::protobuf::Duration*()> out) {
  if (text.empty()) return absl::OkStatus();
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": \"", text,
                     "\" is not a duration such as 500ms, 2s or 1m"));
  }
  const int64_t seconds =
      absl::IDivDuration(duration, absl::Seconds(1), &duration);
  out()->set_seconds(seconds);
  out()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
  return absl::OkStatus();
}

// The data file, the schema, the maps and their recovery.
absl::Status ApplyDataFlags(v1::ServerConfig* config) {
  DataSettings data;
  data.data_file = absl::GetFlag(FLAGS_data);
  data.descriptor_set = absl::GetFlag(FLAGS_descriptor_set);
  data.proto_files = absl::GetFlag(FLAGS_proto_files);
  data.proto_path = absl::GetFlag(FLAGS_proto_path);
  data.maps = absl::GetFlag(FLAGS_maps);
  data.skip_corrupt = absl::GetFlag(FLAGS_skip_corrupt);
  data.ignore_unknown_fields = absl::GetFlag(FLAGS_ignore_unknown_fields);
  return ApplyDataSettings(data, config);
}

// Where and how persistd serves: ports, TLS, tokens, limits.
void ApplyServingFlags(v1::ServerConfig* config) {
  if (!absl::GetFlag(FLAGS_listen).empty()) {
    config->set_listen(absl::GetFlag(FLAGS_listen));
  }
  if (!absl::GetFlag(FLAGS_metrics_listen).empty()) {
    config->set_metrics_listen(absl::GetFlag(FLAGS_metrics_listen));
  }
  if (!absl::GetFlag(FLAGS_health_listen).empty()) {
    config->set_health_listen(absl::GetFlag(FLAGS_health_listen));
  }
  if (!absl::GetFlag(FLAGS_tls_cert).empty()) {
    config->mutable_tls()->set_cert_file(absl::GetFlag(FLAGS_tls_cert));
  }
  if (!absl::GetFlag(FLAGS_tls_key).empty()) {
    config->mutable_tls()->set_key_file(absl::GetFlag(FLAGS_tls_key));
  }
  if (!absl::GetFlag(FLAGS_tls_client_ca).empty()) {
    config->mutable_tls()->set_client_ca_file(
        absl::GetFlag(FLAGS_tls_client_ca));
  }
  if (!absl::GetFlag(FLAGS_tokens_file).empty()) {
    config->set_tokens_file(absl::GetFlag(FLAGS_tokens_file));
  }
  if (absl::GetFlag(FLAGS_max_message_bytes) != 0) {
    config->mutable_limits()->set_max_message_bytes(
        absl::GetFlag(FLAGS_max_message_bytes));
  }
  if (absl::GetFlag(FLAGS_max_batch_operations) != 0) {
    config->mutable_limits()->set_max_batch_operations(
        absl::GetFlag(FLAGS_max_batch_operations));
  }
  if (absl::GetFlag(FLAGS_max_page_size) != 0) {
    config->mutable_limits()->set_max_page_size(
        absl::GetFlag(FLAGS_max_page_size));
  }
}

// How the store writes, shrinks and recovers.
absl::Status ApplyStoreFlags(v1::ServerConfig* config) {
  if (absl::Status status =
          SetDurationFlag("sync_interval", absl::GetFlag(FLAGS_sync_interval),
                          [config] { return config->mutable_sync_interval(); });
      !status.ok()) {
    return status;
  }
  if (absl::Status status = SetDurationFlag(
          "expiry_interval", absl::GetFlag(FLAGS_expiry_interval),
          [config] { return config->mutable_expiry_interval(); });
      !status.ok()) {
    return status;
  }
  if (absl::Status status =
          SetDurationFlag("drain_timeout", absl::GetFlag(FLAGS_drain_timeout),
                          [config] { return config->mutable_drain_timeout(); });
      !status.ok()) {
    return status;
  }
  v1::AutoShrink* shrink = config->mutable_auto_shrink();
  if (absl::GetFlag(FLAGS_auto_shrink_disabled)) shrink->set_disabled(true);
  if (absl::Status status = SetDurationFlag(
          "auto_shrink_check_interval",
          absl::GetFlag(FLAGS_auto_shrink_check_interval),
          [shrink] { return shrink->mutable_check_interval(); });
      !status.ok()) {
    return status;
  }
  if (absl::GetFlag(FLAGS_auto_shrink_ratio) != 0) {
    shrink->set_ratio(absl::GetFlag(FLAGS_auto_shrink_ratio));
  }
  if (absl::GetFlag(FLAGS_auto_shrink_min_file_bytes) != 0) {
    shrink->set_min_file_bytes(absl::GetFlag(FLAGS_auto_shrink_min_file_bytes));
  }
  v1::Watch* watch = config->mutable_watch();
  if (absl::GetFlag(FLAGS_watch_history_changes) != 0) {
    watch->set_history_changes(absl::GetFlag(FLAGS_watch_history_changes));
  }
  if (absl::GetFlag(FLAGS_watch_history_bytes) != 0) {
    watch->set_history_bytes(absl::GetFlag(FLAGS_watch_history_bytes));
  }
  if (absl::Status status = SetDurationFlag(
          "watch_progress_interval",
          absl::GetFlag(FLAGS_watch_progress_interval),
          [watch] { return watch->mutable_progress_interval(); });
      !status.ok()) {
    return status;
  }
  const std::string durability = absl::GetFlag(FLAGS_default_durability);
  if (!durability.empty()) {
    v1::Durability value;
    if (!v1::Durability_Parse(absl::AsciiStrToUpper(durability), &value) ||
        value == v1::DURABILITY_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("--default_durability: \"", durability,
                       "\" is not memory, async, write or fsync"));
    }
    config->set_default_durability(value);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyFlags(v1::ServerConfig* config) {
  ApplyServingFlags(config);
  PERSIST_RETURN_IF_ERROR(ApplyDataFlags(config));
  return ApplyStoreFlags(config);
}

std::string LogFormatFlag() { return absl::GetFlag(FLAGS_log_format); }

std::string ConfigFlag() { return absl::GetFlag(FLAGS_config); }

}  // namespace persist::service
