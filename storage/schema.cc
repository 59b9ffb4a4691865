#include "storage/schema.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/compiler/importer.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"

namespace persist {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptorProto;
using google::protobuf::FileDescriptorSet;

// Collects the importer's and the pool's errors as "file:line:col: text".
class ErrorList final
    : public google::protobuf::compiler::MultiFileErrorCollector,
      public DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    errors_.push_back(
        absl::StrCat(filename, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message*, ErrorLocation,
                const std::string& message) override {
    errors_.push_back(
        absl::StrCat(filename, ": ", element_name, ": ", message));
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }
  bool empty() const { return errors_.empty(); }

 private:
  std::vector<std::string> errors_;
};

}  // namespace

struct Schema::Parts {
  // Descriptor-set schemas: the set's files over the generated pool (for
  // the well-known types).
  google::protobuf::SimpleDescriptorDatabase set_files;
  std::unique_ptr<google::protobuf::DescriptorPoolDatabase> generated;
  std::unique_ptr<google::protobuf::MergedDescriptorDatabase> merged;
  // .proto schemas: libprotoc's importer owns its pool.
  std::unique_ptr<google::protobuf::compiler::DiskSourceTree> source_tree;
  std::unique_ptr<ErrorList> import_errors;
  std::unique_ptr<google::protobuf::compiler::Importer> importer;

  std::unique_ptr<DescriptorPool> own_pool;
  const DescriptorPool* pool = nullptr;
  std::vector<std::string> files;
};

Schema::Schema(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Schema::~Schema() = default;

const DescriptorPool* Schema::pool() const { return parts_->pool; }

std::vector<const google::protobuf::FileDescriptor*> Schema::files() const {
  std::vector<const google::protobuf::FileDescriptor*> files;
  for (const std::string& name : parts_->files) {
    // Built when the schema loaded, so this finds them without loading.
    if (const auto* file = parts_->pool->FindFileByName(name)) {
      files.push_back(file);
    }
  }
  return files;
}

absl::StatusOr<std::unique_ptr<Schema>> Schema::FromDescriptorSet(
    absl::string_view serialized, absl::string_view source) {
  FileDescriptorSet set;
  if (!set.ParseFromArray(serialized.data(),
                          static_cast<int>(serialized.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        source,
        " is not a serialized FileDescriptorSet; make one with protoc "
        "--include_imports --descriptor_set_out=<file> <your .proto files>"));
  }
  auto parts = std::make_unique<Parts>();
  for (const FileDescriptorProto& file : set.file()) {
    // The generated pool already has the well-known types.
    if (DescriptorPool::generated_pool()->FindFileByName(file.name()) !=
        nullptr) {
      continue;
    }
    if (!parts->set_files.Add(file)) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": file ", file.name(),
                       " appears twice with different "
                       "contents"));
    }
    parts->files.push_back(file.name());
  }
  parts->generated = std::make_unique<google::protobuf::DescriptorPoolDatabase>(
      *DescriptorPool::generated_pool());
  parts->merged = std::make_unique<google::protobuf::MergedDescriptorDatabase>(
      &parts->set_files, parts->generated.get());
  parts->own_pool = std::make_unique<DescriptorPool>(parts->merged.get());
  parts->pool = parts->own_pool.get();
  // Build every file now, so that a missing import is reported here.
  for (const std::string& name : parts->files) {
    if (parts->pool->FindFileByName(name) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": ", name,
          " does not build (an import missing from the set, or a type it "
          "names is undefined); make the set with protoc --include_imports"));
    }
  }
  return std::unique_ptr<Schema>(new Schema(std::move(parts)));
}

absl::StatusOr<std::unique_ptr<Schema>> Schema::FromDescriptorSetFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the descriptor set ", path));
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return FromDescriptorSet(bytes.str(), path);
}

absl::StatusOr<std::unique_ptr<Schema>> Schema::FromProtoFiles(
    const std::vector<std::string>& files,
    const std::vector<std::string>& include_paths) {
  auto parts = std::make_unique<Parts>();
  parts->source_tree =
      std::make_unique<google::protobuf::compiler::DiskSourceTree>();
  for (const std::string& path : include_paths) {
    parts->source_tree->MapPath("", path);
  }
#ifdef PERSIST_PROTOBUF_INCLUDE_DIR
  // Last: where google/protobuf/*.proto live, for imports of the
  // well-known types.
  parts->source_tree->MapPath("", PERSIST_PROTOBUF_INCLUDE_DIR);
#endif
  parts->import_errors = std::make_unique<ErrorList>();
  parts->importer = std::make_unique<google::protobuf::compiler::Importer>(
      parts->source_tree.get(), parts->import_errors.get());
  for (const std::string& file : files) {
    if (parts->importer->Import(file) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot load ", file,
          " (include paths: ", absl::StrJoin(include_paths, ", "), "): ",
          parts->import_errors->empty() ? "file not found"
                                        : parts->import_errors->Joined()));
    }
    parts->files.push_back(file);
  }
  parts->pool = parts->importer->pool();
  return std::unique_ptr<Schema>(new Schema(std::move(parts)));
}

absl::StatusOr<const google::protobuf::Descriptor*> Schema::FindMessage(
    absl::string_view full_name) const {
  const google::protobuf::Descriptor* descriptor =
      parts_->pool->FindMessageTypeByName(std::string(full_name));
  if (descriptor == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no message type ", full_name, " in ",
        absl::StrJoin(parts_->files, ", "),
        "; use the full name with its package (for example example.v1.User)"));
  }
  return descriptor;
}

}  // namespace persist
