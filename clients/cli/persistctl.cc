// persistctl: persistd from the command line, and offline checks of data
// files. `persistctl --help` lists the commands and every flag.
//
// Values are JSON of the map's type (proto3 JSON), which persistctl learns
// from persistd's reflection service: no compiled schema is needed.
//
// Output is JSON, one object per line (per entry for list; per entry, event
// and progress notice for watch, flushed as they come). Exit codes:
// online commands exit with the call's gRPC status code (0 OK, 5 NOT_FOUND,
// 14 UNAVAILABLE, ...); check exits 0 when persistd would open the file and
// 1 when it would refuse it; usage mistakes exit 64 (EX_USAGE), which no
// gRPC code has.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/command_line.h"
#include "clients/cli/batch_command.h"
#include "clients/cli/json_output.h"
#include "clients/cli/map_commands.h"
#include "clients/cli/offline_commands.h"
#include "clients/cpp/persist_client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "json/json_codec.h"
#include "persist/v1/persist.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051",
          "persistd's address, host:port (or unix:PATH)");
ABSL_FLAG(std::string, token, "",
          "bearer token, if persistd requires one; without it, the "
          "PERSIST_TOKEN environment variable (which keeps it out of ps)");
ABSL_FLAG(std::string, timeout, "",
          "deadline of each call, as 500ms, 10s or 2m (10s if not given; a "
          "backup has none unless given); 0 waits for ever");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA that signed persistd's certificate: connect with TLS");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate, for persistd with mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "the name persistd's certificate carries, when --addr differs");
ABSL_FLAG(std::string, durability, "",
          "set, delete, update: memory, async, write or fsync; batch: write "
          "or fsync (default: the server's)");
// A string, as persistd's durations: abseil's absl::Duration flags use a
// fence that GCC's ThreadSanitizer build refuses.
ABSL_FLAG(std::string, ttl, "",
          "set, update: the value expires after this long (30s, 24h); a set "
          "without it never expires, an update without it keeps the key's "
          "expiry");
ABSL_FLAG(std::string, etag, "",
          "set, delete, update: write only if the entry has this etag");
ABSL_FLAG(bool, must_exist, false,
          "set, delete, update: write only if the key exists");
ABSL_FLAG(bool, must_not_exist, false,
          "set: write only if the key does not exist (create)");
ABSL_FLAG(std::vector<std::string>, mask, {},
          "update: the fields to change, by proto or JSON names "
          "(total_cents or totalCents)");
ABSL_FLAG(bool, allow_missing, false,
          "update: create the entry if the key does not exist");
ABSL_FLAG(std::string, prefix, "",
          "list, watch: only keys that start with this");
ABSL_FLAG(int, page_size, 0, "list: entries per call (0: the server's)");
ABSL_FLAG(int64_t, limit, 0,
          "list: at most this many entries (0: all); watch: stop after this "
          "many entries and events (0: run until stopped)");
ABSL_FLAG(int64_t, from, 0,
          "watch: the first revision to stream, with --epoch (a line's "
          "revision + 1 to resume); 0: the changes from now on");
ABSL_FLAG(std::string, epoch, "",
          "watch: the epoch of --from, as watch's lines give it");
ABSL_FLAG(bool, initial, false,
          "watch: first list every entry (INITIAL lines, then SYNCED), then "
          "the changes after them");
ABSL_FLAG(std::string, config, "",
          "check, repair: persistd's config file, for the data file, its "
          "schema and maps (relative paths from the file's folder)");
ABSL_FLAG(std::string, file, "",
          "check, repair: the data file (default: the config's, or "
          "./persist.wal)");
ABSL_FLAG(std::string, out, "",
          "repair, backup: the new file to write (never an existing one)");
ABSL_FLAG(bool, skip_corrupt, false,
          "check: as persistd --skip_corrupt would open it; repair: keep "
          "every readable record, not only those before the first problem");
ABSL_FLAG(bool, ignore_unknown_fields, false,
          "check, repair: as persistd --ignore_unknown_fields would open it");
ABSL_FLAG(bool, go_persist, false,
          "check: exit 1 also when go-persist could not read the file");
ABSL_FLAG(std::vector<std::string>, maps, {},
          "check, repair: maps as name=full.type.Name (over the config's)");
ABSL_FLAG(std::string, descriptor_set, "",
          "check, repair: the schema as a FileDescriptorSet");
ABSL_FLAG(std::vector<std::string>, proto_files, {},
          "check, repair: the schema as .proto files");
ABSL_FLAG(std::vector<std::string>, proto_path, {},
          "check, repair: include paths for --proto_files");

