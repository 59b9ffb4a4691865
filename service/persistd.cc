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

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/command_line.h"
#include "base/free_memory.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/host_port.h"
#include "service/metrics_endpoint.h"
#include "service/persist_service.h"
#include "service/persistd_flags.h"
#include "service/persistd_servers.h"
#include "service/prometheus_text.h"
#include "service/reflection_service.h"
#include "service/rpc_metrics.h"
#include "service/server_config.h"
#include "service/server_log.h"
#include "service/server_setup.h"
#include "service/store_metrics.h"
#include "service/watch_metrics.h"
#include "storage/store.h"

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

// For messages that already say what they are about.
int Fail(const absl::Status& status) {
  Log().Error(status.message());
  return 1;
}

// The files of the services persistd serves. Naming their descriptors also
// links them into the binary (the linker drops unused objects of static
// libraries), so that reflection can serve them.
std::vector<const google::protobuf::FileDescriptor*> ApiFiles() {
  return {
      v1::GetRequest::descriptor()->file(),
      grpc::health::v1::HealthCheckRequest::descriptor()->file(),
      grpc::reflection::v1::ServerReflectionRequest::descriptor()->file(),
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

// The configuration: the file named by --config, flags over it, defaults
// under it.
absl::StatusOr<v1::ServerConfig> LoadConfig() {
  v1::ServerConfig config;
  if (!ConfigFlag().empty()) {
    absl::StatusOr<v1::ServerConfig> read = ReadConfigFile(ConfigFlag());
    if (!read.ok()) return read.status();
    config = *std::move(read);
  }
  if (absl::Status status = ApplyFlags(&config); !status.ok()) return status;
  ApplyDefaults(&config);
  return config;
}

// Once the store is open: what it holds, where it is served.
void LogServing(const v1::ServerConfig& config, const std::string& address,
                const Store& store, bool tokens, absl::Duration load_time) {
  const StoreStats stats = store.Stats();
  std::vector<std::string> maps;
  for (const MapStats& map : stats.maps) {
    // The map with the empty name (go-persist's single map) as "".
    maps.push_back(absl::StrCat(map.name.empty() ? "\"\"" : map.name, " (",
                                map.type, ", ", map.live_keys, " keys)"));
  }
  for (const MapStats& map : stats.maps) {
    // A config entry without a name declares it too: say so, in case that
    // was a name forgotten rather than go-persist's single map meant.
    if (map.name.empty()) {
      Log().Warning(absl::StrCat(
          "the map with the empty name (go-persist's single map) is declared, "
          "of type ",
          map.type,
          ": calls that name no map reach it; if a config entry lost its "
          "name, give it back"));
    }
  }
  Log().Info(absl::StrCat(
      "serving ", address,
      config.tls().cert_file().empty()
          ? ""
          : (config.tls().client_ca_file().empty() ? " (TLS)" : " (mTLS)"),
      tokens ? " (tokens)" : "", ", data file ", config.data_file(), " (",
      stats.wal_records, " records, loaded in ",
      absl::FormatDuration(load_time), "), maps: ", absl::StrJoin(maps, ", ")));
}

// Opening a store frees most of what it allocates (base/free_memory.h):
// hand it back, so that persistd's resident size is its data's.
void ReturnMemoryTheOpenFreed() {
  const int64_t before = ResidentBytes();
  ReleaseFreeMemory();
  const int64_t after = ResidentBytes();
  if (before - after < (1 << 20)) return;  // a small file: nothing to say
  Log().Info(absl::StrFormat(
      "returned %.1f MB that opening freed to the system (resident %.1f MB, "
      "was %.1f MB)",
      (before - after) / 1e6, after / 1e6, before / 1e6));
}

int FailToOpen(const v1::ServerConfig& config, const absl::Status& status) {
  Fail("data file", status);
  if (absl::IsDataLoss(status)) {
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

// Bearer tokens in plaintext can be read by anyone who sees the traffic:
// fine on loopback, not on an address other machines reach.
void WarnOfPlaintextTokens(const v1::ServerConfig& config) {
  if (!config.tls().cert_file().empty()) return;
  absl::StatusOr<HostAndPort> listen = SplitHostPort(config.listen());
  if (!listen.ok() || IsLoopback(listen->host)) return;
  Log().Warning(absl::StrCat(
      "bearer tokens are accepted over plaintext on ", config.listen(),
      ": anyone who can see the traffic can read them. Serve TLS "
      "(--tls_cert, --tls_key) or listen on loopback (127.0.0.1)"));
}

// What the configuration turns into before anything is served.
struct Setup {
  LoadedSchema schema;
  StoreOptions store_options;
  ServiceOptions service_options;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<TokenAuth> auth;  // null without tokens
};

// Errors start with the part of the configuration that is wrong.
absl::StatusOr<Setup> Prepare(const v1::ServerConfig& config) {
  auto in = [](absl::string_view what, const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrCat(what, ": ", status.message()));
  };
  Setup setup;
  absl::StatusOr<LoadedSchema> schema = LoadSchema(config.schema());
  if (!schema.ok()) return in("schema", schema.status());
  setup.schema = *std::move(schema);
  absl::StatusOr<StoreOptions> store_options =
      MakeStoreOptions(config, setup.schema);
  if (!store_options.ok()) return in("maps", store_options.status());
  setup.store_options = *std::move(store_options);
  setup.store_options.log = Log().EngineSink();
  if (absl::Status status = CheckAddresses(config); !status.ok()) {
    return in("config", status);
  }
  absl::StatusOr<ServiceOptions> service_options = MakeServiceOptions(config);
  if (!service_options.ok()) return in("config", service_options.status());
  setup.service_options = *std::move(service_options);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config.tls());
  if (!credentials.ok()) return in("tls", credentials.status());
  setup.credentials = *std::move(credentials);
  if (!config.tokens_file().empty()) {
    absl::StatusOr<std::unique_ptr<TokenAuth>> loaded =
        TokenAuth::FromFile(config.tokens_file());
    if (!loaded.ok()) return in("tokens", loaded.status());
    setup.auth = *std::move(loaded);
    setup.service_options.auth = setup.auth.get();
    WarnOfPlaintextTokens(config);
  }
  return setup;
}

// The Prometheus endpoint, if configured (null otherwise). `store` is null
// until the data file is loaded.
absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetrics(
    const v1::ServerConfig& config, const RpcMetrics& rpc_metrics,
    const WatchMetrics& watch_metrics, const std::atomic<const Store*>& store) {
  if (config.metrics_listen().empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> metrics =
      MetricsEndpoint::Start(config.metrics_listen(), [&] {
        PrometheusText page;
        AppendStoreMetrics(store.load(), &page);
        rpc_metrics.AppendTo(&page);
        watch_metrics.AppendTo(&page);
        return page.text();
      });
  if (!metrics.ok()) return metrics.status();
  Log().Info(absl::StrCat("metrics on http://",
                          HostPort(config.metrics_listen(), (*metrics)->port()),
                          "/metrics"));
  return metrics;
}

// The services whose calls are counted: persist.v1.Persist counts its own
// (unary_call.h); the health port, when there is one, its checks.
// Reflection is not counted.
std::vector<const google::protobuf::ServiceDescriptor*> CountedServices(
    const v1::ServerConfig& config) {
  std::vector<const google::protobuf::ServiceDescriptor*> services = {
      v1::GetRequest::descriptor()->file()->FindServiceByName("Persist")};
  if (!config.health_listen().empty()) {
    services.push_back(grpc::health::v1::HealthCheckRequest::descriptor()
                           ->file()
                           ->FindServiceByName("Health"));
  }
  return services;
}

// Lets the calls in flight finish while new ones are turned away
// (call_drain.h), up to the drain timeout.
void Drain(const v1::ServerConfig& config, PersistService& service,
           PersistdServers& servers) {
  servers.serving().Set(false);  // probes and balancers move away first
  const absl::Duration timeout =
      config.has_drain_timeout()
          ? absl::Seconds(config.drain_timeout().seconds()) +
                absl::Nanoseconds(config.drain_timeout().nanos())
          : absl::Seconds(10);
  Log().Info(
      absl::StrCat("draining: new calls answer UNAVAILABLE; calls in "
                   "flight have up to ",
                   absl::FormatDuration(timeout), " to finish"));
  // Quiet for 200 ms: clients have seen their UNAVAILABLE and stopped.
  const CallDrain::Result drained =
      service.Drain(absl::Milliseconds(200), absl::Now() + timeout);
  if (drained.drained) {
    Log().Info(absl::StrCat("drained: every call finished (",
                            drained.turned_away, " turned away)"));
  } else {
    Log().Warning(absl::StrCat(
        "drain timeout: ", drained.in_flight,
        " calls still in flight are cancelled (", drained.turned_away,
        " turned away); raise drainTimeout (--drain_timeout) to wait longer"));
  }
}

// Serves `config` until SIGTERM or SIGINT.
int Serve(const v1::ServerConfig& config) {
  absl::StatusOr<Setup> setup = Prepare(config);
  // Messages here name the part of the configuration that is wrong.
  if (!setup.ok()) return Fail(setup.status());
  // Metrics first, so that a slow load shows as persist_store_loaded 0.
  RpcMetrics rpc_metrics(CountedServices(config));
  WatchMetrics watch_metrics;
  std::atomic<const Store*> served{nullptr};
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> metrics =
      StartMetrics(config, rpc_metrics, watch_metrics, served);
  if (!metrics.ok()) return Fail(metrics.status());
  const bool counting = *metrics != nullptr;

  // Serve first, NOT_SERVING and UNAVAILABLE while the data file loads, so
  // that probes and clients see a live server that is not ready yet.
  // Without a metrics endpoint nobody reads the counts: calls skip them.
  if (counting) {
    setup->service_options.metrics = &rpc_metrics;
    setup->service_options.watch.metrics = &watch_metrics;
  }
  PersistService service(setup->service_options);
  ReflectionService reflection(ReflectedFiles(config, setup->schema),
                               ServiceNames(ApiFiles()), setup->auth.get());
  ReflectionServiceV1 reflection_v1(reflection);
  PersistdServers servers;  // after the services: stopped before they go
  // The engine logs the error itself.
  setup->store_options.on_write_failure = [&servers](const absl::Status&) {
    servers.serving().MarkFailed();
  };
  setup->store_options.on_change = service.ChangeListener();
  if (absl::Status started = servers.Start(
          config, setup->credentials, {&service, &reflection, &reflection_v1},
          ServiceNames(ApiFiles()), counting ? &rpc_metrics : nullptr);
      !started.ok()) {
    return Fail(started);
  }
  if (!servers.health_address().empty()) {
    Log().Info(absl::StrCat("health on ", servers.health_address(),
                            " (plaintext, grpc.health.v1 only)"));
  }
  Log().Info(absl::StrCat("listening on ", servers.address(), ", loading ",
                          config.data_file()));

  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(setup->store_options);
  if (!store.ok()) {
    servers.Stop();
    return FailToOpen(config, store.status());
  }
  ReturnMemoryTheOpenFreed();
  service.SetStore(store->get());
  served = store->get();
  servers.serving().Set(true);
  LogServing(config, servers.address(), **store, setup->auth != nullptr,
             absl::Now() - start);

  WaitForShutdownSignal();
  Drain(config, service, servers);
  servers.Stop(absl::Seconds(1));  // what is left: health Watch streams
  metrics->reset();                // no scrape may outlive the store
  if (absl::Status closed = (*store)->Close(); !closed.ok()) {
    return Fail("closing the data file", closed);
  }
  Log().Info(
      absl::StrCat("stopped; ", config.data_file(), " is flushed and closed"));
  return 0;
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
  constexpr char kUsage[] =
      "persistd: serves typed maps of protobuf messages over gRPC "
      "(persist.v1.Persist)\n"
      "usage: persistd [--config=persistd.json] [flags]\n"
      "With no config and no flags it serves the example schema (map "
      "\"users\" of example.v1.User)\non 127.0.0.1:50051, with its data in "
      "./persist.wal. Flags win over the config file.";
  if (PrintHelpOrVersion(argc, argv,
                         {"persistd", kUsage, {"service/persistd_flags"}})) {
    return 0;
  }
  absl::SetProgramUsageMessage(kUsage);
  absl::ParseCommandLine(argc, argv);
  const std::string log_format = LogFormatFlag();
  if (log_format != "text" && log_format != "json") {
    return Fail("flags",
                absl::InvalidArgumentError(absl::StrCat(
                    "--log_format: \"", log_format, "\" is not text or json")));
  }
  // Static: it outlives everything that logs, up to the process's exit.
  static const ServerLog log(/*json=*/log_format == "json");
  server_log = &log;
  log.SendGrpcLogsHere();
  absl::StatusOr<v1::ServerConfig> config = LoadConfig();
  if (!config.ok()) return Fail("config", config.status());
  return Serve(*config);
}

}  // namespace
}  // namespace persist::service

int main(int argc, char** argv) { return persist::service::Main(argc, argv); }
