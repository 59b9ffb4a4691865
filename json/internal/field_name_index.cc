#include "json/internal/field_name_index.h"

namespace persist {

const FieldNameIndex::Table* FieldNameIndex::TableFor(
    const google::protobuf::Descriptor* type) {
  {
    ReaderMutexLock lock(&mu_);
    auto it = tables_.find(type);
    if (it != tables_.end()) return it->second.get();
  }
  auto table = std::make_unique<Table>();
  for (int i = 0; i < type->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = type->field(i);
    // The original name first: if another field's json_name collides with
    // it, protoc has already refused the file, so either order is safe.
    table->emplace(field->name(), field);
    table->emplace(field->json_name(), field);
  }
  MutexLock lock(&mu_);
  auto [it, inserted] = tables_.emplace(type, std::move(table));
  return it->second.get();
}

}  // namespace persist
