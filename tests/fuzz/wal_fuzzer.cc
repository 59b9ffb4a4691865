// libFuzzer target for the WAL reader and recovery: arbitrary bytes opened
// as a data file, alone or as the tail of a valid one (the first input byte
// chooses). Opening never crashes or hangs; what it recovers passes check
// (storage/check.h), whose verdict always equals opening's; a strict open
// that succeeds leaves a file that opens again to the same keys; and
// skip_corrupt opens whatever is a WAL at all. Built by the "fuzz" preset
// with ASan and UBSan; .ci/run runs it from a fixed seed.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/check.h"
#include "storage/expiry.h"
#include "storage/store.h"
#include "tests/fuzz/memory_file_system.h"

namespace {

using persist::CheckReport;
using persist::RecoveryMode;
using persist::Store;
using persist::StoreOptions;

constexpr char kPath[] = "/fuzz/data.wal";

// A valid file of both declared maps and an orphan, for tails to follow.
constexpr char kValidPrefix[] =
    "go-persist 1\n"
    "S items:a\n{\"name\":\"A\",\"count\":1,\"tags\":[\"x\"]}\n"
    "S blobs:b\n{\"k\":[1,{\"z\":null}]}\n"
    "D items:gone\n\n"
    "S other:o\n{\"kept\":true}\n";

// A clock at which nothing has expired yet: the store's background sweep
// would otherwise race the live key counts compared below.
class BeforeEveryExpiry final : public persist::Clock {
 public:
  absl::Time Now() const override { return absl::InfinitePast(); }
};

persist::testing::MemoryFileSystem& Files() {
  static auto* files = new persist::testing::MemoryFileSystem();
  return *files;
}

StoreOptions Options(RecoveryMode mode) {
  StoreOptions options;
  options.path = kPath;
  options.maps = {{"items", persist::test::v1::Item::descriptor()},
                  {"blobs", google::protobuf::Struct::descriptor()}};
  options.file_system = &Files();
  static const BeforeEveryExpiry clock;
  options.clock = &clock;
  options.log = [](persist::LogLevel, absl::string_view) {};
  options.sync_interval = absl::Hours(1);
  options.auto_shrink.enabled = false;
  options.recovery = mode;
  options.recovery_threads = 1;
  options.shards_per_map = 1;
  return options;
}

// Live keys of each map, as a store serves them, and the last commit log
// entry the file holds.
std::map<std::string, int64_t> LiveKeys(const Store& store) {
  std::map<std::string, int64_t> keys;
  const persist::StoreStats stats = store.Stats();
  for (const persist::MapStats& map : stats.maps) {
    keys[map.name] = map.live_keys;
  }
  keys["(orphans)"] = stats.orphan_keys;
  keys["(commit_seq)"] = static_cast<int64_t>(stats.commit_seq);
  return keys;
}

std::map<std::string, int64_t> LiveKeys(const CheckReport& report) {
  std::map<std::string, int64_t> keys;
  for (const persist::MapStats& map : report.maps) {
    keys[map.name] = map.live_keys;
  }
  int64_t orphans = 0;
  for (const auto& [map, count] : report.orphan_keys) orphans += count;
  keys["(orphans)"] = orphans;
  keys["(commit_seq)"] = static_cast<int64_t>(report.commit_seq);
  return keys;
}

// Check and open agree on the file as it is now, in `mode`; returns the
// live keys (empty when the open was refused).
std::map<std::string, int64_t> CheckAgreesWithOpen(RecoveryMode mode) {
  absl::StatusOr<CheckReport> report = persist::CheckStore(Options(mode));
  if (!report.ok()) __builtin_trap();  // only I/O errors, none in memory
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options(mode));
  if (report->verdict != store.status()) __builtin_trap();
  if (!store.ok()) return {};
  std::map<std::string, int64_t> keys = LiveKeys(**store);
  if (keys != LiveKeys(*report)) __builtin_trap();
  if (!(*store)->Close().ok()) __builtin_trap();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool as_tail = data[0] & 1;
  std::string file(as_tail ? kValidPrefix : "");
  file.append(reinterpret_cast<const char*>(data + 1), size - 1);
  Files().Clear();
  Files().SetContents(kPath, file);

  const std::map<std::string, int64_t> strict =
      CheckAgreesWithOpen(RecoveryMode::kStrict);
  if (!strict.empty()) {
    // What a strict open recovered is a clean file now (its torn tail cut,
    // a header written): it opens again, to the same keys, and checks clean.
    absl::StatusOr<CheckReport> again =
        persist::CheckStore(Options(RecoveryMode::kStrict));
    if (!again.ok() || !again->verdict.ok() || !again->damaged.empty() ||
        again->torn_tail_bytes != 0 || LiveKeys(*again) != strict) {
      __builtin_trap();
    }
    return 0;
  }
  // Refused: skip_corrupt opens anything that is a WAL at all, and agrees
  // with check too.
  Files().SetContents(kPath, file);
  const std::map<std::string, int64_t> salvaged =
      CheckAgreesWithOpen(RecoveryMode::kSkipCorrupt);
  if (salvaged.empty()) {
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(Options(RecoveryMode::kSkipCorrupt));
    if (!absl::IsFailedPrecondition(store.status())) __builtin_trap();
  }
  return 0;
}
