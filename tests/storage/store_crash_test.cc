// Crash safety with real processes: a child writes with WRITE durability and
// reports each acknowledged write; the parent kills it with SIGKILL at
// random moments, reopens the file and checks that every acknowledged write
// is there.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

extern char** environ;

namespace persist {
namespace {

using persist::test::v1::Item;

// Starts crash_writer with its stdout on a pipe.
struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;
};

Child StartWriter(const std::string& path, int seed, bool batches) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  const std::string seed_text = absl::StrCat(seed);
  std::vector<char*> argv = {const_cast<char*>(CRASH_WRITER_PATH),
                             const_cast<char*>(path.c_str()),
                             const_cast<char*>(seed_text.c_str())};
  if (batches) argv.push_back(const_cast<char*>("batch"));
  argv.push_back(nullptr);
  Child child;
  EXPECT_EQ(::posix_spawn(&child.pid, CRASH_WRITER_PATH, &actions, nullptr,
                          argv.data(), environ),
            0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  child.out = ::fdopen(fds[0], "r");
  return child;
}

// `rounds` times: starts crash_writer (in batch mode if `batches`), kills
// it after a random number of acknowledgements, reopens the file and checks
// that every acknowledged write is there; in batch mode also that every
// group's keys hold one value (no batch was half applied).
void KillAndCheck(int rounds, bool batches) {
  testing::TempDir dir;
  const std::string path = dir.Path("data.wal");
  std::mt19937 random(2026);
  std::map<std::string, std::string> acknowledged;
  int64_t total_acks = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Child child = StartWriter(path, round, batches);
    ASSERT_NE(child.out, nullptr);
    // Kill after a random number of acknowledgements: a random moment of
    // the child's writing.
    const int kill_after = 1 + static_cast<int>(random() % 300);
    char line[256];
    int acks = 0;
    while (std::fgets(line, sizeof(line), child.out) != nullptr) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      ASSERT_EQ(parts.size(), 2u) << line;
      parts[1].pop_back();  // '\n'
      acknowledged[parts[0]] = parts[1];
      if (++acks == kill_after) ::kill(child.pid, SIGKILL);
    }
    // Acknowledgements still in the pipe were read above, up to EOF.
    int status = 0;
    ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself";
    std::fclose(child.out);
    total_acks += acks;

    StoreOptions options;
    options.path = path;
    options.maps = {{"items", Item::descriptor()}};
    options.auto_shrink.enabled = false;
    options.log = [](LogLevel, absl::string_view) {};
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    Map<Item> items = *(*store)->GetMap<Item>("items");
    for (const auto& [key, value] : acknowledged) {
      absl::StatusOr<Entry<Item>> entry = items.Get(key);
      ASSERT_TRUE(entry.ok() && entry->found()) << key;
      // The child may have written a newer value without getting to report
      // it; never an older one. Values are "<round>/<i>".
      if (entry->value->name() != value) {
        const auto order = [](const std::string& v) {
          const std::vector<std::string> parts = absl::StrSplit(v, '/');
          return std::make_pair(std::stoll(parts[0]), std::stoll(parts[1]));
        };
        ASSERT_GT(order(entry->value->name()), order(value))
            << key << ": " << entry->value->name()
            << " is older than the acknowledged " << value;
        acknowledged[key] = entry->value->name();
      }
    }
    if (!batches) continue;
    for (const auto& [key, value] : acknowledged) {
      const std::string group = key.substr(0, key.size() - 1);
      for (const char* member : {"a", "b", "c"}) {
        ASSERT_EQ(items.Get(group + member)->value->name(),
                  items.Get(key)->value->name())
            << group << member << " and " << key << ": half a batch";
      }
    }
  }
  EXPECT_GT(total_acks, rounds);
}

TEST(StoreCrashTest, EveryAcknowledgedWriteSurvivesSigkill) {
  KillAndCheck(25, /*batches=*/false);
}

TEST(StoreCrashTest, EveryBatchIsWholeOrAbsentAfterSigkill) {
  KillAndCheck(20, /*batches=*/true);
}

}  // namespace
}  // namespace persist
