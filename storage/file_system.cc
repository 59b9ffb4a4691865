// FileSystem's default OpenForReading, for file layers that only map whole
// files (the fuzzers' in-memory one, tests' wrappers).
#include "storage/file_system.h"

#include <memory>
#include <string>
#include <utility>

#include "base/status_macros.h"

namespace persist {
namespace {

class WholeFileReader final : public RandomAccessFile {
 public:
  explicit WholeFileReader(std::unique_ptr<FileContents> contents)
      : contents_(std::move(contents)) {}

  absl::Status Read(uint64_t offset, size_t n,
                    std::string* out) const override {
    const absl::string_view data = contents_->data();
    out->clear();
    if (offset < data.size()) {
      const absl::string_view piece = data.substr(offset, n);
      out->assign(piece.data(), piece.size());
    }
    return absl::OkStatus();
  }

 private:
  const std::unique_ptr<FileContents> contents_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RandomAccessFile>> FileSystem::OpenForReading(
    const std::string& path) {
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<FileContents> contents,
                           ReadFile(path));
  return std::make_unique<WholeFileReader>(std::move(contents));
}

}  // namespace persist
