// FieldNameIndex: finds a message's field by the name a JSON object uses for
// it, its json_name or its original proto name (internal to the codec).
//
// Protobuf 3.21 has no lookup by json_name, and its lookups by name take a
// std::string, which would allocate for every long key read. The index
// builds, once per message type, a table keyed by views of the descriptor's
// own strings.
//
// Thread-safety: safe for concurrent use. Tables are built under a mutex and
// never change or move afterwards, so a table pointer may be used without
// the lock. Every Descriptor given must outlive the index.
#ifndef PERSIST_JSON_INTERNAL_FIELD_NAME_INDEX_H_
#define PERSIST_JSON_INTERNAL_FIELD_NAME_INDEX_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "google/protobuf/descriptor.h"

namespace persist {

class FieldNameIndex {
 public:
  using Table = absl::flat_hash_map<absl::string_view,
                                    const google::protobuf::FieldDescriptor*>;

  FieldNameIndex() = default;
  FieldNameIndex(const FieldNameIndex&) = delete;
  FieldNameIndex& operator=(const FieldNameIndex&) = delete;

  // The names of `type`'s fields (extensions excluded). Never null.
  const Table* TableFor(const google::protobuf::Descriptor* type);

 private:
  Mutex mu_;
  absl::flat_hash_map<const google::protobuf::Descriptor*,
                      std::unique_ptr<const Table>>
      tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace persist

#endif  // PERSIST_JSON_INTERNAL_FIELD_NAME_INDEX_H_
