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
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "service/metrics_endpoint.h"
#include "service/persist_service.h"
#include "service/persistd_flags.h"
#include "service/prometheus_text.h"
#include "service/reflection_service.h"
#include "service/rpc_metrics.h"
#include "service/server_config.h"
#include "service/server_log.h"
#include "service/serving_status.h"
#include "service/store_metrics.h"
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

// Limits and keepalive, the same on every port.
void ConfigureServer(const v1::ServerConfig& config,
                     grpc::ServerBuilder* builder) {
  // Larger messages are RESOURCE_EXHAUSTED, before they reach the store.
  const int max_message_bytes = config.limits().max_message_bytes() > 0
                                    ? config.limits().max_message_bytes()
                                    : 4 << 20;
  builder->SetMaxReceiveMessageSize(max_message_bytes);
  builder->SetMaxSendMessageSize(max_message_bytes);
  // Find dead clients on idle connections, and let live ones ping us.
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
}

// Builds and starts `builder`'s server on `address`, logging where.
absl::StatusOr<std::unique_ptr<grpc::Server>> Listen(
    grpc::ServerBuilder& builder, const std::string& address,
    const std::shared_ptr<grpc::ServerCredentials>& credentials,
    absl::string_view what, int* port) {
  builder.AddListeningPort(address, credentials, port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve ", what, " on ", address,
                     "; is the address valid and the port free?"));
  }
  return server;
}

std::string HostPort(const std::string& address, int port) {
  return absl::StrCat(address.substr(0, address.rfind(':')), ":", port);
}

// Once the store is open: what it holds, where it is served.
void LogServing(const v1::ServerConfig& config, const std::string& address,
                const Store& store, bool tokens, absl::Duration load_time) {
  const StoreStats stats = store.Stats();
  std::vector<std::string> maps;
  for (const MapStats& map : stats.maps) {
    maps.push_back(
        absl::StrCat(map.name, " (", map.type, ", ", map.live_keys, " keys)"));
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
  }
  return setup;
}

// The Prometheus endpoint, if configured (null otherwise). `store` is null
// until the data file is loaded.
absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetrics(
    const v1::ServerConfig& config, const RpcMetrics& rpc_metrics,
    const std::atomic<const Store*>& store) {
  if (config.metrics_listen().empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> metrics =
      MetricsEndpoint::Start(config.metrics_listen(), [&] {
        PrometheusText page;
        AppendStoreMetrics(store.load(), &page);
        rpc_metrics.AppendTo(&page);
        return page.text();
      });
  if (!metrics.ok()) return metrics.status();
  Log().Info(absl::StrCat(
      "metrics on http://",
      HostPort(config.metrics_listen(), (*metrics)->port()), "/metrics"));
  return metrics;
}

// Answers every call on the health port but grpc.health.v1's. Registering
// it also gives that server the callback method gRPC insists on before it
// adds its default health service.
class HealthPortFallback final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    class Refusal final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Refusal(const std::string& method) {
        Finish(grpc::Status(
            grpc::StatusCode::UNIMPLEMENTED,
            absl::StrCat("this port serves only grpc.health.v1.Health, not ",
                         method, "; call persistd's main port (--listen)")));
      }
      void OnDone() override { delete this; }
    };
    return new Refusal(context->method());
  }
};

// The plaintext port with only grpc.health.v1 (gRPC's default health
// service), if configured (null otherwise).
absl::StatusOr<std::unique_ptr<grpc::Server>> StartHealthServer(
    const v1::ServerConfig& config, RpcMetrics& rpc_metrics,
    HealthPortFallback* fallback) {
  if (config.health_listen().empty()) return nullptr;
  grpc::ServerBuilder builder;
  ConfigureServer(config, &builder);
  // Health checks are counted here only: on the main port an interceptor
  // would cost every call (rpc_metrics.h).
  if (!config.metrics_listen().empty()) {
    builder.experimental().SetInterceptorCreators(rpc_metrics.Interceptors(
        grpc::health::v1::Health::service_full_name()));
  }
  builder.RegisterCallbackGenericService(fallback);
  int port = 0;
  absl::StatusOr<std::unique_ptr<grpc::Server>> server =
      Listen(builder, config.health_listen(),
             grpc::InsecureServerCredentials(), "health checks", &port);
  if (!server.ok()) return server.status();
  Log().Info(absl::StrCat("health on ", HostPort(config.health_listen(), port),
                          " (plaintext, grpc.health.v1 only)"));
  return server;
}

