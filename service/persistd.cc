// persistd: serves a store over gRPC (persist.v1.Persist), with health
// checking and server reflection.
//
//   persistd                                  # the embedded example
//   persistd --config=persistd.json
//   persistd --listen=0.0.0.0:50051 --data=/var/lib/persist/data.wal
//       --proto_path=protos --proto_files=shop/v1/order.proto
//       --maps=orders=shop.v1.Order          (one command line)
//
// Flags override the config file. On SIGTERM or SIGINT it stops accepting
// calls, finishes those in flight, flushes and fsyncs the store, and exits 0.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "service/persist_service.h"
#include "service/reflection_service.h"
#include "service/server_config.h"
#include "service/server_log.h"
#include "storage/store.h"

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
ABSL_FLAG(bool, auto_shrink_disabled, false, "never shrink on its own");
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
ABSL_FLAG(std::string, log_format, "text",
          "text (for people) or json (one object per line, on stdout)");
ABSL_FLAG(std::string, default_durability, "",
          "durability of writes that give none: memory, async, write "
          "(default) or fsync");

namespace persist::service {
namespace {

// Set once the flags are parsed; text until then.
const ServerLog* server_log = nullptr;

const ServerLog& Log() {
  static const ServerLog text(/*json=*/false);
  return server_log != nullptr ? *server_log : text;
}

int Fail(absl::string_view what, const absl::Status& status) {
  Log().Error(absl::StrCat(what, ": ", status.message()));
  return 1;
}

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

// Flags override the config file's fields; every field has one.
absl::Status ApplyFlags(v1::ServerConfig* config) {
  if (!absl::GetFlag(FLAGS_listen).empty()) {
    config->set_listen(absl::GetFlag(FLAGS_listen));
  }
  if (!absl::GetFlag(FLAGS_data).empty()) {
    config->set_data_file(absl::GetFlag(FLAGS_data));
  }
  if (!absl::GetFlag(FLAGS_descriptor_set).empty()) {
    config->mutable_schema()->set_descriptor_set(
        absl::GetFlag(FLAGS_descriptor_set));
  }
  for (const std::string& file : absl::GetFlag(FLAGS_proto_files)) {
    config->mutable_schema()->add_proto_files(file);
  }
  for (const std::string& path : absl::GetFlag(FLAGS_proto_path)) {
    config->mutable_schema()->add_include_paths(path);
  }
  if (!absl::GetFlag(FLAGS_maps).empty()) config->clear_maps();
  for (const std::string& map : absl::GetFlag(FLAGS_maps)) {
    const std::vector<std::string> parts = absl::StrSplit(map, '=');
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--maps: \"", map, "\" is not name=full.type.Name"));
    }
    v1::MapConfig* entry = config->add_maps();
    entry->set_name(parts[0]);
    entry->set_type(parts[1]);
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
  if (absl::Status status =
          SetDurationFlag("sync_interval", absl::GetFlag(FLAGS_sync_interval),
                          [config] { return config->mutable_sync_interval(); });
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
  if (absl::GetFlag(FLAGS_skip_corrupt)) {
    config->mutable_recovery()->set_skip_corrupt(true);
  }
  if (absl::GetFlag(FLAGS_ignore_unknown_fields)) {
    config->mutable_recovery()->set_ignore_unknown_fields(true);
  }
  if (absl::GetFlag(FLAGS_max_page_size) != 0) {
    config->mutable_limits()->set_max_page_size(
        absl::GetFlag(FLAGS_max_page_size));
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

// The files of the services persistd serves. Naming their descriptors also
// links them into the binary (the linker drops unused objects of static
// libraries), so that reflection can serve them.
std::vector<const google::protobuf::FileDescriptor*> ApiFiles() {
  return {
      v1::GetRequest::descriptor()->file(),
      grpc::health::v1::HealthCheckRequest::descriptor()->file(),
      grpc::reflection::v1alpha::ServerReflectionRequest::descriptor()->file()};
}

// What reflection serves: the schema's files and the maps' types first (so
// that the user's definitions win), then the API.
std::vector<const google::protobuf::FileDescriptor*> ReflectedFiles(
    const v1::ServerConfig& config, const LoadedSchema& schema) {
  std::vector<const google::protobuf::FileDescriptor*> files;
  if (schema.schema != nullptr) files = schema.schema->files();
  for (const v1::MapConfig& map : config.maps()) {
    if (const auto* type = schema.Find(map.type())) {
      files.push_back(type->file());
    }
  }
  for (const auto* file : ApiFiles()) files.push_back(file);
  return files;
}

std::vector<std::string> ServiceNames(
    const std::vector<const google::protobuf::FileDescriptor*>& files) {
  std::vector<std::string> names;
  for (const google::protobuf::FileDescriptor* file : files) {
    for (int i = 0; i < file->service_count(); ++i) {
      names.push_back(file->service(i)->full_name());
    }
  }
  return names;
}

// Waits for SIGTERM or SIGINT, which main() blocked in every thread.
void WaitForShutdownSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log().Info(absl::StrCat(signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
                          ": shutting down"));
}

int Main(int argc, char** argv) {
  // Before any thread starts, so that only sigwait sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock
  // detection on: a lock-graph update on every lock, in our code and in
  // gRPC's. Release builds of abseil have it off; so does persistd.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "serves typed maps of protobuf messages over gRPC (persist.v1.Persist)");
  absl::ParseCommandLine(argc, argv);
  const std::string log_format = absl::GetFlag(FLAGS_log_format);
  if (log_format != "text" && log_format != "json") {
    return Fail("flags",
                absl::InvalidArgumentError(absl::StrCat(
                    "--log_format: \"", log_format, "\" is not text or json")));
  }
  // Static: it outlives everything that logs, up to the process's exit.
  static const ServerLog log(/*json=*/log_format == "json");
  server_log = &log;
  v1::ServerConfig config;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    absl::StatusOr<v1::ServerConfig> read =
        ReadConfigFile(absl::GetFlag(FLAGS_config));
    if (!read.ok()) return Fail("config", read.status());
    config = *std::move(read);
  }
  if (absl::Status status = ApplyFlags(&config); !status.ok()) {
    return Fail("flags", status);
  }
  ApplyDefaults(&config);
  absl::StatusOr<LoadedSchema> schema = LoadSchema(config.schema());
  if (!schema.ok()) return Fail("schema", schema.status());
  absl::StatusOr<StoreOptions> store_options =
      MakeStoreOptions(config, *schema);
  if (!store_options.ok()) return Fail("maps", store_options.status());
  store_options->log = log.EngineSink();
  absl::StatusOr<ServiceOptions> service_options = MakeServiceOptions(config);
  if (!service_options.ok()) return Fail("config", service_options.status());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config.tls());
  if (!credentials.ok()) return Fail("tls", credentials.status());
  std::unique_ptr<TokenAuth> auth;
  if (!config.tokens_file().empty()) {
    absl::StatusOr<std::unique_ptr<TokenAuth>> loaded =
        TokenAuth::FromFile(config.tokens_file());
    if (!loaded.ok()) return Fail("tokens", loaded.status());
    auth = *std::move(loaded);
    service_options->auth = auth.get();
  }

