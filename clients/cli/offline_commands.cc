#include "clients/cli/offline_commands.h"

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "clients/cli/json_output.h"
#include "storage/check.h"

namespace persist::cli {
namespace {

// Findings printed one by one; the count says how many there are in all.
constexpr size_t kListedFindings = 20;

// The store's options as persistd would make them, with the schema that
// their types live in (it must outlive them).
struct Settings {
  service::LoadedSchema schema;
  StoreOptions options;
};

absl::StatusOr<Settings> Load(const OfflineFlags& flags) {
  v1::ServerConfig config;
  if (!flags.config.empty()) {
    PERSIST_ASSIGN_OR_RETURN(config, service::ReadConfigFile(flags.config));
  }
  PERSIST_RETURN_IF_ERROR(service::ApplyDataSettings(flags.data, &config));
  service::ApplyDefaults(&config);
  Settings settings;
  PERSIST_ASSIGN_OR_RETURN(settings.schema,
                           service::LoadSchema(config.schema()));
  PERSIST_ASSIGN_OR_RETURN(settings.options,
                           service::MakeStoreOptions(config, settings.schema));
  settings.options.log = [](LogLevel, absl::string_view) {};
  return settings;
}

std::string FindingJson(const CheckFinding& finding) {
  return JsonObject()
      .Int("line", finding.line)
      .Int("offset", static_cast<int64_t>(finding.offset))
      .String("reason", finding.reason)
      .Done();
}

std::string FindingsJson(const std::vector<CheckFinding>& findings) {
  std::string out = "[";
  for (size_t i = 0; i < findings.size() && i < kListedFindings; ++i) {
    if (i > 0) out += ",";
    out += FindingJson(findings[i]);
  }
  return out + "]";
}

}  // namespace

absl::StatusOr<int> Check(const OfflineFlags& flags) {
  PERSIST_ASSIGN_OR_RETURN(Settings settings, Load(flags));
  PERSIST_ASSIGN_OR_RETURN(const CheckReport report,
                           CheckStore(settings.options));
  // Every map's live keys, declared or not; those not declared are the
  // orphans persistd keeps without serving them.
  std::map<std::string, int64_t> live;
  for (const MapStats& map : report.maps) live[map.name] = map.live_keys;
  JsonObject live_keys;
  JsonObject orphans;
  for (const auto& [map, keys] : report.orphan_keys) live[map] += keys;
  for (const auto& [map, keys] : live) live_keys.Int(map, keys);
  for (const auto& [map, keys] : report.orphan_keys) orphans.Int(map, keys);
  const bool opens = report.verdict.ok();
  const bool go_persist_reads = report.go_persist_unreadable.empty();
  std::printf(
      "%s\n",
      JsonObject()
          .String("file", settings.options.path)
          .Bool("exists", report.exists)
          .Bool("opens", opens)
          .Raw("error", opens ? "null"
                              : JsonObject()
                                    .String("code", absl::StatusCodeToString(
                                                        report.verdict.code()))
                                    .String("message", report.verdict.message())
                                    .Done())
          .Int("file_bytes", static_cast<int64_t>(report.file_bytes))
          .Int("records", report.records)
          .Raw("live_keys", live_keys.Done())
          .Raw("orphan_keys", orphans.Done())
          .Int("torn_tail_bytes", static_cast<int64_t>(report.torn_tail_bytes))
          .Int("commit_seq", static_cast<int64_t>(report.commit_seq))
          .Int("problems", static_cast<int64_t>(report.damaged.size()))
          .Raw("first_problem", report.damaged.empty()
                                    ? "null"
                                    : FindingJson(report.damaged.front()))
          .Raw("damaged", FindingsJson(report.damaged))
          .Bool("go_persist_reads", go_persist_reads)
          .Raw("go_persist_unreadable",
               FindingsJson(report.go_persist_unreadable))
          .Int("ignored_unknown_fields", report.ignored_unknown_fields)
          .Bool("leftover_shrink_file", report.leftover_shrink_file)
          .Done()
          .c_str());
  if (!opens) {
    std::fprintf(stderr, "persistctl: persistd would refuse %s: %s\n",
                 settings.options.path.c_str(),
                 std::string(report.verdict.message()).c_str());
  }
  if (!go_persist_reads) {
    std::fprintf(stderr,
                 "persistctl: go-persist cannot read %s (%zu records with "
                 "NaN or Infinity, the first at line %lld)\n",
                 settings.options.path.c_str(),
                 report.go_persist_unreadable.size(),
                 static_cast<long long>(report.go_persist_unreadable[0].line));
  }
  return opens && (go_persist_reads || !flags.go_persist) ? kOpens : kRefused;
}

absl::Status Repair(const OfflineFlags& flags) {
  if (flags.out.empty()) {
    return absl::InvalidArgumentError(
        "repair needs --out=PATH, the new file to write (the original is "
        "never changed)");
  }
  PERSIST_ASSIGN_OR_RETURN(Settings settings, Load(flags));
  PERSIST_ASSIGN_OR_RETURN(const RepairReport report,
                           RepairStore(settings.options, flags.out));
  std::printf("%s\n",
              JsonObject()
                  .String("file", settings.options.path)
                  .String("out", flags.out)
                  .Int("records", report.records_kept)
                  .Int("records_dropped", report.records_dropped)
                  .Int("bytes", static_cast<int64_t>(report.bytes_written))
                  .Done()
                  .c_str());
  return absl::OkStatus();
}

}  // namespace persist::cli
