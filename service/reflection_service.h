// ReflectionService: gRPC server reflection (grpc.reflection.v1alpha) over
// several descriptor pools, so that tools see the map types persistd loaded
// from the user's schema as well as its compiled-in API.
//
// persistctl uses it to turn JSON into a map's type and back without a
// compiled schema; grpcurl and other reflection clients work as well.
//
// Thread-safety: streams may run concurrently. The pools and the TokenAuth
// must outlive the service.
#ifndef PERSIST_SERVICE_REFLECTION_SERVICE_H_
#define PERSIST_SERVICE_REFLECTION_SERVICE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/descriptor.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "service/token_auth.h"

namespace persist::service {

class ReflectionService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // `pools` are searched in order: the schema's before the compiled-in one,
  // so that the user's definition of a type wins. `services` are the full
  // names list_services answers. With `auth`, a stream needs a token that
  // can read.
  ReflectionService(std::vector<const google::protobuf::DescriptorPool*> pools,
                    std::vector<std::string> services,
                    const TokenAuth* auth = nullptr);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  // The answer to one request. `sent` holds the files this stream has
  // already sent; file answers add to it.
  grpc::reflection::v1alpha::ServerReflectionResponse Answer(
      const grpc::reflection::v1alpha::ServerReflectionRequest& request,
      absl::flat_hash_set<std::string>* sent) const;

 private:
  // The file defining `symbol`, from the first pool that has it.
  const google::protobuf::FileDescriptor* FindFileContainingSymbol(
      const std::string& symbol) const;
  const google::protobuf::FileDescriptor* FindFileByName(
      const std::string& name) const;
  const google::protobuf::Descriptor* FindMessage(
      const std::string& full_name) const;

  const std::vector<const google::protobuf::DescriptorPool*> pools_;
  const std::vector<std::string> services_;
  const TokenAuth* const auth_;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_REFLECTION_SERVICE_H_
