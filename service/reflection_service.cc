#include "service/reflection_service.h"

#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "service/grpc_status.h"

namespace persist::service {
namespace {

using google::protobuf::Descriptor;
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

// A message of one version as the same message of the other: their bytes
// are the same.
template <typename To, typename From>
To Convert(const From& from) {
  if constexpr (std::is_same_v<To, From>) {
    return from;
  } else {
    To to;
    to.ParseFromString(from.SerializeAsString());
    return to;
  }
}

// Answers requests one at a time, in order: read, answer, write, read...
template <typename Request, typename Response>
class Stream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit Stream(const ReflectionService* service) : service_(service) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // The client closed its side: done.
      this->Finish(grpc::Status::OK);
      return;
    }
    response_ = Convert<Response>(
        service_->Answer(Convert<ServerReflectionRequest>(request_), &sent_));
    this->StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(
          grpc::Status(grpc::StatusCode::CANCELLED,
                       "the client went away during a reflection answer"));
      return;
    }
    this->StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const ReflectionService* const service_;
  Request request_;
  Response response_;
  absl::flat_hash_set<std::string> sent_;
};

template <typename Request, typename Response>
class Refused final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit Refused(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

ReflectionService::ReflectionService(
    const std::vector<const FileDescriptor*>& files,
    std::vector<std::string> services, const TokenAuth* auth)
    : services_(std::move(services)), auth_(auth) {
  for (const FileDescriptor* file : files) Index(file);
}

void ReflectionService::Index(const FileDescriptor* file) {
  if (!files_by_name_.emplace(file->name(), file).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    Index(file->dependency(i));
  }
  const auto add = [&](const std::string& symbol) {
    files_by_symbol_.emplace(symbol, file);
  };
  for (int i = 0; i < file->message_type_count(); ++i) {
    IndexMessage(file->message_type(i), file);
  }
  for (int i = 0; i < file->enum_type_count(); ++i) {
    add(file->enum_type(i)->full_name());
    for (int v = 0; v < file->enum_type(i)->value_count(); ++v) {
      add(file->enum_type(i)->value(v)->full_name());
    }
  }
  for (int i = 0; i < file->service_count(); ++i) {
    add(file->service(i)->full_name());
    for (int m = 0; m < file->service(i)->method_count(); ++m) {
      add(file->service(i)->method(m)->full_name());
    }
  }
  for (int i = 0; i < file->extension_count(); ++i) {
    add(file->extension(i)->full_name());
    extensions_[file->extension(i)->containing_type()->full_name()].push_back(
        file->extension(i));
  }
}

void ReflectionService::IndexMessage(const Descriptor* type,
                                     const FileDescriptor* file) {
  files_by_symbol_.emplace(type->full_name(), file);
  messages_.emplace(type->full_name(), type);
  for (int i = 0; i < type->field_count(); ++i) {
    files_by_symbol_.emplace(type->field(i)->full_name(), file);
  }
  for (int i = 0; i < type->nested_type_count(); ++i) {
    IndexMessage(type->nested_type(i), file);
  }
  for (int i = 0; i < type->enum_type_count(); ++i) {
    files_by_symbol_.emplace(type->enum_type(i)->full_name(), file);
  }
  for (int i = 0; i < type->extension_count(); ++i) {
    files_by_symbol_.emplace(type->extension(i)->full_name(), file);
    extensions_[type->extension(i)->containing_type()->full_name()].push_back(
        type->extension(i));
  }
}

absl::Status ReflectionService::Check(
    const grpc::CallbackServerContext& context) const {
  if (auth_ == nullptr) return absl::OkStatus();
  return auth_->Check(context, /*write=*/false);
}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext* context) {
  if (absl::Status status = Check(*context); !status.ok()) {
    return new Refused<ServerReflectionRequest, ServerReflectionResponse>(
        ToGrpcStatus(status));
  }
  return new Stream<ServerReflectionRequest, ServerReflectionResponse>(this);
}

grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                        grpc::reflection::v1::ServerReflectionResponse>*
ReflectionServiceV1::ServerReflectionInfo(
    grpc::CallbackServerContext* context) {
  using Request = grpc::reflection::v1::ServerReflectionRequest;
  using Response = grpc::reflection::v1::ServerReflectionResponse;
  if (absl::Status status = answers_.Check(*context); !status.ok()) {
    return new Refused<Request, Response>(ToGrpcStatus(status));
  }
  return new Stream<Request, Response>(&answers_);
}

ServerReflectionResponse ReflectionService::Answer(
    const ServerReflectionRequest& request,
    absl::flat_hash_set<std::string>* sent) const {
  ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kFileByFilename: {
      const auto it = files_by_name_.find(request.file_by_filename());
      if (it == files_by_name_.end()) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no file \"", request.file_by_filename(),
                              "\" in persistd's schema"),
                 &response);
        break;
      }
      // A file asked for by name is sent again, even if sent before.
      sent->erase(it->first);
      AddFile(it->second, sent, &response);
      break;
    }
    case ServerReflectionRequest::kFileContainingSymbol: {
      const auto it = files_by_symbol_.find(request.file_containing_symbol());
      if (it == files_by_symbol_.end()) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no symbol \"", request.file_containing_symbol(),
                              "\" in persistd's schema or API; names are "
                              "full, as in \"example.v1.User\""),
                 &response);
        break;
      }
      sent->erase(it->second->name());
      AddFile(it->second, sent, &response);
      break;
    }
    case ServerReflectionRequest::kFileContainingExtension: {
      const auto& wanted = request.file_containing_extension();
      const FieldDescriptor* extension = nullptr;
      if (const auto it = extensions_.find(wanted.containing_type());
          it != extensions_.end()) {
        for (const FieldDescriptor* candidate : it->second) {
          if (candidate->number() == wanted.extension_number()) {
            extension = candidate;
          }
        }
      }
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
      const auto type = messages_.find(request.all_extension_numbers_of_type());
      if (type == messages_.end()) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("no message type \"",
                              request.all_extension_numbers_of_type(), "\""),
                 &response);
        break;
      }
      auto* numbers = response.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->first);
      if (const auto it = extensions_.find(type->first);
          it != extensions_.end()) {
        for (const FieldDescriptor* extension : it->second) {
          numbers->add_extension_number(extension->number());
        }
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
