#include "service/server_setup.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "grpcpp/security/server_credentials.h"
#include "service/host_port.h"
#include "service/server_config.h"
#include "storage/batch.h"

namespace persist::service {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the ", what, " ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::Tls& tls) {
  if (tls.cert_file().empty() && tls.key_file().empty()) {
    if (!tls.client_ca_file().empty()) {
      return absl::InvalidArgumentError(
          "tls.client_ca_file needs tls.cert_file and tls.key_file too");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert_file().empty() || tls.key_file().empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both tls.cert_file and tls.key_file (PEM)");
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  PERSIST_ASSIGN_OR_RETURN(pair.private_key,
                           ReadPem(tls.key_file(), "TLS key"));
  PERSIST_ASSIGN_OR_RETURN(pair.cert_chain,
                           ReadPem(tls.cert_file(), "TLS certificate"));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file().empty()) {
    PERSIST_ASSIGN_OR_RETURN(options.pem_root_certs,
                             ReadPem(tls.client_ca_file(), "client CA"));
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::Status CheckAddresses(const v1::ServerConfig& config) {
  struct Address {
    const char* setting;
    const std::string& value;
    int port = 0;
  };
  Address addresses[] = {
      {"listen (--listen)", config.listen()},
      {"metricsListen (--metrics_listen)", config.metrics_listen()},
      {"healthListen (--health_listen)", config.health_listen()}};
  for (Address& address : addresses) {
    if (address.value.empty()) continue;
    absl::StatusOr<HostAndPort> split = SplitHostPort(address.value);
    if (!split.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(address.setting, ": ", split.status().message()));
    }
    address.port = split->port;
  }
  for (const Address& a : addresses) {
    for (const Address& b : addresses) {
      if (&a < &b && a.port != 0 && a.port == b.port) {
        return absl::InvalidArgumentError(
            absl::StrCat(a.setting, " and ", b.setting, " both use port ",
                         a.port, "; give each its own port"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ServiceOptions> MakeServiceOptions(
    const v1::ServerConfig& config) {
  ServiceOptions options;
  switch (config.default_durability()) {
    case v1::MEMORY:
      options.default_durability = Durability::kMemory;
      break;
    case v1::ASYNC:
      options.default_durability = Durability::kAsync;
      break;
    case v1::FSYNC:
      options.default_durability = Durability::kFsync;
      break;
    case v1::WRITE:
    case v1::DURABILITY_UNSPECIFIED:
      options.default_durability = Durability::kWrite;
      break;
    default:
      return absl::InvalidArgumentError("unknown default_durability");
  }
  if (config.limits().max_page_size() < 0 ||
      config.limits().max_message_bytes() < 0 ||
      config.limits().max_batch_operations() < 0) {
    return absl::InvalidArgumentError(
        "limits.max_page_size, limits.max_message_bytes and "
        "limits.max_batch_operations must not be negative (0 means the "
        "default)");
  }
  if (config.limits().max_batch_operations() > kMaxBatchOperations) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limits.max_batch_operations may be at most ", kMaxBatchOperations,
        " (the largest batch the data file format allows)"));
  }
  if (config.limits().max_batch_operations() > 0) {
    options.max_batch_operations = config.limits().max_batch_operations();
  }
  if (config.limits().max_message_bytes() > 0) {
    options.max_message_bytes = config.limits().max_message_bytes();
  }
  if (config.limits().max_page_size() > 0) {
    options.max_page_size = config.limits().max_page_size();
    options.default_page_size =
        std::min(options.default_page_size, options.max_page_size);
  }
  const v1::Watch& watch = config.watch();
  options.watch.max_lag =
      std::max<uint64_t>(1, WatchHistoryChanges(config) / 2);
  if (watch.has_progress_interval()) {
    const auto& interval = watch.progress_interval();
    if (interval.seconds() < 0 || interval.nanos() < 0 ||
        (interval.seconds() == 0 && interval.nanos() == 0)) {
      return absl::InvalidArgumentError(
          "watch.progress_interval (--watch_progress_interval) must be "
          "positive, such as 500ms or 10s");
    }
    options.watch.progress_interval = FromProto(interval);
  }
  return options;
}

}  // namespace persist::service
