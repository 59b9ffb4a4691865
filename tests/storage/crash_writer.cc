// The child of store_crash_test: writes to a store until it is killed, and
// reports every acknowledged write on stdout as "<key> <value>\n", flushed
// at once. Usage: crash_writer <wal path> <seed> [batch]
//
// With "batch", each write is an atomic batch that sets the three keys of a
// group ("g<n>/a", "g<n>/b", "g<n>/c") to one value: after any crash, the
// keys of every group hold equal values.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/batch.h"
#include "storage/store.h"

int main(int argc, char** argv) {
  const bool batches = argc == 4 && std::string(argv[3]) == "batch";
  if (argc != 3 && !batches) {
    std::fprintf(stderr, "usage: crash_writer <wal path> <seed> [batch]\n");
    return 2;
  }
  persist::StoreOptions options;
  options.path = argv[1];
  options.maps = {{"items", persist::test::v1::Item::descriptor()}};
  options.auto_shrink.enabled = false;
  options.log = [](persist::LogLevel, absl::string_view) {};
  absl::StatusOr<std::unique_ptr<persist::Store>> store =
      persist::Store::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  persist::Map<persist::test::v1::Item> items =
      *(*store)->GetMap<persist::test::v1::Item>("items");
  const unsigned seed = static_cast<unsigned>(std::atoi(argv[2]));
  std::mt19937 random(seed);
  persist::WriteOptions write;
  write.durability = persist::Durability::kWrite;
  for (int i = 0; batches; ++i) {
    const std::string group = absl::StrCat("g", random() % 20, "/");
    const std::string value = absl::StrCat(seed, "/", i);
    persist::test::v1::Item item;
    item.set_name(value);
    if (i % 7 == 0) item.add_tags(std::string(20000, 'x'));
    auto shared = std::make_shared<const persist::test::v1::Item>(item);
    std::vector<persist::BatchOperation> operations;
    for (const char* member : {"a", "b", "c"}) {
      operations.push_back(persist::BatchOperation::Set(
          &items.dynamic(), group + member, shared));
    }
    if (!(*store)->Write(std::move(operations)).ok()) return 1;
    for (const char* member : {"a", "b", "c"}) {
      std::printf("%s%s %s\n", group.c_str(), member, value.c_str());
    }
    std::fflush(stdout);
  }
  for (int i = 0;; ++i) {
    const std::string key = absl::StrCat("k", random() % 50);
    const std::string value = absl::StrCat(seed, "/", i);
    persist::test::v1::Item item;
    item.set_name(value);
    // Large values now and then, so that kills land inside long writes.
    if (i % 7 == 0) item.add_tags(std::string(20000, 'x'));
    if (!items.Set(key, std::move(item), write).ok()) return 1;
    std::printf("%s %s\n", key.c_str(), value.c_str());
    std::fflush(stdout);
  }
}
