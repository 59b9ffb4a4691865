#include "replication/etcd_connection.h"

#include <arpa/inet.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace persist::replication {
namespace {

// Between two tries of a call that failed on a member that went away.
constexpr absl::Duration kRetryPause = absl::Milliseconds(20);

bool IsIpv4HostPort(absl::string_view endpoint) {
  const size_t colon = endpoint.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const std::string host(endpoint.substr(0, colon));
  in_addr address;
  return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

}  // namespace

absl::StatusOr<EtcdConnection> EtcdConnection::Open(
    absl::string_view endpoints,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    absl::Duration call_timeout) {
  std::vector<std::string> list;
  for (absl::string_view endpoint :
       absl::StrSplit(endpoints, ',', absl::SkipWhitespace())) {
    endpoint = absl::StripAsciiWhitespace(endpoint);
    // etcd's own flags give URLs; take those too.
    absl::ConsumePrefix(&endpoint, "http://");
    absl::ConsumePrefix(&endpoint, "https://");
    list.emplace_back(endpoint);
  }
  if (list.empty()) {
    return absl::InvalidArgumentError(
        "no etcd endpoints given: give the members' client addresses, e.g. "
        "127.0.0.1:2379,127.0.0.1:22379");
  }
  std::string target = list[0];
  if (list.size() > 1) {
    for (const std::string& endpoint : list) {
      if (!IsIpv4HostPort(endpoint)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "etcd endpoint \"", endpoint, "\" of \"", endpoints,
            "\": a list of endpoints must be IPv4 host:port pairs; give a "
            "DNS name that resolves to every member (such as a headless "
            "Service) on its own instead"));
      }
    }
    target = absl::StrCat("ipv4:", absl::StrJoin(list, ","));
  }
  if (call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd call timeout ", absl::FormatDuration(call_timeout),
                     ": give a positive duration"));
  }
  EtcdConnection connection;
  connection.endpoints = absl::StrJoin(list, ",");
  // round_robin keeps a connection to every member and sends each call to
  // one that is up; pick_first would keep sending to a dead member until it
  // noticed.
  grpc::ChannelArguments arguments;
  arguments.SetLoadBalancingPolicyName("round_robin");
  connection.channel =
      grpc::CreateCustomChannel(target, credentials, arguments);
  connection.call_timeout = call_timeout;
  return connection;
}

void EtcdConnection::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + call_timeout));
  context->set_wait_for_ready(true);
}

grpc::Status EtcdConnection::Call(
    absl::FunctionRef<grpc::Status(grpc::ClientContext*)> call,
    int* tries) const {
  const absl::Time deadline = absl::Now() + call_timeout;
  int made = 0;
  for (;;) {
    ++made;
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(std::min(deadline, absl::Now() + try_timeout)));
    context.set_wait_for_ready(true);
    grpc::Status status = call(&context);
    const bool retryable =
        status.error_code() == grpc::StatusCode::UNAVAILABLE ||
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (status.ok() || !retryable || absl::Now() + kRetryPause >= deadline) {
      if (tries != nullptr) *tries = made;
      return status;
    }
    absl::SleepFor(kRetryPause);
  }
}

}  // namespace persist::replication
