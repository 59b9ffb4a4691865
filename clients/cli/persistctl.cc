// persistctl: persistd from the command line, and offline checks of WAL
// files.
//
//   persistctl [--addr=HOST:PORT] [--token=T] COMMAND
//     get MAP KEY
//     set MAP KEY JSON [--durability=D] [--etag=E|--must_exist|
//         --must_not_exist]
//     delete MAP KEY [--durability=D] [precondition]
//     update MAP KEY JSON --mask=field,... [--allow_missing]
//         [--durability=D] [precondition]
//     list MAP [--prefix=P] [--limit=N]
//     stats | maps | flush | shrink | health
//   TLS: --tls_ca=CA.pem (and --tls_cert, --tls_key for mutual TLS).
//   persistctl check --file=PATH [schema flags]
//   persistctl repair --file=PATH --out=PATH [--skip_corrupt] [schema flags]
//
// Schema flags (optional, for check and repair): --maps=name=full.Type,...
// with --descriptor_set=FILE or --proto_path=DIR --proto_files=a.proto.
//
// Values are JSON of the map's type (proto3 JSON), which persistctl learns
// from persistd's reflection service: no compiled schema is needed.
//
// Output is JSON, one object per line (per entry for list). Exit codes: online
// commands exit with the call's gRPC status code (0 OK, 14 UNAVAILABLE, ...);
// check exits 1 when the file has a problem; usage errors exit 2.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "clients/cli/json_output.h"
#include "clients/cli/map_commands.h"
#include "clients/cli/wal_tools.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/persist.grpc.pb.h"
#include "json/json_codec.h"
#include "storage/schema.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "persistd's address");
ABSL_FLAG(std::string, token, "", "bearer token, if persistd requires one");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA that signed persistd's certificate: connect with TLS");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate, for persistd with mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "the name persistd's certificate carries, when --addr differs");
ABSL_FLAG(std::string, durability, "",
          "set, delete, update: memory, async, write or fsync (default: "
          "the server's)");
ABSL_FLAG(std::string, etag, "",
          "set, delete, update: write only if the entry has this etag");
ABSL_FLAG(bool, must_exist, false,
          "set, delete, update: write only if the key exists");
ABSL_FLAG(bool, must_not_exist, false,
          "set: write only if the key does not exist (create)");
ABSL_FLAG(std::vector<std::string>, mask, {},
          "update: the fields to change, by their proto names");
ABSL_FLAG(bool, allow_missing, false,
          "update: create the entry if the key does not exist");
ABSL_FLAG(std::string, prefix, "", "list: only keys that start with this");
ABSL_FLAG(int, page_size, 0, "list: entries per call (0: the server's)");
ABSL_FLAG(int64_t, limit, 0, "list: at most this many entries (0: all)");
ABSL_FLAG(std::string, file, "", "check, repair: the WAL file");
ABSL_FLAG(std::string, out, "", "repair: the new file to write");
ABSL_FLAG(bool, skip_corrupt, false,
          "repair: keep every readable record, not only those before the "
          "first problem");
ABSL_FLAG(std::vector<std::string>, maps, {},
          "check, repair: name=full.type.Name of maps to decode as that type");
ABSL_FLAG(std::string, descriptor_set, "", "schema as a FileDescriptorSet");
ABSL_FLAG(std::vector<std::string>, proto_files, {}, "schema as .proto files");
ABSL_FLAG(std::vector<std::string>, proto_path, {},
          "include paths for --proto_files");

