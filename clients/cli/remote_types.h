// RemoteTypes: message types learnt from a server's reflection service
// (grpc.reflection.v1alpha), so that persistctl reads and writes any map as
// JSON without a compiled schema. Types are fetched when first needed, also
// those that google.protobuf.Any fields name, through pool().
//
// Thread-compatible: one thread at a time.
#ifndef PERSIST_CLIENTS_CLI_REMOTE_TYPES_H_
#define PERSIST_CLIENTS_CLI_REMOTE_TYPES_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "grpcpp/grpcpp.h"

namespace persist::cli {

class RemoteTypes {
 public:
  // `new_context` makes the context of each reflection stream (deadline,
  // token).
  RemoteTypes(
      std::shared_ptr<grpc::Channel> channel,
      std::function<std::unique_ptr<grpc::ClientContext>()> new_context);

  // The message type `full_name`, fetched with every file it needs. The
  // server's errors keep their gRPC codes (NotFound for an unknown type).
  absl::StatusOr<const google::protobuf::Descriptor*> Find(
      const std::string& full_name);

  // An empty message of `type` (a type Find returned).
  std::unique_ptr<google::protobuf::Message> New(
      const google::protobuf::Descriptor* type);

  // The server's types, fetched on lookup (for google.protobuf.Any fields).
  const google::protobuf::DescriptorPool* pool() const { return &pool_; }

 private:
  // What the pool falls back on: the files received, and, for a name not
  // among them, one more reflection request.
  class Database final : public google::protobuf::DescriptorDatabase {
   public:
    explicit Database(RemoteTypes* owner) : owner_(owner) {}
    bool FindFileByName(const std::string& name,
                        google::protobuf::FileDescriptorProto* out) override;
    bool FindFileContainingSymbol(
        const std::string& symbol,
        google::protobuf::FileDescriptorProto* out) override;
    bool FindFileContainingExtension(
        const std::string& containing_type, int number,
        google::protobuf::FileDescriptorProto* out) override;

   private:
    RemoteTypes* const owner_;
  };

  // Asks for the file of `symbol` (or the file named `file`), then for any
  // import not received yet.
  absl::Status Fetch(const std::string& symbol, const std::string& file);

  const std::shared_ptr<grpc::Channel> channel_;
  const std::function<std::unique_ptr<grpc::ClientContext>()> new_context_;
  google::protobuf::SimpleDescriptorDatabase files_;
  absl::flat_hash_set<std::string> file_names_;
  // Names the server does not know (asked once), and why the last fetch
  // failed.
  absl::flat_hash_set<std::string> unknown_;
  absl::Status last_failure_;
  Database database_{this};
  google::protobuf::DescriptorPool pool_{&database_};
  google::protobuf::DynamicMessageFactory factory_{&pool_};
};

}  // namespace persist::cli

#endif  // PERSIST_CLIENTS_CLI_REMOTE_TYPES_H_
