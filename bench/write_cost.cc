// What one write costs the engine, in instructions: built against two
// trees by bench/index_cost.sh (the commit before the ordered key index and
// this one) and run under callgrind, whose counts repeat run after run
// where wall-clock times on a shared 2-core machine do not.
//
//   write_cost DATA_FILE KEYS OPS MODE
//
// Prefills KEYS keys, then (callgrind's measured part starts with the
// first write of MODE) makes OPS writes at MEMORY durability, so that no
// disk is in the count: "existing" sets existing keys, "new" sets a new key
// and deletes it (the map stays the same size).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_format.h"
#include "persist/bench/v1/records.pb.h"
#include "storage/store.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: write_cost DATA_FILE KEYS OPS existing|new\n");
    return 64;
  }
  using persist::bench::v1::SmallRecord;
  const long keys = std::atol(argv[2]);
  const long ops = std::atol(argv[3]);
  const std::string mode = argv[4];
  persist::StoreOptions options;
  options.path = argv[1];
  options.maps = {{"m", SmallRecord::descriptor()}};
  options.auto_shrink.enabled = false;
  options.log = [](persist::LogLevel, absl::string_view) {};
  auto store = persist::Store::Open(options);
  if (!store.ok()) return 1;
  auto map = *(*store)->GetMap<SmallRecord>("m");
  persist::WriteOptions memory;
  memory.durability = persist::Durability::kMemory;
  SmallRecord value;
  value.set_field2("example struct");
  for (long i = 0; i < keys; ++i) {
    value.set_field1(i);
    if (!map.Set(absl::StrFormat("key%09d", i), value, memory).ok()) return 1;
  }
  std::mt19937_64 random(1);
  CALLGRIND_START_INSTRUMENTATION;
  for (long i = 0; i < ops; ++i) {
    const std::string key =
        absl::StrFormat("key%09d", random() % static_cast<uint64_t>(keys));
    if (mode == "existing") {
      if (!map.Set(key, value, memory).ok()) return 1;
    } else {
      if (!map.Set(key + "n", value, memory).ok()) return 1;
      if (!map.Delete(key + "n", memory).ok()) return 1;
    }
  }
  CALLGRIND_STOP_INSTRUMENTATION;
  return 0;
}