namespace persist::cli {
namespace {

constexpr int kUsage = 64;  // EX_USAGE: no gRPC status code
constexpr char kUsageText[] =
    "usage: persistctl [--addr=HOST:PORT] [--token=T] [--timeout=10s]\n"
    "         [--tls_ca=PEM [--tls_cert=PEM --tls_key=PEM]] COMMAND\n"
    "  get MAP KEY\n"
    "  set MAP KEY VALUE [--durability=memory|async|write|fsync]\n"
    "      [--etag=E | --must_exist | --must_not_exist] [--ttl=30s]\n"
    "  delete MAP KEY [--durability=...] [--etag=E | --must_exist]\n"
    "  update MAP KEY VALUE --mask=field,... [--allow_missing] "
    "[--durability=...] [--ttl=30s]\n"
    "  batch FILE|- [--durability=write|fsync]   (one operation per line:\n"
    "      {\"set\"|\"delete\"|\"update\": {\"map\", \"key\", \"value\", "
    "...}})\n"
    "  list MAP [--prefix=P] [--limit=N]\n"
    "  watch MAP [--prefix=P] [--initial | --from=REV --epoch=E] "
    "[--limit=N]\n"
    "  stats | maps | flush | shrink | health\n"
    "  backup --out=PATH   (a copy of the data file, taken while writes go\n"
    "      on; no deadline unless --timeout is given)\n"
    "  check [--config=persistd.json] [--file=PATH] [--skip_corrupt]\n"
    "  repair [--config=...] [--file=PATH] --out=PATH [--skip_corrupt]\n"
    "VALUE is JSON of the map's type, - to read it from stdin, or @FILE.\n"
    "Online commands exit with the call's gRPC code; check exits 0 when\n"
    "persistd would open the file, 1 when not; usage mistakes exit 64.";

int Usage(const std::string& message) {
  std::fprintf(stderr, "persistctl: %s\n%s\n", message.c_str(), kUsageText);
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

// The settings every call shares, checked before any is made.
struct CallSettings {
  std::string token;
  absl::Duration timeout = absl::Seconds(10);
  bool timeout_given = false;  // --timeout was set
};

absl::StatusOr<CallSettings> ReadCallSettings() {
  CallSettings settings;
  settings.token = absl::GetFlag(FLAGS_token);
  if (settings.token.empty()) {
    if (const char* token = std::getenv("PERSIST_TOKEN"))
      settings.token = token;
  }
  const std::string timeout = absl::GetFlag(FLAGS_timeout);
  settings.timeout_given = !timeout.empty();
  if (!settings.timeout_given) return settings;
  if (!absl::ParseDuration(timeout, &settings.timeout) ||
      settings.timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--timeout: \"", timeout, "\" is not a duration such as 500ms or 10s"));
  }
  return settings;
}

// host:port, [v6]:port, or a target gRPC resolves itself (unix:, dns:///).
absl::Status CheckAddress(const std::string& address) {
  if (absl::StartsWith(address, "unix:") ||
      absl::StrContains(address, ":///")) {
    return absl::OkStatus();
  }
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 ||
      port > 65535 || (address[0] == '[' && address[colon - 1] != ']')) {
    return absl::InvalidArgumentError(
        absl::StrCat("--addr: \"", address,
                     "\" is not host:port (for example 127.0.0.1:50051 or "
                     "[::1]:50051)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(absl::string_view flag,
                                          const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read ", path));
  }
  return bytes.str();
}

// A VALUE argument: JSON as given, "-" for stdin, "@FILE" for a file.
absl::StatusOr<std::string> ReadValue(const std::string& arg) {
  if (arg == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin),
                       std::istreambuf_iterator<char>());
  }
  if (absl::StartsWith(arg, "@")) return ReadWholeFile("VALUE", arg.substr(1));
  return arg;
}

// Plaintext, or TLS with --tls_ca (and a client certificate for mutual
// TLS), through the C++ client's OpenChannel.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel() {
  const std::string address = absl::GetFlag(FLAGS_addr);
  if (absl::Status status = CheckAddress(address); !status.ok()) return status;
  client::ConnectOptions options;
  options.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  return client::OpenChannel(address, options);
}