namespace persist::cli {
namespace {

constexpr int kUsage = 2;
constexpr char kUsageText[] =
    "usage: persistctl [--addr=HOST:PORT] [--token=T] [--tls_ca=PEM\n"
    "         [--tls_cert=PEM --tls_key=PEM]] COMMAND\n"
    "  get MAP KEY\n"
    "  set MAP KEY JSON [--durability=memory|async|write|fsync]\n"
    "      [--etag=E | --must_exist | --must_not_exist]\n"
    "  delete MAP KEY [--durability=...] [--etag=E | --must_exist]\n"
    "  update MAP KEY JSON --mask=field,... [--allow_missing] "
    "[--durability=...]\n"
    "  list MAP [--prefix=P] [--limit=N]\n"
    "  stats | maps | flush | shrink | health\n"
    "  check --file=PATH | repair --file=PATH --out=PATH [--skip_corrupt]\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "persistctl: %s\n%s", message.c_str(), kUsageText);
  return kUsage;
}

void PrintJson(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = JsonCodec().Encode(message);
  std::printf("%s\n", json.ok() ? json->c_str() : "{}");
}

// Prints the error and returns the gRPC code as the exit code.
int CallFailed(const grpc::Status& status) {
  std::fprintf(stderr, "persistctl: %s (gRPC code %d)\n",
               status.error_message().c_str(), status.error_code());
  return status.error_code();
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
  if (!absl::GetFlag(FLAGS_token).empty()) {
    context->AddMetadata("authorization",
                         absl::StrCat("Bearer ", absl::GetFlag(FLAGS_token)));
  }
  return context;
}

// Plaintext, or TLS with --tls_ca (and a client certificate for mutual
// TLS). Errors name the file that cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel() {
  const std::string address = absl::GetFlag(FLAGS_addr);
  const std::string ca = absl::GetFlag(FLAGS_tls_ca);
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string server_name = absl::GetFlag(FLAGS_tls_server_name);
  if (ca.empty()) {
    if (!cert.empty() || !key.empty() || !server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls_cert, --tls_key and --tls_server_name need --tls_ca, the CA "
          "that signed persistd's certificate");
    }
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(
        "give --tls_cert and --tls_key together (the client certificate "
        "for mutual TLS and its private key)");
  }
  // An empty CA would make gRPC trust the system's public roots instead.
  const auto read = [](absl::string_view flag,
                       const std::string& path) -> absl::StatusOr<std::string> {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in || bytes.str().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": cannot read ", path, ", or it is empty"));
    }
    return bytes.str();
  };
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> ca_pem = read("tls_ca", ca);
  if (!ca_pem.ok()) return ca_pem.status();
  options.pem_root_certs = *ca_pem;
  if (!cert.empty()) {
    absl::StatusOr<std::string> cert_pem = read("tls_cert", cert);
    if (!cert_pem.ok()) return cert_pem.status();
    absl::StatusOr<std::string> key_pem = read("tls_key", key);
    if (!key_pem.ok()) return key_pem.status();
    options.pem_cert_chain = *cert_pem;
    options.pem_private_key = *key_pem;
  }
  grpc::ChannelArguments arguments;
  if (!server_name.empty()) arguments.SetSslTargetNameOverride(server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options),
                                   arguments);
}

template <typename Request, typename Response, typename Method>
int CallAndPrint(v1::Persist::Stub& stub, Method method) {
  Request request;
  Response response;
  grpc::Status status = (stub.*method)(Context().get(), request, &response);
  if (!status.ok()) return CallFailed(status);
  PrintJson(response);
  return 0;
}

int Online(const std::string& command, const std::vector<std::string>& args) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> opened = OpenChannel();
  if (!opened.ok()) return Usage(std::string(opened.status().message()));
  const std::shared_ptr<grpc::Channel> channel = *opened;
  if (const int count = MapCommandArgCount(command); count >= 0) {
    if (static_cast<int>(args.size()) != count) {
      return Usage(absl::StrCat(command, " takes ", count, " argument",
                                count == 1 ? "" : "s"));
    }
    MapCommandFlags flags;
    flags.durability = absl::GetFlag(FLAGS_durability);
    flags.etag = absl::GetFlag(FLAGS_etag);
    flags.must_exist = absl::GetFlag(FLAGS_must_exist);
    flags.must_not_exist = absl::GetFlag(FLAGS_must_not_exist);
    flags.mask = absl::GetFlag(FLAGS_mask);
    flags.allow_missing = absl::GetFlag(FLAGS_allow_missing);
    flags.prefix = absl::GetFlag(FLAGS_prefix);
    flags.page_size = absl::GetFlag(FLAGS_page_size);
    flags.limit = absl::GetFlag(FLAGS_limit);
    absl::Status status = RunMapCommand(command, args, flags, channel, Context);
    if (!status.ok()) {
      std::fprintf(stderr, "persistctl: %s (gRPC code %d)\n",
                   std::string(status.message()).c_str(),
                   static_cast<int>(status.code()));
      return static_cast<int>(status.code());
    }
    return 0;
  }
  if (!args.empty()) return Usage(absl::StrCat(command, " takes no arguments"));
  if (command == "health") {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(Context().get(), {}, &response);
    if (!status.ok()) return CallFailed(status);
    PrintJson(response);
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
               ? 0
               : grpc::StatusCode::UNAVAILABLE;
  }
  auto stub = v1::Persist::NewStub(channel);
  if (command == "stats") {
    return CallAndPrint<v1::StatsRequest, v1::StatsResponse>(
        *stub, &v1::Persist::Stub::Stats);
  }
  if (command == "maps") {
    return CallAndPrint<v1::ListMapsRequest, v1::ListMapsResponse>(
        *stub, &v1::Persist::Stub::ListMaps);
  }
  if (command == "flush") {
    return CallAndPrint<v1::FlushRequest, v1::FlushResponse>(
        *stub, &v1::Persist::Stub::Flush);
  }
  if (command == "shrink") {
    return CallAndPrint<v1::ShrinkRequest, v1::ShrinkResponse>(
        *stub, &v1::Persist::Stub::Shrink);
  }
  return Usage(absl::StrCat("unknown command \"", command, "\""));
}

