// Temporary folders and whole-file reads and writes for the engine tests.
#ifndef PERSIST_TESTS_STORAGE_TEST_FILES_H_
#define PERSIST_TESTS_STORAGE_TEST_FILES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/logger.h"
#include "base/mutex.h"
#include "storage/store_options.h"

namespace persist::testing {

// A fresh folder under $TEST_TMPDIR or /tmp, removed with its contents.
class TempDir;

// A store at `dir`/data.wal holding `maps`, on `file_system` (null: the
// real one), with a silent log and no background work (no timed flush, no
// auto-shrink): what a test writes is all that happens.
StoreOptions QuietStoreOptions(const TempDir& dir,
                               std::vector<MapDeclaration> maps,
                               FileSystem* file_system = nullptr);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& dir() const { return dir_; }
  std::string Path(absl::string_view name) const;

 private:
  std::string dir_;
};

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, absl::string_view contents);

// A LogSink that keeps every message, for tests that check what was logged.
class CapturedLog {
 public:
  LogSink Sink();
  std::vector<std::string> Messages() const;
  // Whether any message contains `part`.
  bool Contains(absl::string_view part) const;
  // Waits until a message contains `part`; false if `timeout` passed first.
  bool WaitFor(absl::string_view part, absl::Duration timeout) const;

 private:
  mutable Mutex mu_;
  mutable CondVar logged_;
  std::vector<std::string> messages_ ABSL_GUARDED_BY(mu_);
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_STORAGE_TEST_FILES_H_