MapCommandFlags ReadMapCommandFlags() {
  MapCommandFlags flags;
  flags.durability = absl::GetFlag(FLAGS_durability);
  flags.etag = absl::GetFlag(FLAGS_etag);
  flags.must_exist = absl::GetFlag(FLAGS_must_exist);
  flags.must_not_exist = absl::GetFlag(FLAGS_must_not_exist);
  flags.mask = absl::GetFlag(FLAGS_mask);
  flags.allow_missing = absl::GetFlag(FLAGS_allow_missing);
  flags.ttl = absl::GetFlag(FLAGS_ttl);
  flags.prefix = absl::GetFlag(FLAGS_prefix);
  flags.page_size = absl::GetFlag(FLAGS_page_size);
  flags.limit = absl::GetFlag(FLAGS_limit);
  flags.from_revision = absl::GetFlag(FLAGS_from);
  flags.epoch = absl::GetFlag(FLAGS_epoch);
  flags.initial = absl::GetFlag(FLAGS_initial);
  return flags;
}

// The exit code of a data command: its status's gRPC code, after the
// message on stderr.
int Report(const absl::Status& status) {
  if (status.ok()) return 0;
  std::fprintf(stderr, "persistctl: %s (gRPC code %d)\n",
               std::string(status.message()).c_str(),
               static_cast<int>(status.code()));
  return static_cast<int>(status.code());
}

// The data file's copy at --out, with progress on stderr for large ones
// and a JSON line once it is whole.
absl::Status RunBackup(const std::string& out,
                       const std::shared_ptr<grpc::Channel>& channel,
                       const CallSettings& settings) {
  client::Client persist(channel, settings.token);
  client::BackupOptions options;
  // --timeout's default suits one call, not a whole file: only a --timeout
  // given bounds a backup.
  if (settings.timeout_given && settings.timeout > absl::ZeroDuration()) {
    options.deadline = settings.timeout;
  }
  int reported = 0;  // tenths of the copy reported so far
  options.progress = [&reported](uint64_t written, uint64_t total) {
    if (total < (64u << 20)) return;
    const auto tenths = static_cast<int>(written * 10 / total);
    if (tenths <= reported || written == total) return;
    reported = tenths;
    std::fprintf(stderr, "persistctl: backup: %llu of %llu MiB\n",
                 static_cast<unsigned long long>(written >> 20),
                 static_cast<unsigned long long>(total >> 20));
  };
  absl::StatusOr<client::BackupResult> backup = persist.Backup(out, options);
  if (!backup.ok()) return backup.status();
  std::printf("%s\n", JsonObject()
                          .String("path", backup->path)
                          .Int("bytes", static_cast<int64_t>(backup->bytes))
                          .Int("records", static_cast<int64_t>(backup->records))
                          .Done()
                          .c_str());
  return absl::OkStatus();
}

int Online(const std::string& command, std::vector<std::string> args) {
  absl::StatusOr<CallSettings> settings = ReadCallSettings();
  if (!settings.ok()) return Usage(std::string(settings.status().message()));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> opened = OpenChannel();
  if (!opened.ok()) return Usage(std::string(opened.status().message()));
  const std::shared_ptr<grpc::Channel> channel = *opened;
  const auto new_context = [&settings] {
    auto context = std::make_unique<grpc::ClientContext>();
    if (settings->timeout > absl::ZeroDuration()) {
      context->set_deadline(
          absl::ToChronoTime(absl::Now() + settings->timeout));
    }
    if (!settings->token.empty()) {
      context->AddMetadata("authorization",
                           absl::StrCat("Bearer ", settings->token));
    }
    return context;
  };
  if (command == "batch") {
    if (args.size() != 1) return Usage("batch takes 1 argument: FILE or -");
    absl::StatusOr<std::string> input =
        args[0] == "-" ? ReadValue("-") : ReadWholeFile("batch", args[0]);
    if (!input.ok()) return Usage(std::string(input.status().message()));
    return Report(RunBatch(args[0] == "-" ? "stdin" : args[0], *input,
                           absl::GetFlag(FLAGS_durability), channel,
                           new_context));
  }
  if (command == "backup") {
    if (!args.empty()) return Usage("backup takes flags only: --out=PATH");
    if (absl::GetFlag(FLAGS_out).empty()) {
      return Usage("backup: give the file to write with --out=PATH");
    }
    return Report(RunBackup(absl::GetFlag(FLAGS_out), channel, *settings));
  }
  if (const int count = MapCommandArgCount(command); count >= 0) {
    if (static_cast<int>(args.size()) != count) {
      return Usage(absl::StrCat(command, " takes ", count, " argument",
                                count == 1 ? "" : "s"));
    }
    if (command == "watch" && (absl::GetFlag(FLAGS_from) != 0) ==
                                  absl::GetFlag(FLAGS_epoch).empty()) {
      return Usage(
          "watch: give --from and --epoch together (the revision and epoch "
          "of a line watch printed), or neither");
    }
    if (command == "watch" && absl::GetFlag(FLAGS_from) != 0 &&
        absl::GetFlag(FLAGS_initial)) {
      return Usage(
          "watch: --initial lists first and streams the changes after its "
          "listing; it takes no --from");
    }
    if (command == "set" || command == "update") {
      absl::StatusOr<std::string> value = ReadValue(args[2]);
      if (!value.ok()) return Usage(std::string(value.status().message()));
      args[2] = *std::move(value);
    }
    return Report(RunMapCommand(command, args, ReadMapCommandFlags(), channel,
                                new_context));
  }
  if (!args.empty()) return Usage(absl::StrCat(command, " takes no arguments"));
  if (command == "health") {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(new_context().get(), {}, &response);
    if (!status.ok()) return CallFailed(status);
    PrintJson(response);
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
               ? 0
               : grpc::StatusCode::UNAVAILABLE;
  }
  auto stub = v1::Persist::NewStub(channel);
  auto call_and_print = [&](auto method, auto request, auto response) {
    grpc::Status status =
        ((*stub).*method)(new_context().get(), request, &response);
    if (!status.ok()) return CallFailed(status);
    PrintJson(response);
    return 0;
  };
  if (command == "stats") {
    return call_and_print(&v1::Persist::Stub::Stats, v1::StatsRequest(),
                          v1::StatsResponse());
  }
  if (command == "maps") {
    return call_and_print(&v1::Persist::Stub::ListMaps, v1::ListMapsRequest(),
                          v1::ListMapsResponse());
  }
  if (command == "flush") {
    return call_and_print(&v1::Persist::Stub::Flush, v1::FlushRequest(),
                          v1::FlushResponse());
  }
  if (command == "shrink") {
    return call_and_print(&v1::Persist::Stub::Shrink, v1::ShrinkRequest(),
                          v1::ShrinkResponse());
  }
  return Usage(absl::StrCat("unknown command \"", command, "\""));
}

