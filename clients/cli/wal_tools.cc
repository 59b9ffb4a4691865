#include "clients/cli/wal_tools.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "storage/file_system.h"
#include "json/json_codec.h"
#include "storage/names.h"
#include "base/status_macros.h"
#include "storage/internal/wal_format.h"
#include "storage/internal/wal_reader.h"

namespace persist::cli {
namespace {

// A record with what decoding it found (empty: fine).
struct Checked {
  const WalRecord* record;
  std::string problem;
};

// Every record of the file, each checked, plus the structural problems.
struct Scanned {
  std::unique_ptr<FileContents> contents;
  WalScan scan;
  std::vector<Checked> records;
  std::vector<WalProblem> problems;  // in file order
};

std::string CheckRecord(const WalRecord& record, const MapTypes& types,
                        google::protobuf::DynamicMessageFactory* factory) {
  auto type = types.find(record.map);
  if (type != types.end()) {
    if (absl::Status key = ValidateKey(record.key); !key.ok()) {
      return absl::StrCat("map \"", record.map, "\": ", key.message());
    }
  }
  if (record.kind == RecordKind::kDelete) return "";
  const google::protobuf::Descriptor* descriptor =
      type != types.end() ? type->second
                          : google::protobuf::Value::descriptor();
  std::unique_ptr<google::protobuf::Message> value(
      factory->GetPrototype(descriptor)->New());
  if (absl::Status decoded = JsonCodec().Decode(record.json, value.get());
      !decoded.ok()) {
    return absl::StrCat("key \"", record.record_key, "\": the value is not ",
                        type != types.end() ? "a valid " : "valid JSON",
                        type != types.end() ? descriptor->full_name() : "",
                        ": ", decoded.message());
  }
  return "";
}

absl::StatusOr<Scanned> Scan(const std::string& path, const MapTypes& types) {
  Scanned scanned;
  PERSIST_ASSIGN_OR_RETURN(scanned.contents, PosixFileSystem()->ReadFile(path));
  PERSIST_ASSIGN_OR_RETURN(scanned.scan,
                           ScanWal(scanned.contents->data(), path));
  google::protobuf::DynamicMessageFactory factory;
  for (const persist::WalProblem& skipped : scanned.scan.problems) {
    scanned.problems.push_back({skipped.line, skipped.offset, skipped.reason});
  }
  for (const WalRecord& record : scanned.scan.records) {
    Checked checked{&record, CheckRecord(record, types, &factory)};
    if (!checked.problem.empty()) {
      scanned.problems.push_back({record.line, record.offset, checked.problem});
    }
    scanned.records.push_back(std::move(checked));
  }
  std::sort(scanned.problems.begin(), scanned.problems.end(),
            [](const WalProblem& a, const WalProblem& b) {
              return a.offset < b.offset;
            });
  return scanned;
}

}  // namespace

absl::StatusOr<WalReport> CheckWal(const std::string& path,
                                   const MapTypes& types) {
  PERSIST_ASSIGN_OR_RETURN(Scanned scanned, Scan(path, types));
  WalReport report;
  report.file_bytes = scanned.contents->data().size();
  report.torn_tail_bytes = scanned.scan.torn_bytes;
  report.records = static_cast<int64_t>(scanned.records.size());
  report.problems = static_cast<int64_t>(scanned.problems.size());
  if (!scanned.problems.empty()) report.first_problem = scanned.problems[0];
  // The live keys as an open would leave them (good records only).
  absl::flat_hash_map<std::string, std::string> live;  // record key -> map
  for (const Checked& checked : scanned.records) {
    if (!checked.problem.empty()) continue;
    const WalRecord& record = *checked.record;
    if (record.kind == RecordKind::kSet) {
      live[record.record_key] = std::string(record.map);
    } else {
      live.erase(record.record_key);
    }
  }
  for (const auto& [record_key, map] : live) ++report.live_keys[map];
  return report;
}

absl::StatusOr<int64_t> RepairWal(const std::string& path,
                                  const std::string& out, const MapTypes& types,
                                  bool skip_corrupt) {
  if (path == out) {
    return absl::InvalidArgumentError(
        "repair never rewrites its input; give --out another path");
  }
  if (PosixFileSystem()->FileSize(out).ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat(out, " exists; repair writes a new file only"));
  }
  PERSIST_ASSIGN_OR_RETURN(Scanned scanned, Scan(path, types));
  const uint64_t stop = scanned.problems.empty() || skip_corrupt
                            ? UINT64_MAX
                            : scanned.problems[0].offset;
  std::string text(kWalHeader);
  int64_t written = 0;
  for (const Checked& checked : scanned.records) {
    const WalRecord& record = *checked.record;
    if (record.offset >= stop) break;
    if (!checked.problem.empty()) continue;
    AppendRecord(record.kind, record.record_key, record.json, &text);
    ++written;
  }
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                           // With the damaged file's permissions.
                           PosixFileSystem()->CreateEmpty(out, path));
  PERSIST_RETURN_IF_ERROR(file->Append(text));
  PERSIST_RETURN_IF_ERROR(file->Sync());
  PERSIST_RETURN_IF_ERROR(file->Close());
  PERSIST_RETURN_IF_ERROR(PosixFileSystem()->SyncDir(DirName(out)));
  return written;
}

}  // namespace persist::cli
