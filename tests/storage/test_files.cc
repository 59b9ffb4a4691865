#include "tests/storage/test_files.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace persist::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr ? base : "/tmp", "/persist-test-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  dir_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TempDir::Path(absl::string_view name) const {
  return absl::StrCat(dir_, "/", name);
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFileOrDie(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
}

LogSink CapturedLog::Sink() {
  return [this](LogLevel, absl::string_view message) {
    MutexLock lock(&mu_);
    messages_.emplace_back(message);
    logged_.SignalAll();
  };
}

std::vector<std::string> CapturedLog::Messages() const {
  MutexLock lock(&mu_);
  return messages_;
}

bool CapturedLog::Contains(absl::string_view part) const {
  MutexLock lock(&mu_);
  for (const std::string& message : messages_) {
    if (absl::StrContains(message, part)) return true;
  }
  return false;
}

bool CapturedLog::WaitFor(absl::string_view part,
                          absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&mu_);
  for (size_t seen = 0;;) {
    for (; seen < messages_.size(); ++seen) {
      if (absl::StrContains(messages_[seen], part)) return true;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    logged_.WaitWithTimeout(&mu_, left);
  }
}

StoreOptions QuietStoreOptions(const TempDir& dir,
                               std::vector<MapDeclaration> maps,
                               FileSystem* file_system) {
  StoreOptions options;
  options.path = dir.Path("data.wal");
  options.maps = std::move(maps);
  options.file_system = file_system;
  options.log = [](LogLevel, absl::string_view) {};
  options.sync_interval = absl::Hours(1);
  options.auto_shrink.enabled = false;
  return options;
}

}  // namespace persist::testing
