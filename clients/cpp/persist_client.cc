#include "clients/cpp/persist_client.h"

#include <chrono>
#include <fstream>
#include <sstream>

namespace persist::client {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // The two enums share their numbers (both follow google.rpc.Code).
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

void Prepare(const Connection& connection, const CallOptions& options,
             grpc::ClientContext* context) {
  if (options.deadline != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
  }
  if (!connection.token.empty()) {
    context->AddMetadata("authorization",
                         absl::StrCat("Bearer ", connection.token));
  }
}

namespace {

absl::StatusOr<std::string> ReadPem(absl::string_view what,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", what, " ", path));
  }
  if (bytes.str().empty()) {
    // gRPC would trust the system's public roots instead of an empty CA.
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is empty"));
  }
  return bytes.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ConnectOptions& options) {
  if (options.tls_ca_file.empty()) {
    if (!options.tls_cert_file.empty() || !options.tls_key_file.empty() ||
        !options.tls_server_name.empty()) {
      return absl::InvalidArgumentError(
          "a client certificate, its key or a TLS server name need the CA "
          "file that signed persistd's certificate: without it the channel "
          "is plaintext");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "give the client certificate for mutual TLS and its private key "
        "together");
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadPem("the CA", options.tls_ca_file);
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *std::move(ca);
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPem("the client certificate", options.tls_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key =
        ReadPem("the client key", options.tls_key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

std::unique_ptr<Client> Client::Connect(const std::string& address) {
  return *Connect(address, ConnectOptions());
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(
    const std::string& address, const ConnectOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      Credentials(options);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  if (!options.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(options.tls_server_name);
  }
  return grpc::CreateCustomChannel(address, *credentials, arguments);
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const std::string& address, const ConnectOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      OpenChannel(address, options);
  if (!channel.ok()) return channel.status();
  return std::make_unique<Client>(*channel, options.token);
}

Client::Client(const std::shared_ptr<grpc::ChannelInterface>& channel,
               std::string token)
    : connection_{v1::Persist::NewStub(channel), std::move(token)} {}

Client::Client(std::unique_ptr<v1::Persist::StubInterface> stub,
               std::string token)
    : connection_{std::move(stub), std::move(token)} {}

absl::StatusOr<v1::StatsResponse> Client::Stats(const CallOptions& options) {
  return Call(connection_, &v1::Persist::StubInterface::Stats,
              v1::StatsRequest(), options);
}

absl::StatusOr<v1::ListMapsResponse> Client::ListMaps(
    const CallOptions& options) {
  return Call(connection_, &v1::Persist::StubInterface::ListMaps,
              v1::ListMapsRequest(), options);
}

absl::Status Client::Flush(const CallOptions& options) {
  return Call(connection_, &v1::Persist::StubInterface::Flush,
              v1::FlushRequest(), options)
      .status();
}

absl::StatusOr<v1::ShrinkResponse> Client::Shrink(const CallOptions& options) {
  return Call(connection_, &v1::Persist::StubInterface::Shrink,
              v1::ShrinkRequest(), options);
}

}  // namespace persist::client