// Serves `config` until SIGTERM or SIGINT.
int Serve(const v1::ServerConfig& config) {
  absl::StatusOr<Setup> setup = Prepare(config);
  if (!setup.ok()) {  // the message names the part that is wrong
    Log().Error(setup.status().message());
    return 1;
  }
  // Metrics first, so that a slow load shows as persist_store_loaded 0.
  // persist.v1.Persist counts its own calls (unary_call.h); the health port
  // counts its checks. Reflection is not counted.
  RpcMetrics rpc_metrics(
      {v1::GetRequest::descriptor()->file()->FindServiceByName("Persist"),
       grpc::health::v1::HealthCheckRequest::descriptor()->file()
           ->FindServiceByName("Health")});
  std::atomic<const Store*> served{nullptr};
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> metrics =
      StartMetrics(config, rpc_metrics, served);
  if (!metrics.ok()) return Fail("metrics", metrics.status());

  // Serve first, NOT_SERVING and UNAVAILABLE while the data file loads, so
  // that probes and clients see a live server that is not ready yet.
  ServingStatus serving;
  // The engine logs the error.
  setup->store_options.on_write_failure = [&serving](const absl::Status&) {
    serving.Set(false);
  };
  // Without a metrics endpoint nobody reads the counts: calls skip them.
  if (!config.metrics_listen().empty()) {
    setup->service_options.metrics = &rpc_metrics;
  }
  PersistService service(setup->service_options);
  grpc::EnableDefaultHealthCheckService(true);
  ReflectionService reflection(ReflectedFiles(config, setup->schema),
                               ServiceNames(ApiFiles()), setup->auth.get());
  grpc::ServerBuilder builder;
  ConfigureServer(config, &builder);
  builder.RegisterService(&service);
  builder.RegisterService(&reflection);
  int port = 0;
  absl::StatusOr<std::unique_ptr<grpc::Server>> server =
      Listen(builder, config.listen(), setup->credentials, "gRPC", &port);
  if (!server.ok()) return Fail("listen", server.status());
  serving.Add((*server)->GetHealthCheckService());
  HealthPortFallback health_fallback;
  absl::StatusOr<std::unique_ptr<grpc::Server>> health_server =
      StartHealthServer(config, rpc_metrics, &health_fallback);
  if (!health_server.ok()) return Fail("health", health_server.status());
  if (*health_server != nullptr) {
    serving.Add((*health_server)->GetHealthCheckService());
  }
  const std::string address = HostPort(config.listen(), port);
  Log().Info(absl::StrCat("listening on ", address, ", loading ",
                          config.data_file()));

  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(setup->store_options);
  if (!store.ok()) {
    (*server)->Shutdown();
    return FailToOpen(config, store.status());
  }
  service.SetStore(store->get());
  served = store->get();
  serving.Set(true);
  LogServing(config, address, **store, setup->auth != nullptr,
             absl::Now() - start);

  WaitForShutdownSignal();
  serving.Set(false);
  // Calls in flight get a few seconds to finish, then are cancelled.
  (*server)->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  (*server)->Wait();
  if (*health_server != nullptr) (*health_server)->Shutdown();
  metrics->reset();  // no scrape may outlive the store
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
  absl::SetProgramUsageMessage(
      "serves typed maps of protobuf messages over gRPC (persist.v1.Persist)");
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
  absl::StatusOr<v1::ServerConfig> config = LoadConfig();
  if (!config.ok()) return Fail("config", config.status());
  return Serve(*config);
}

}  // namespace
}  // namespace persist::service

int main(int argc, char** argv) { return persist::service::Main(argc, argv); }
