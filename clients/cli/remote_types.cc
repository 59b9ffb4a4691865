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

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace

RemoteTypes::RemoteTypes(
    std::shared_ptr<grpc::Channel> channel,
    std::function<std::unique_ptr<grpc::ClientContext>()> new_context)
    : channel_(std::move(channel)), new_context_(std::move(new_context)) {}

absl::StatusOr<const google::protobuf::Descriptor*> RemoteTypes::Find(
    const std::string& full_name) {
  if (const auto* type = pool_.FindMessageTypeByName(full_name)) return type;
  if (absl::Status fetched = Fetch(full_name); !fetched.ok()) return fetched;
  const auto* type = pool_.FindMessageTypeByName(full_name);
  if (type == nullptr) {
    return absl::InternalError(absl::StrCat(
        "the server's reflection sent files for \"", full_name,
        "\" that do not define it as a message type, or that do not build"));
  }
  return type;
}

std::unique_ptr<google::protobuf::Message> RemoteTypes::New(
    const google::protobuf::Descriptor* type) {
  return std::unique_ptr<google::protobuf::Message>(
      factory_.GetPrototype(type)->New());
}

absl::Status RemoteTypes::Fetch(const std::string& symbol) {
  std::unique_ptr<grpc::ClientContext> context = new_context_();
  auto stub = ServerReflection::NewStub(channel_);
  auto stream = stub->ServerReflectionInfo(context.get());
  ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
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
  if (!failure.ok()) return failure;
  if (!status.ok()) return FromGrpc(status);
  return absl::OkStatus();
}

}  // namespace persist::cli
