// Backups against a real persistd: the Snapshot stream written by the C++
// client and by persistctl backup while writers run, opened by a second
// persistd; files never replaced; tokens.
#include <sys/stat.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/persist_client.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/v1/persist.grpc.pb.h"
#include "tests/e2e/persistd_fixture.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using ::testing::HasSubstr;
using testing::Persistd;
using testing::PersistdTest;

int Persistctl(const std::string& args, std::string* output) {
  return testing::RunCapturing(absl::StrCat(PERSISTCTL_PATH, " ", args),
                               output);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// persistd on `file` (a backup), on a port of its own.
std::unique_ptr<Persistd> Open(const std::string& file) {
  auto persistd = std::make_unique<Persistd>(std::vector<std::string>{
      "--listen=127.0.0.1:0", absl::StrCat("--data=", file)});
  EXPECT_FALSE(persistd->address().empty()) << persistd->banner();
  return persistd;
}

class BackupTest : public PersistdTest {
 protected:
  // How many of the keys "<writer>-0", "<writer>-1", ... `stub` has, from the
  // first, checking that no key past them is there (a writer writes its keys
  // in order, so a consistent copy holds a prefix of them).
  static int PrefixOf(v1::Persist::Stub& stub, const std::string& writer,
                      int written) {
    int prefix = 0;
    while (GetUser(stub, absl::StrCat(writer, "-", prefix))) {
      ++prefix;
    }
    for (int i = prefix + 1; i < written; i += 97) {
      EXPECT_FALSE(GetUser(stub, absl::StrCat(writer, "-", i)))
          << writer << "-" << i << " is there, " << writer << "-" << prefix
          << " is not";
    }
    return prefix;
  }
};

TEST_F(BackupTest, CopiesTakenWhileWritersRunOpenWithEveryAcknowledgedWrite) {
  // Small messages: the copy comes in many chunks of 64 KiB.
  auto persistd = Start({"--max_message_bytes=16384"});
  // A file of some size first, so that the copies span many chunks.
  {
    auto stub = persistd->Stub();
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(SetUser(*stub, absl::StrCat("seed-", i), i, v1::WRITE).ok());
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::thread writer([&] {
    auto stub = persistd->Stub();
    for (int i = 0; !stop.load(); ++i) {
      // WRITE and FSYNC only: an ASYNC set may reach the file after a
      // later WRITE one, so a copy need not hold a prefix of those.
      const grpc::Status set = SetUser(*stub, absl::StrCat("w-", i), i,
                                       i % 2 == 0 ? v1::WRITE : v1::FSYNC);
      if (!set.ok()) {
        ADD_FAILURE() << set.error_message();
        return;
      }
      acknowledged.store(i + 1);
    }
  });
  absl::Cleanup join = [&] {
    stop.store(true);
    writer.join();
  };

  client::Client persist(persistd->Channel());
  std::vector<int> before;
  std::vector<std::string> copies;
  std::vector<uint64_t> progress_calls;
  for (int round = 0; round < 3; ++round) {
    before.push_back(acknowledged.load());
    copies.push_back(dir_.Path(absl::StrCat("backup-", round, ".wal")));
    uint64_t last = 0;
    uint64_t calls = 0;
    absl::StatusOr<client::BackupResult> backup = persist.Backup(
        copies.back(), {.progress = [&](uint64_t written, uint64_t total) {
          EXPECT_GT(written, last);
          EXPECT_LE(written, total);
          last = written;
          ++calls;
        }});
    ASSERT_TRUE(backup.ok()) << backup.status();
    EXPECT_EQ(last, backup->bytes);
    EXPECT_GE(backup->records, 3000u + before.back());
    progress_calls.push_back(calls);
    EXPECT_FALSE(Exists(copies.back() + ".partial"));
  }
  std::move(join).Invoke();

  for (size_t round = 0; round < copies.size(); ++round) {
    SCOPED_TRACE(copies[round]);
    // 3000 users of about 60 bytes a record: more than two chunks.
    EXPECT_GT(progress_calls[round], 2u);
    auto opened = Open(copies[round]);
    auto stub = opened->Stub();
    EXPECT_EQ(GetUser(*stub, "seed-2999")->age(), 2999);
    EXPECT_GE(PrefixOf(*stub, "w", acknowledged.load()), before[round]);
  }
}

TEST_F(BackupTest, PersistctlWritesABackupAndNeverReplacesAFile) {
  testing::WriteFileOrDie(dir_.Path("tokens"), "r-token read\nw-token write\n");
  auto persistd = Start({absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  const std::string ctl = absl::StrCat("--addr=", persistd->address(), " ");
  std::string out;
  ASSERT_EQ(Persistctl(ctl + "--token=w-token set users ada '{\"age\":36}' "
                             "--durability=async",
                       &out),
            0)
      << out;

  const std::string backup = dir_.Path("users.backup");
  EXPECT_EQ(Persistctl(ctl + "backup --out=" + backup, &out), 16) << out;
  EXPECT_FALSE(Exists(backup));
  // A token that may read may take a backup.
  ASSERT_EQ(Persistctl(ctl + "--token=r-token backup --out=" + backup, &out), 0)
      << out;
  EXPECT_THAT(out,
              HasSubstr(absl::StrCat("{\"path\":\"", backup, "\",\"bytes\":")));
  EXPECT_THAT(out, HasSubstr("\"records\":1}"));
  const std::string taken = testing::ReadFileOrDie(backup);

  // Never over a file: ALREADY_EXISTS (6), the file as it was.
  ASSERT_EQ(
      Persistctl(ctl + "--token=w-token set users bob '{\"age\":1}'", &out), 0)
      << out;
  EXPECT_EQ(Persistctl(ctl + "--token=r-token backup --out=" + backup, &out), 6)
      << out;
  EXPECT_THAT(out, HasSubstr("exists; a backup never replaces a file"));
  EXPECT_EQ(testing::ReadFileOrDie(backup), taken);
  EXPECT_EQ(Persistctl(ctl + "--token=r-token backup", &out), 64) << out;
  EXPECT_THAT(out, HasSubstr("--out=PATH"));

  // The ASYNC write was flushed into the copy.
  persistd.reset();
  auto opened = Open(backup);
  auto stub = opened->Stub();
  ASSERT_TRUE(GetUser(*stub, "ada").has_value());
  EXPECT_EQ(GetUser(*stub, "ada")->age(), 36);
  EXPECT_FALSE(GetUser(*stub, "bob").has_value());
}

TEST_F(BackupTest, ABackupRunningToThePathOrAMissingFolderIsRefused) {
  auto persistd = Start();
  client::Client persist(persistd->Channel());
  // Another backup's partial file: neither written over nor removed.
  const std::string path = dir_.Path("backup.wal");
  testing::WriteFileOrDie(path + ".partial", "another backup's bytes");
  absl::StatusOr<client::BackupResult> backup = persist.Backup(path);
  EXPECT_TRUE(absl::IsAlreadyExists(backup.status())) << backup.status();
  EXPECT_THAT(backup.status().message(), HasSubstr("another backup"));
  EXPECT_EQ(testing::ReadFileOrDie(path + ".partial"),
            "another backup's bytes");
  EXPECT_FALSE(Exists(path));

  backup = persist.Backup(dir_.Path("no-such-folder/backup.wal"));
  ASSERT_FALSE(backup.ok());
  EXPECT_THAT(backup.status().message(),
              HasSubstr("cannot create " +
                        dir_.Path("no-such-folder/backup.wal.partial")));
}

}  // namespace
}  // namespace persist
