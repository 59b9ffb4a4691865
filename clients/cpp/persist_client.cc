#include "clients/cpp/persist_client.h"

#include <chrono>

namespace persist::client {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // The two enums share their numbers (both follow google.rpc.Code).
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

void Prepare(const CallOptions& options, grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
}

std::unique_ptr<Client> Client::Connect(const std::string& address) {
  return std::make_unique<Client>(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

Client::Client(const std::shared_ptr<grpc::ChannelInterface>& channel)
    : stub_(v1::Persist::NewStub(channel)) {}

Client::Client(std::unique_ptr<v1::Persist::StubInterface> stub)
    : stub_(std::move(stub)) {}

absl::StatusOr<v1::StatsResponse> Client::Stats(const CallOptions& options) {
  return Call(stub_.get(), &v1::Persist::StubInterface::Stats,
              v1::StatsRequest(), options);
}

absl::StatusOr<v1::ListMapsResponse> Client::ListMaps(
    const CallOptions& options) {
  return Call(stub_.get(), &v1::Persist::StubInterface::ListMaps,
              v1::ListMapsRequest(), options);
}

absl::Status Client::Flush(const CallOptions& options) {
  return Call(stub_.get(), &v1::Persist::StubInterface::Flush,
              v1::FlushRequest(), options)
      .status();
}

absl::StatusOr<v1::ShrinkResponse> Client::Shrink(const CallOptions& options) {
  return Call(stub_.get(), &v1::Persist::StubInterface::Shrink,
              v1::ShrinkRequest(), options);
}

}  // namespace persist::client
