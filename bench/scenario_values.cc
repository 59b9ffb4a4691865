// ScenarioValues, ScenarioKey, DirectoryBytes and Row's default Prefill.
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/kv_rows.h"
#include "google/protobuf/struct.pb.h"
#include "persist/bench/v1/records.pb.h"

namespace persist::bench {
namespace {

// go-persist's benchmark values: its struct's field2 before and after the
// prefill, and its string, which writes append " updated" to.
constexpr absl::string_view kStruct = "example struct";
constexpr absl::string_view kStructUpdated = "updated struct";
constexpr absl::string_view kString =
    "gq2ip4;9209;4fm2d1d3DJ138D2L38\t2FP2938FP238HFP2H  FDAUWF1\t2";

}  // namespace

const google::protobuf::Descriptor* ScenarioValues::type() const {
  return strings_ ? google::protobuf::Value::descriptor()
                  : persist::bench::v1::SmallRecord::descriptor();
}

std::shared_ptr<const google::protobuf::Message> ScenarioValues::Make(
    int64_t i, bool updated) const {
  if (strings_) {
    auto value = std::make_shared<google::protobuf::Value>();
    value->set_string_value(updated ? absl::StrCat(kString, " updated")
                                    : std::string(kString));
    return value;
  }
  auto record = std::make_shared<persist::bench::v1::SmallRecord>();
  record->set_field1(i);
  record->set_field2(std::string(updated ? kStructUpdated : kStruct));
  return record;
}

std::string ScenarioValues::Serialize(int64_t i, bool updated) const {
  return Make(i, updated)->SerializeAsString();
}

bool ScenarioValues::Parse(absl::string_view bytes) const {
  thread_local google::protobuf::Value value;
  thread_local persist::bench::v1::SmallRecord record;
  google::protobuf::Message& message =
      strings_ ? static_cast<google::protobuf::Message&>(value) : record;
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

std::string ScenarioKey(int64_t i) { return absl::StrCat(i); }

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir, error)) {
    if (entry.is_regular_file(error)) bytes += entry.file_size(error);
  }
  return bytes;
}

absl::Status Row::Prefill(int64_t keys) {
  for (int64_t i = 0; i < keys; ++i) {
    if (absl::Status s = Put(ScenarioKey(i), i, false); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace persist::bench
