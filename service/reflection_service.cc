#include "service/reflection_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "service/grpc_status.h"

namespace persist::service {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

void SetError(grpc::StatusCode code, std::string message,
              ServerReflectionResponse* response) {
  response->mutable_error_response()->set_error_code(code);
  response->mutable_error_response()->set_error_message(std::move(message));
}

// `file`, then its transitive imports, skipping those already `sent`.
void AddFile(const FileDescriptor* file, absl::flat_hash_set<std::string>* sent,
             ServerReflectionResponse* response) {
  if (!sent->insert(file->name()).second) return;
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(response->mutable_file_descriptor_response()
                              ->add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFile(file->dependency(i), sent, response);
  }
}

// Answers requests one at a time, in order: read, answer, write, read...
class Stream final : public grpc::ServerBidiReactor<ServerReflectionRequest,
                                                    ServerReflectionResponse> {
 public:
  explicit Stream(const ReflectionService* service) : service_(service) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // The client closed its side: done.
      Finish(grpc::Status::OK);
      return;
    }
    response_ = service_->Answer(request_, &sent_);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          "the client went away during a reflection answer"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const ReflectionService* const service_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
  absl::flat_hash_set<std::string> sent_;
};

class Refused final : public grpc::ServerBidiReactor<ServerReflectionRequest,
                                                     ServerReflectionResponse> {
 public:
  explicit Refused(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

ReflectionService::ReflectionService(std::vector<const DescriptorPool*> pools,
                                     std::vector<std::string> services,
                                     const TokenAuth* auth)
    : pools_(std::move(pools)), services_(std::move(services)), auth_(auth) {}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext* context) {
  if (auth_ != nullptr) {
    if (absl::Status status = auth_->Check(*context, /*write=*/false);
        !status.ok()) {
      return new Refused(ToGrpcStatus(status));
    }
  }
  return new Stream(this);
}

const FileDescriptor* ReflectionService::FindFileContainingSymbol(
    const std::string& symbol) const {
  for (const DescriptorPool* pool : pools_) {
    if (const FileDescriptor* file = pool->FindFileContainingSymbol(symbol)) {
      return file;
    }
  }
  return nullptr;
}

const FileDescriptor* ReflectionService::FindFileByName(
    const std::string& name) const {
  for (const DescriptorPool* pool : pools_) {
    if (const FileDescriptor* file = pool->FindFileByName(name)) return file;
  }
  return nullptr;
}

const Descriptor* ReflectionService::FindMessage(
    const std::string& full_name) const {
  for (const DescriptorPool* pool : pools_) {
    if (const Descriptor* type = pool->FindMessageTypeByName(full_name)) {
      return type;
    }
  }
  return nullptr;
}

ServerReflectionResponse ReflectionService::Answer(
    const ServerReflectionRequest& request,
    absl::flat_hash_set<std::string>* sent) const {
  ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename: {
      const FileDescriptor* file = FindFileByName(request.file_by_filename());
      if (file == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no file \"", request.file_by_filename(),
                              "\" in persistd's schema"),
                 &response);
        break;
      }
      // A file asked for by name is sent again, even if sent before.
      sent->erase(file->name());
      AddFile(file, sent, &response);
      break;
    }
    case ServerReflectionRequest::kFileContainingSymbol: {
      const FileDescriptor* file =
          FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no symbol \"", request.file_containing_symbol(),
                              "\" in persistd's schema or API; names are "
                              "full, as in \"example.v1.User\""),
                 &response);
        break;
      }
      sent->erase(file->name());
      AddFile(file, sent, &response);
      break;
    }
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& wanted = request.file_containing_extension();
      const Descriptor* type = FindMessage(wanted.containing_type());
      const FieldDescriptor* extension =
          type == nullptr ? nullptr
                          : type->file()->pool()->FindExtensionByNumber(
                                type, wanted.extension_number());
      if (extension == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no extension ", wanted.extension_number(),
                              " of \"", wanted.containing_type(), "\""),
                 &response);
        break;
      }
      sent->erase(extension->file()->name());
      AddFile(extension->file(), sent, &response);
      break;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const Descriptor* type =
          FindMessage(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no message type \"",
                              request.all_extension_numbers_of_type(), "\""),
                 &response);
        break;
      }
      std::vector<const FieldDescriptor*> extensions;
      type->file()->pool()->FindAllExtensions(type, &extensions);
      auto* numbers = response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const FieldDescriptor* extension : extensions) {
        numbers->add_extension_number(extension->number());
      }
      break;
    }
    case ServerReflectionRequest::kListServices: {
      auto* list = response.mutable_list_services_response();
      for (const std::string& name : services_) {
        list->add_service()->set_name(name);
      }
      break;
    }
    case ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      SetError(grpc::StatusCode::INVALID_ARGUMENT,
               "the reflection request names nothing to look up (set one "
               "of file_by_filename, file_containing_symbol, "
               "file_containing_extension, all_extension_numbers_of_type, "
               "list_services)",
               &response);
      break;
  }
  return response;
}

}  // namespace persist::service