int Offline(const std::string& command) {
  OfflineFlags flags;
  flags.config = absl::GetFlag(FLAGS_config);
  flags.data.data_file = absl::GetFlag(FLAGS_file);
  flags.data.descriptor_set = absl::GetFlag(FLAGS_descriptor_set);
  flags.data.proto_files = absl::GetFlag(FLAGS_proto_files);
  flags.data.proto_path = absl::GetFlag(FLAGS_proto_path);
  flags.data.maps = absl::GetFlag(FLAGS_maps);
  flags.data.skip_corrupt = absl::GetFlag(FLAGS_skip_corrupt);
  flags.data.ignore_unknown_fields = absl::GetFlag(FLAGS_ignore_unknown_fields);
  flags.out = absl::GetFlag(FLAGS_out);
  flags.go_persist = absl::GetFlag(FLAGS_go_persist);
  if (command == "repair") {
    absl::Status repaired = Repair(flags);
    if (repaired.ok()) return 0;
    if (absl::IsInvalidArgument(repaired)) {
      return Usage(std::string(repaired.message()));
    }
    std::fprintf(stderr, "persistctl: %s\n",
                 std::string(repaired.message()).c_str());
    return kRefused;
  }
  absl::StatusOr<int> checked = Check(flags);
  if (checked.ok()) return *checked;
  if (absl::IsInvalidArgument(checked.status())) {
    return Usage(std::string(checked.status().message()));
  }
  std::fprintf(stderr, "persistctl: %s\n",
               std::string(checked.status().message()).c_str());
  return kRefused;
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
  UnderscoreFlagNames(argc, argv);
  if (PrintHelpOrVersion(
          argc, argv, {"persistctl", kUsageText, {"clients/cli/persistctl"}})) {
    return 0;
  }
  // Unknown flags and malformed values are usage mistakes too: abseil
  // reports them and exits 1, which reads as CANCELLED.
  if (const std::string mistake = FindFlagMistake(argc, argv);
      !mistake.empty()) {
    return Usage(mistake);
  }
  absl::SetProgramUsageMessage(kUsageText);
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) return Usage("give a command");
  const std::string command = positional[1];
  const std::vector<std::string> args(positional.begin() + 2, positional.end());
  if (command == "check" || command == "repair") {
    if (!args.empty()) return Usage(absl::StrCat(command, " takes flags only"));
    return Offline(command);
  }
  return Online(command, args);
}

}  // namespace
}  // namespace persist::cli

int main(int argc, char** argv) { return persist::cli::Main(argc, argv); }
