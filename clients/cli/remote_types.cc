#include "clients/cli/remote_types.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace persist::cli {
namespace {

using grpc::reflection::v1alpha::ServerReflection;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

}  // namespace

RemoteTypes::RemoteTypes(
    std::shared_ptr<grpc::Channel> channel,
    std::function<std::unique_ptr<grpc::ClientContext>()> new_context)
    : channel_(std::move(channel)), new_context_(std::move(new_context)) {}

absl::StatusOr<const google::protobuf::Descriptor*> RemoteTypes::Find(
    const std::string& full_name) {
  last_failure_ = absl::OkStatus();
  if (const auto* type = pool_.FindMessageTypeByName(full_name)) return type;
  if (!last_failure_.ok()) return last_failure_;
  return absl::NotFoundError(
      absl::StrCat("the server's reflection sent no message type \"", full_name,
                   "\" (or files that do not build)"));
}

bool RemoteTypes::Database::FindFileByName(
    const std::string& name, google::protobuf::FileDescriptorProto* out) {
  if (owner_->files_.FindFileByName(name, out)) return true;
  if (!owner_->Fetch("", name).ok()) return false;
  return owner_->files_.FindFileByName(name, out);
}

bool RemoteTypes::Database::FindFileContainingSymbol(
    const std::string& symbol, google::protobuf::FileDescriptorProto* out) {
  if (owner_->files_.FindFileContainingSymbol(symbol, out)) return true;
  if (!owner_->Fetch(symbol, "").ok()) return false;
  return owner_->files_.FindFileContainingSymbol(symbol, out);
}

bool RemoteTypes::Database::FindFileContainingExtension(
    const std::string& containing_type, int number,
    google::protobuf::FileDescriptorProto* out) {
  return owner_->files_.FindFileContainingExtension(containing_type, number,
                                                    out);
}

std::unique_ptr<google::protobuf::Message> RemoteTypes::New(
    const google::protobuf::Descriptor* type) {
  return std::unique_ptr<google::protobuf::Message>(
      factory_.GetPrototype(type)->New());
}

absl::Status RemoteTypes::Fetch(const std::string& symbol,
                                const std::string& file) {
  const std::string& name = symbol.empty() ? file : symbol;
  if (!unknown_.insert(name).second) return last_failure_;
  std::unique_ptr<grpc::ClientContext> context = new_context_();
  auto stub = ServerReflection::NewStub(channel_);
  auto stream = stub->ServerReflectionInfo(context.get());
  ServerReflectionRequest request;
  if (symbol.empty()) {
    request.set_file_by_filename(file);
  } else {
    request.set_file_containing_symbol(symbol);
  }
  std::vector<std::string> missing;  // imports not received yet
  absl::Status failure;
  while (failure.ok()) {
    ServerReflectionResponse response;
    if (!stream->Write(request) || !stream->Read(&response)) break;
    if (response.has_error_response()) {
      failure = absl::Status(
          static_cast<absl::StatusCode>(response.error_response().error_code()),
          absl::StrCat("reflection: ",
                       response.error_response().error_message()));
      break;
    }
    for (const std::string& bytes :
         response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) {
        failure = absl::DataLossError(
            "the server's reflection sent a file descriptor that does not "
            "parse");
        break;
      }
      if (!file_names_.insert(file.name()).second) continue;
      files_.Add(file);
      for (const std::string& import : file.dependency()) {
        missing.push_back(import);
      }
    }
    while (!missing.empty() && file_names_.contains(missing.back())) {
      missing.pop_back();
    }
    if (missing.empty()) break;
    request.set_file_by_filename(missing.back());
    missing.pop_back();
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (failure.ok() && !status.ok()) {
    failure = absl::Status(
        static_cast<absl::StatusCode>(status.error_code()),
        absl::StrCat("persistd's reflection service "
                     "(grpc.reflection.v1alpha), which persistctl needs to "
                     "learn the map's type, failed: ",
                     status.error_message().empty() ? "no message"
                                                    : status.error_message()));
  }
  if (failure.ok()) unknown_.erase(name);
  last_failure_ = failure;
  return failure;
}

}  // namespace persist::cli