// The map types given by the schema flags; the Schema must outlive them.
absl::StatusOr<MapTypes> LoadMapTypes(std::unique_ptr<Schema>* schema) {
  MapTypes types;
  if (absl::GetFlag(FLAGS_maps).empty()) return types;
  absl::StatusOr<std::unique_ptr<Schema>> loaded =
      !absl::GetFlag(FLAGS_descriptor_set).empty()
          ? Schema::FromDescriptorSetFile(absl::GetFlag(FLAGS_descriptor_set))
          : Schema::FromProtoFiles(absl::GetFlag(FLAGS_proto_files),
                                   absl::GetFlag(FLAGS_proto_path));
  if (!loaded.ok()) return loaded.status();
  *schema = *std::move(loaded);
  for (const std::string& map : absl::GetFlag(FLAGS_maps)) {
    const std::vector<std::string> parts = absl::StrSplit(map, '=');
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("--maps: \"", map, "\" is not name=full.type.Name"));
    }
    absl::StatusOr<const google::protobuf::Descriptor*> type =
        (*schema)->FindMessage(parts[1]);
    if (!type.ok()) return type.status();
    types[parts[0]] = *type;
  }
  return types;
}

int Offline(const std::string& command) {
  const std::string file = absl::GetFlag(FLAGS_file);
  if (file.empty()) return Usage(absl::StrCat(command, " needs --file"));
  std::unique_ptr<Schema> schema;
  absl::StatusOr<MapTypes> types = LoadMapTypes(&schema);
  if (!types.ok()) return Usage(std::string(types.status().message()));
  if (command == "repair") {
    absl::StatusOr<int64_t> written =
        RepairWal(file, absl::GetFlag(FLAGS_out), *types,
                  absl::GetFlag(FLAGS_skip_corrupt));
    if (!written.ok()) {
      std::fprintf(stderr, "persistctl: %s\n",
                   std::string(written.status().message()).c_str());
      return 1;
    }
    std::printf("%s\n", JsonObject()
                            .String("out", absl::GetFlag(FLAGS_out))
                            .Int("records", *written)
                            .Done()
                            .c_str());
    return 0;
  }
  absl::StatusOr<WalReport> report = CheckWal(file, *types);
  if (!report.ok()) {
    std::fprintf(stderr, "persistctl: %s\n",
                 std::string(report.status().message()).c_str());
    return 1;
  }
  // With a schema, maps it gives no type are orphans: persistd would keep
  // their records without serving them.
  JsonObject live_keys;
  JsonObject orphans;
  for (const auto& [map, keys] : report->live_keys) {
    live_keys.Int(map, keys);
    if (!types->contains(map)) orphans.Int(map, keys);
  }
  std::string problem = "null";
  if (report->first_problem.has_value()) {
    problem = JsonObject()
                  .Int("line", report->first_problem->line)
                  .Int("offset", report->first_problem->offset)
                  .String("reason", report->first_problem->reason)
                  .Done();
  }
  std::printf("%s\n",
              JsonObject()
                  .Int("file_bytes", report->file_bytes)
                  .Int("records", report->records)
                  .Raw("live_keys", live_keys.Done())
                  .Raw("orphan_keys", types->empty() ? "null" : orphans.Done())
                  .Int("torn_tail_bytes", report->torn_tail_bytes)
                  .Int("problems", report->problems)
                  .Raw("first_problem", problem)
                  .Done()
                  .c_str());
  return report->first_problem.has_value() ? 1 : 0;
}

// "--skip-corrupt" means "--skip_corrupt": abseil's flag names have no
// hyphens, but people type them.
void UnderscoreFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) != 0) continue;
    if (argv[i][2] == '\0') break;  // "--" ends the flags
    for (char* c = argv[i] + 2; *c != '\0' && *c != '='; ++c) {
      if (*c == '-') *c = '_';
    }
  }
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsageText);
  UnderscoreFlagNames(argc, argv);
  std::vector<char*> words = absl::ParseCommandLine(argc, argv);
  if (words.size() < 2) return Usage("give a command");
  const std::string command = words[1];
  const std::vector<std::string> args(words.begin() + 2, words.end());
  if (command == "check" || command == "repair") {
    if (!args.empty()) return Usage(absl::StrCat(command, " takes flags only"));
    return Offline(command);
  }
  return Online(command, args);
}

}  // namespace
}  // namespace persist::cli

int main(int argc, char** argv) { return persist::cli::Main(argc, argv); }
