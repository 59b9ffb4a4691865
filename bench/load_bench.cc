// Load: how fast a store opens a large WAL and what it costs in memory.
//
//   load_bench [--records=820000] [--maps=5] [--small_records=1000000]
//              [--dir=.] [--keep]
//
// 1. Writes a WAL of --records records of about 1.2 KB (bench's
//    LargeRecord) spread over --maps maps, about 1 GB, then opens it in a
//    fresh child process: open time, MB/s of WAL, peak and resident memory.
// 2. Writes a WAL of --small_records small structs (go-persist's
//    field1/field2) and opens it the same way: resident memory per live
//    entry (values, keys and map overhead; the file is unmapped by then).
// Writing the files is not timed.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/free_memory.h"
#include "bench/run_header.h"
#include "json/json_codec.h"
#include "persist/bench/v1/records.pb.h"
#include "storage/store.h"

extern char** environ;

namespace persist::bench {
namespace {

using persist::bench::v1::LargeRecord;
using persist::bench::v1::SmallRecord;

int64_t ResidentKb() { return ResidentBytes() / 1024; }

LargeRecord MakeLarge(int64_t i) {
  LargeRecord record;
  record.set_id(absl::StrCat("id-", i));
  record.set_name(absl::StrCat("Record number ", i));
  record.set_email(absl::StrCat("user", i, "@example.com"));
  record.set_description("A typical document: some text, a few fields, a map.");
  record.set_created_at_ms(1795597200000 + i);
  record.set_version(static_cast<int32_t>(i % 100));
  auto* metadata = record.mutable_metadata();
  (*metadata->mutable_labels())["team"] = "storage";
  (*metadata->mutable_labels())["tier"] = absl::StrCat("t", i % 3);
  metadata->add_tags("alpha");
  metadata->add_tags("beta");
  metadata->add_counters(i);
  metadata->add_counters(i * 2);
  metadata->set_owner("owner@example.com");
  record.set_payload(std::string(1000, static_cast<char>('a' + i % 26)));
  return record;
}

// Writes the WAL directly with the codec (faster than through a store), in
// go-persist's format (DESIGN.md section 3): a header line, then "S map:key"
// and the value's JSON line for each record.
uint64_t WriteWal(const std::string& path, int64_t records, int maps,
                  bool large) {
  JsonCodec codec;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string buffer = "go-persist 1\n";
  std::string json;
  uint64_t bytes = 0;
  for (int64_t i = 0; i < records; ++i) {
    json.clear();
    absl::Status status;
    if (large) {
      status = codec.Encode(MakeLarge(i), &json);
    } else {
      SmallRecord small;
      small.set_field1(i);
      small.set_field2("example struct");
      status = codec.Encode(small, &json);
    }
    if (!status.ok()) {
      std::fprintf(stderr, "encode: %s\n", status.ToString().c_str());
      std::exit(1);
    }
    absl::StrAppend(&buffer, "S m", i % maps, ":", i, "\n", json, "\n");
    if (buffer.size() > (8 << 20)) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      bytes += buffer.size();
      buffer.clear();
    }
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  bytes += buffer.size();
  out.close();
  // On disk before the clock starts: the open should not compete with the
  // writeback of its own file.
  const int fd = ::open(path.c_str(), O_RDONLY);
  ::fdatasync(fd);
  ::close(fd);
  return bytes;
}

// The child: opens the store and prints "seconds peak_kb rss_kb keys
// released_rss_kb": resident memory right after the open, and once the
// memory malloc keeps free is returned, as persistd does next.
int OpenChild(const std::string& path, int maps, bool large) {
  // As persistd does: Debian's abseil leaves Mutex deadlock detection on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const int64_t before_kb = ResidentKb();
  StoreOptions options;
  options.path = path;
  for (int m = 0; m < maps; ++m) {
    options.maps.push_back(
        {absl::StrCat("m", m),
         large ? LargeRecord::descriptor() : SmallRecord::descriptor()});
  }
  options.auto_shrink.enabled = false;
  options.log = StderrLogSink();  // its "opened" line shows the phases
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  const absl::Duration took = absl::Now() - start;
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  const int64_t resident_kb = ResidentKb() - before_kb;
  ReleaseFreeMemory();
  std::printf("%.6f %ld %lld %lld %lld\n", absl::ToDoubleSeconds(took),
              usage.ru_maxrss, static_cast<long long>(resident_kb),
              static_cast<long long>((*store)->Stats().live_keys),
              static_cast<long long>(ResidentKb() - before_kb));
  std::fflush(stdout);
  std::_Exit(0);  // the measurement is done; skip freeing a million values
}

struct ChildResult {
  double seconds = 0;
  int64_t peak_kb = 0;
  int64_t resident_kb = 0;
  int64_t keys = 0;
  int64_t released_kb = 0;  // resident once free memory went back
};

// `allocator`: one environment setting that picks the child's malloc
// ("GLIBC_TUNABLES=..." or "LD_PRELOAD=..."; "" for glibc's defaults).
ChildResult RunChild(const std::string& self, const std::string& path, int maps,
                     bool large, const std::string& allocator) {
  int fds[2];
  if (::pipe(fds) != 0) std::exit(1);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const std::string maps_flag = absl::StrCat(maps);
  std::vector<char*> argv = {const_cast<char*>(self.c_str()),
                             const_cast<char*>("--open-child"),
                             const_cast<char*>(path.c_str()),
                             const_cast<char*>(maps_flag.c_str()),
                             const_cast<char*>(large ? "large" : "small"),
                             nullptr};
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string setting = *e;
    if (setting.rfind("GLIBC_TUNABLES=", 0) != 0 &&
        setting.rfind("LD_PRELOAD=", 0) != 0) {
      env_strings.push_back(setting);
    }
  }
  if (!allocator.empty()) env_strings.push_back(allocator);
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid;
  if (::posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(),
                    env.data()) != 0) {
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  char line[256] = {};
  FILE* out = ::fdopen(fds[0], "r");
  const bool read = std::fgets(line, sizeof(line), out) != nullptr;
  std::fclose(out);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ChildResult result;
  if (!read || std::sscanf(line, "%lf %ld %ld %ld %ld", &result.seconds,
                           &result.peak_kb, &result.resident_kb, &result.keys,
                           &result.released_kb) != 5) {
    std::fprintf(stderr, "the child failed to open the store\n");
    std::exit(1);
  }
  return result;
}

int Main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--open-child") {
    return OpenChild(argv[2], std::atoi(argv[3]),
                     std::string(argv[4]) == "large");
  }
  int64_t records = 820000;
  int maps = 5;
  int64_t small_records = 1000000;
  std::string dir = ".";
  bool keep = false;  // leave the WAL files, to profile an open by hand
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--keep") {
      keep = true;
      continue;
    }
    const std::vector<std::string> flag = absl::StrSplit(argv[i], '=');
    bool ok = flag.size() == 2;
    if (ok && flag[0] == "--records")
      ok = absl::SimpleAtoi(flag[1], &records);
    else if (ok && flag[0] == "--maps")
      ok = absl::SimpleAtoi(flag[1], &maps);
    else if (ok && flag[0] == "--small_records")
      ok = absl::SimpleAtoi(flag[1], &small_records);
    else if (ok && flag[0] == "--dir")
      dir = flag[1];
    else
      ok = false;
    if (!ok || maps < 1 || records < 1 || small_records < 1) {
      std::fprintf(stderr, "load_bench: bad flag %s\n", argv[i]);
      return 2;
    }
  }
  PrintRunHeader(argc, argv);
  const std::string self = "/proc/self/exe";
  char resolved[4096];
  const ssize_t n = ::readlink(self.c_str(), resolved, sizeof(resolved) - 1);
  if (n <= 0) return 1;
  resolved[n] = '\0';

  const std::string large_path = absl::StrCat(dir, "/load_bench_large.wal");
  std::printf("writing %lld records of about 1.2 KB in %d maps...\n",
              static_cast<long long>(records), maps);
  std::fflush(stdout);
  const uint64_t large_bytes = WriteWal(large_path, records, maps, true);
  // glibc's malloc on 4 KB pages, then on transparent huge pages (most of
  // an open is first-touch page faults of the memory the values fill, and
  // huge pages take 512 times fewer), then tcmalloc, which persistd links.
  const std::string tcmalloc = absl::StrCat("LD_PRELOAD=", PERSIST_TCMALLOC);
  const ChildResult large = RunChild(resolved, large_path, maps, true, "");
  const ChildResult huge = RunChild(resolved, large_path, maps, true,
                                    "GLIBC_TUNABLES=glibc.malloc.hugetlb=1");
  const ChildResult tc = RunChild(resolved, large_path, maps, true, tcmalloc);
  if (!keep) std::remove(large_path.c_str());
  for (const auto& [name, result] : {std::pair{"default malloc", large},
                                     std::pair{"malloc on huge pages", huge},
                                     std::pair{"tcmalloc, as persistd", tc}}) {
    std::printf(
        "open %.1f MB WAL, %lld records (%s): %.2f s, %.0f MB/s; peak RSS "
        "%.0f MB, resident after open %.0f MB (%.2fx the file), %.0f MB once "
        "free memory is released\n",
        large_bytes / 1e6, static_cast<long long>(result.keys), name,
        result.seconds, large_bytes / 1e6 / result.seconds,
        result.peak_kb / 1024.0, result.resident_kb / 1024.0,
        result.resident_kb * 1024.0 / static_cast<double>(large_bytes),
        result.released_kb / 1024.0);
  }

  const std::string small_path = absl::StrCat(dir, "/load_bench_small.wal");
  const uint64_t small_bytes = WriteWal(small_path, small_records, 1, false);
  const ChildResult small = RunChild(resolved, small_path, 1, false, "");
  const ChildResult small_tc =
      RunChild(resolved, small_path, 1, false, tcmalloc);
  if (!keep) std::remove(small_path.c_str());
  for (const auto& [name, result] :
       {std::pair{"default malloc", small}, std::pair{"tcmalloc", small_tc}}) {
    std::printf(
        "open %.1f MB WAL of %lld small structs (%s): %.2f s, %.0f MB/s; "
        "peak RSS %.0f MB; %.0f bytes resident per live entry, %.0f once "
        "free memory is released\n",
        small_bytes / 1e6, static_cast<long long>(result.keys), name,
        result.seconds, small_bytes / 1e6 / result.seconds,
        result.peak_kb / 1024.0,
        result.resident_kb * 1024.0 / static_cast<double>(result.keys),
        result.released_kb * 1024.0 / static_cast<double>(result.keys));
  }
  std::printf(
      "{\"large\":{\"file_bytes\":%llu,\"seconds\":%.3f,\"mb_per_sec\":%.0f,"
      "\"huge_pages_mb_per_sec\":%.0f,\"tcmalloc_mb_per_sec\":%.0f,"
      "\"peak_rss_kb\":%lld},\"small\":{"
      "\"entries\":%lld,\"bytes_per_entry\":%.0f,"
      "\"tcmalloc_released_bytes_per_entry\":%.0f}}\n",
      static_cast<unsigned long long>(large_bytes), large.seconds,
      large_bytes / 1e6 / large.seconds, large_bytes / 1e6 / huge.seconds,
      large_bytes / 1e6 / tc.seconds, static_cast<long long>(large.peak_kb),
      static_cast<long long>(small.keys),
      small.resident_kb * 1024.0 / static_cast<double>(small.keys),
      small_tc.released_kb * 1024.0 / static_cast<double>(small_tc.keys));
  return 0;
}

}  // namespace
}  // namespace persist::bench

int main(int argc, char** argv) { return persist::bench::Main(argc, argv); }
