// The in-memory baselines: what a team writes by hand before persist, one
// map under one lock, with the same immutable shared values as persist.
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "bench/kv_rows.h"

namespace persist::bench {
namespace {

using Value = std::shared_ptr<const google::protobuf::Message>;

// absl::flat_hash_map under one absl::Mutex (reader lock for reads).
class AbslMutexMapRow final : public Row {
 public:
  explicit AbslMutexMapRow(const ScenarioValues& values) : values_(values) {}
  absl::Status Put(absl::string_view key, int64_t i, bool updated) override {
    Value value = values_.Make(i, updated);
    absl::MutexLock lock(&mu_);
    map_[key] = std::move(value);
    return absl::OkStatus();
  }
  absl::Status Get(absl::string_view key, bool* found) override {
    Value value;
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = map_.find(key);
      if (it != map_.end()) value = it->second;
    }
    *found = value != nullptr;
    return absl::OkStatus();
  }

 private:
  const ScenarioValues& values_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Value> map_ ABSL_GUARDED_BY(mu_);
};

// std::unordered_map under one std::shared_mutex.
class SharedMutexMapRow final : public Row {
 public:
  explicit SharedMutexMapRow(const ScenarioValues& values) : values_(values) {}
  absl::Status Put(absl::string_view key, int64_t i, bool updated) override {
    Value value = values_.Make(i, updated);
    std::string owned(key);
    std::unique_lock lock(mu_);
    map_[std::move(owned)] = std::move(value);
    return absl::OkStatus();
  }
  absl::Status Get(absl::string_view key, bool* found) override {
    const std::string owned(key);
    Value value;
    {
      std::shared_lock lock(mu_);
      auto it = map_.find(owned);
      if (it != map_.end()) value = it->second;
    }
    *found = value != nullptr;
    return absl::OkStatus();
  }

 private:
  const ScenarioValues& values_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, Value> map_;
};

}  // namespace

std::unique_ptr<Row> MakeAbslMutexMapRow(const ScenarioValues& values) {
  return std::make_unique<AbslMutexMapRow>(values);
}
std::unique_ptr<Row> MakeSharedMutexMapRow(const ScenarioValues& values) {
  return std::make_unique<SharedMutexMapRow>(values);
}

}  // namespace persist::bench
