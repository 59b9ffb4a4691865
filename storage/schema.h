// Schema: message types known only at run time, for DynamicMap.
//
// Loaded from a serialized FileDescriptorSet (`protoc --include_imports
// --descriptor_set_out=...`) or from .proto files parsed with libprotoc's
// importer. Imports of the well-known types (google/protobuf/*.proto)
// resolve even when the set or the include paths lack them.
//
// Errors name the file, line and column (for .proto files) or the missing
// type or import, and say what to do.
//
// Thread-safety: const methods may be called concurrently. Descriptors live
// as long as the Schema.
#ifndef PERSIST_STORAGE_SCHEMA_H_
#define PERSIST_STORAGE_SCHEMA_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace persist {

class Schema {
 public:
  // `source` names the bytes in messages (a path, usually).
  static absl::StatusOr<std::unique_ptr<Schema>> FromDescriptorSet(
      absl::string_view serialized, absl::string_view source);
  static absl::StatusOr<std::unique_ptr<Schema>> FromDescriptorSetFile(
      const std::string& path);
  // `files` are relative to one of `include_paths` (as protoc's -I).
  static absl::StatusOr<std::unique_ptr<Schema>> FromProtoFiles(
      const std::vector<std::string>& files,
      const std::vector<std::string>& include_paths);

  ~Schema();
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  // NotFound naming the type and the files that were loaded.
  absl::StatusOr<const google::protobuf::Descriptor*> FindMessage(
      absl::string_view full_name) const;

  // Resolves google.protobuf.Any types (StoreOptions::any_type_pool).
  const google::protobuf::DescriptorPool* pool() const;

  // The files the schema was loaded from (their imports not included).
  std::vector<const google::protobuf::FileDescriptor*> files() const;

 private:
  struct Parts;
  explicit Schema(std::unique_ptr<Parts> parts);
  const std::unique_ptr<Parts> parts_;
};

}  // namespace persist

#endif  // PERSIST_STORAGE_SCHEMA_H_
