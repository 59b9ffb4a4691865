#include "storage/internal/orphan_records.h"

#include "storage/expiry.h"
#include "storage/internal/wal_format.h"

namespace persist {

void OrphanRecords::Apply(const WalRecord& record) {
  if (record.kind == RecordKind::kSet) {
    auto& records = by_map_[record.map];
    auto [it, inserted] = records.try_emplace(record.record_key);
    it->second.json.assign(record.json.data(), record.json.size());
    it->second.line = record.line;
    it->second.expiry.clear();
    if (inserted) ++keys_;
    return;
  }
  auto map_it = by_map_.find(record.map);
  if (record.kind == RecordKind::kExpire) {
    if (map_it == by_map_.end()) return;
    auto it = map_it->second.find(record.record_key);
    if (it == map_it->second.end()) return;
    it->second.expiry.assign(record.json.data(), record.json.size());
    it->second.expiry_line = record.line;
    return;
  }
  if (map_it == by_map_.end()) return;
  if (map_it->second.erase(record.record_key) > 0) --keys_;
  if (map_it->second.empty()) by_map_.erase(map_it);
}

std::vector<OrphanRecords::Orphan> OrphanRecords::Collect(
    absl::string_view map) const {
  std::vector<Orphan> collected;
  auto map_it = by_map_.find(map);
  if (map_it == by_map_.end()) return collected;
  collected.reserve(map_it->second.size());
  for (const auto& [record_key, value] : map_it->second) {
    collected.push_back({record_key.substr(map.size() + 1), value.json,
                         value.line, value.expiry, value.expiry_line});
  }
  return collected;
}

void OrphanRecords::Drop(absl::string_view map) {
  auto map_it = by_map_.find(map);
  if (map_it == by_map_.end()) return;
  keys_ -= static_cast<int64_t>(map_it->second.size());
  by_map_.erase(map_it);
}

std::vector<std::pair<std::string, int64_t>> OrphanRecords::KeysByMap() const {
  std::vector<std::pair<std::string, int64_t>> keys;
  for (const auto& [map, records] : by_map_) {
    keys.emplace_back(map, static_cast<int64_t>(records.size()));
  }
  return keys;
}

void OrphanRecords::DropExpired(int64_t now) {
  for (auto map_it = by_map_.begin(); map_it != by_map_.end();) {
    auto& records = map_it->second;
    for (auto it = records.begin(); it != records.end();) {
      // Unreadable times are kept as they are: they are not ours to drop.
      absl::StatusOr<int64_t> expires = it->second.expiry.empty()
                                            ? absl::StatusOr<int64_t>(kNoExpiry)
                                            : ParseExpiry(it->second.expiry);
      if (expires.ok() && *expires != kNoExpiry && *expires <= now) {
        records.erase(it++);
        --keys_;
      } else {
        ++it;
      }
    }
    if (records.empty()) {
      by_map_.erase(map_it++);
    } else {
      ++map_it;
    }
  }
}

int64_t OrphanRecords::AppendTo(std::string* out) const {
  int64_t count = 0;
  for (const auto& [map, records] : by_map_) {
    for (const auto& [record_key, value] : records) {
      if (value.expiry.empty()) {
        AppendRecord(RecordKind::kSet, record_key, value.json, out);
        ++count;
        continue;
      }
      AppendBatchHeader(2, out);
      AppendRecord(RecordKind::kSet, record_key, value.json, out);
      AppendRecord(RecordKind::kExpire, record_key, value.expiry, out);
      ++count;
    }
  }
  return count;
}

}  // namespace persist