  // Serve first, NOT_SERVING and UNAVAILABLE while the data file loads, so
  // that probes and clients see a live server that is not ready yet.
  std::atomic<grpc::HealthCheckServiceInterface*> health{nullptr};
  service_options->on_store_failure = [&health](const absl::Status& status) {
    Log().Error(
        absl::StrCat("the store stopped taking writes: ", status.message()));
    if (auto* h = health.load()) h->SetServingStatus(false);
  };
  PersistService service(*service_options);
  grpc::EnableDefaultHealthCheckService(true);
  ReflectionService reflection(ReflectedFiles(config, *schema),
                               ServiceNames(ApiFiles()), auth.get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen(), *credentials, &port);
  builder.RegisterService(&service);
  builder.RegisterService(&reflection);
  // Larger messages are RESOURCE_EXHAUSTED, before they reach the store.
  const int max_message_bytes = config.limits().max_message_bytes() > 0
                                    ? config.limits().max_message_bytes()
                                    : 4 << 20;
  builder.SetMaxReceiveMessageSize(max_message_bytes);
  builder.SetMaxSendMessageSize(max_message_bytes);
  // Find dead clients on idle connections, and let live ones ping us.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail("listen", absl::UnavailableError(absl::StrCat(
                              "cannot serve on ", config.listen(),
                              "; is the address valid and the port free?")));
  }
  health = server->GetHealthCheckService();
  health.load()->SetServingStatus(false);
  const std::string host =
      config.listen().substr(0, config.listen().rfind(':'));
  Log().Info(absl::StrCat("listening on ", host, ":", port, ", loading ",
                          config.data_file()));

  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(*store_options);
  if (!store.ok()) {
    server->Shutdown();
    Fail("data file", store.status());
    if (absl::IsDataLoss(store.status())) {
      Log().Error(absl::StrCat(
          "to see what the file holds: persistctl check --file=",
          config.data_file(),
          "; to start anyway, skipping damaged records: "
          "--skip_corrupt (or recovery.skipCorrupt in the config); to keep "
          "a readable copy: persistctl repair --file=",
          config.data_file(), " --out=NEW_FILE"));
    }
    return 1;
  }
  const absl::Duration load_time = absl::Now() - start;
  service.SetStore(store->get());
  health.load()->SetServingStatus(true);

  const StoreStats stats = (*store)->Stats();
  std::vector<std::string> maps;
  for (const MapStats& map : stats.maps) {
    maps.push_back(
        absl::StrCat(map.name, " (", map.type, ", ", map.live_keys, " keys)"));
  }
  Log().Info(absl::StrCat(
      "serving ", host, ":", port,
      config.tls().cert_file().empty()
          ? ""
          : (config.tls().client_ca_file().empty() ? " (TLS)" : " (mTLS)"),
      auth != nullptr ? " (tokens)" : "", ", data file ", config.data_file(),
      " (", stats.wal_records, " records, loaded in ",
      absl::FormatDuration(load_time), "), maps: ", absl::StrJoin(maps, ", ")));

  WaitForShutdownSignal();
  health.load()->SetServingStatus(false);
  // Calls in flight get a few seconds to finish, then are cancelled.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  if (absl::Status closed = (*store)->Close(); !closed.ok()) {
    return Fail("closing the data file", closed);
  }
  Log().Info(
      absl::StrCat("stopped; ", config.data_file(), " is flushed and closed"));
  return 0;
}

}  // namespace
}  // namespace persist::service

int main(int argc, char** argv) { return persist::service::Main(argc, argv); }
