#include "service/metrics_endpoint.h"

#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "httplib.h"
#include "service/host_port.h"
#include "service/prometheus_text.h"

namespace persist::service {
namespace {

// The largest request the port takes: its request line, headers and body.
constexpr size_t kMaxRequestBytes = 1024;

size_t RequestBytes(const httplib::Request& req) {
  // "GET /metrics HTTP/1.1\r\n", then "name: value\r\n" per header.
  size_t bytes =
      req.method.size() + 1 + req.target.size() + 1 + req.version.size() + 2;
  for (const auto& [name, value] : req.headers) {
    bytes += name.size() + 2 + value.size() + 2;
  }
  return bytes + 2 + req.body.size();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address, std::function<std::string()> render) {
  absl::StatusOr<HostAndPort> split = SplitHostPort(address);
  if (!split.ok()) {
    return absl::Status(split.status().code(),
                        absl::StrCat("metrics: ", split.status().message()));
  }
  std::string host = split->host;
  int port = split->port;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto server = std::make_unique<httplib::Server>();
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // persistd share the port and answer half the scrapes: a port in use
  // must be an error instead.
  server->set_socket_options([](socket_t socket) {
    int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Scrapes are rare and cheap: two threads, not one per core. The port
  // needs no credentials, so nothing a client sends may cost much: no
  // bodies, GET only, and connections that do not linger (a kept-alive
  // idle one would hold a thread, and delay shutdown, for seconds).
  server->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server->set_payload_max_length(kMaxRequestBytes);
  server->set_read_timeout(2);
  server->set_write_timeout(2);
  server->set_keep_alive_max_count(1);
  server->set_pre_routing_handler(
      [](const httplib::Request& req, httplib::Response& res) {
        if (RequestBytes(req) > kMaxRequestBytes) {
          res.status = 431;  // Request Header Fields Too Large
          res.set_content(
              "persistd: requests to this port take at most 1 "
              "KiB\n",
              "text/plain");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (req.method == "GET" || req.method == "HEAD") {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        res.status = 405;
        res.set_header("Allow", "GET, HEAD");
        return httplib::Server::HandlerResponse::Handled;
      });
  server->Get("/metrics", [render = std::move(render)](const httplib::Request&,
                                                       httplib::Response& res) {
    res.set_content(render(), std::string(kPrometheusContentType).c_str());
  });
  server->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("persistd: metrics at /metrics\n", "text/plain");
  });
  if (split->port != 0) {
    PERSIST_RETURN_IF_ERROR(CheckCanListen(address, "--metrics_listen"));
  }
  if (port == 0) {
    port = server->bind_to_any_port(host);
  } else if (!server->bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address,
                     "; is the address valid and the port free?"));
  }
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(server), port));
}

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<httplib::Server> server,
                                 int port)
    : server_(std::move(server)), port_(port) {
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    stopped_.Notify();
  });
}

MetricsEndpoint::~MetricsEndpoint() {
  // httplib's stop() does nothing until the serving loop has begun, which
  // may not have happened yet: ask again until the thread is out.
  do {
    server_->stop();
  } while (!stopped_.WaitForNotificationWithTimeout(absl::Milliseconds(10)));
  thread_.join();
}

}  // namespace persist::service
