// ReflectionService: gRPC server reflection (grpc.reflection.v1alpha, and
// grpc.reflection.v1 through ReflectionServiceV1, which newer tools ask
// first) of a fixed set of files: persistd's API and the user's schema, so that
// tools see the map types persistd loaded at start-up as well as its
// compiled-in services.
//
// persistctl uses it to turn JSON into a map's type and back without a
// compiled schema; grpcurl and other reflection clients work as well.
//
// Answers come from an index built once, of the given files and everything
// they import: a request never makes a descriptor pool look further (a
// schema loaded from .proto files would read the disk, and every pool
// remembers each name it failed to find, so that unknown names sent by
// clients would grow its memory).
//
// Thread-safety: streams may run concurrently. The files and the TokenAuth
// must outlive the service.
#ifndef PERSIST_SERVICE_REFLECTION_SERVICE_H_
#define PERSIST_SERVICE_REFLECTION_SERVICE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "google/protobuf/descriptor.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "service/token_auth.h"

namespace persist::service {

class ReflectionService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // Serves `files` and their imports; where two files define the same name,
  // the first given wins (give the schema's before the compiled-in ones).
  // `services` are the full names list_services answers. With `auth`, a
  // stream needs a token that can read.
  ReflectionService(
      const std::vector<const google::protobuf::FileDescriptor*>& files,
      std::vector<std::string> services, const TokenAuth* auth = nullptr);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  // The answer to one request. `sent` holds the files this stream has
  // already sent; file answers add to it.
  grpc::reflection::v1alpha::ServerReflectionResponse Answer(
      const grpc::reflection::v1alpha::ServerReflectionRequest& request,
      absl::flat_hash_set<std::string>* sent) const;

  // Unauthenticated or PermissionDenied if the call may not reflect.
  absl::Status Check(const grpc::CallbackServerContext& context) const;

 private:
  void Index(const google::protobuf::FileDescriptor* file);
  void IndexMessage(const google::protobuf::Descriptor* type,
                    const google::protobuf::FileDescriptor* file);

  const std::vector<std::string> services_;
  const TokenAuth* const auth_;
  absl::flat_hash_map<std::string, const google::protobuf::FileDescriptor*>
      files_by_name_;
  // Full names of messages, enums, enum values, services, methods, fields
  // and extensions.
  absl::flat_hash_map<std::string, const google::protobuf::FileDescriptor*>
      files_by_symbol_;
  absl::flat_hash_map<std::string, const google::protobuf::Descriptor*>
      messages_;
  // Extensions by the full name of the message they extend.
  absl::flat_hash_map<std::string,
                      std::vector<const google::protobuf::FieldDescriptor*>>
      extensions_;
};

// grpc.reflection.v1, answered by a ReflectionService (which must outlive
// it): v1's messages are v1alpha's, field for field, so each request and
// answer crosses over as its bytes.
class ReflectionServiceV1 final
    : public grpc::reflection::v1::ServerReflection::CallbackService {
 public:
  explicit ReflectionServiceV1(const ReflectionService& answers)
      : answers_(answers) {}

  grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                          grpc::reflection::v1::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

 private:
  const ReflectionService& answers_;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_REFLECTION_SERVICE_H_
