// MetricsEndpoint: a plain-HTTP server for Prometheus (GET /metrics), on a
// port of its own so that scrapers need neither gRPC nor persistd's TLS
// certificates or tokens. It serves only figures and the names of maps and
// their types: no keys, no values. GET and HEAD only, small requests.
//
// Thread-safety: `render` runs on the endpoint's threads, concurrently with
// everything else, once per scrape.
#ifndef PERSIST_SERVICE_METRICS_ENDPOINT_H_
#define PERSIST_SERVICE_METRICS_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "base/mutex.h"

namespace httplib {
class Server;
}

namespace persist::service {

class MetricsEndpoint {
 public:
  // Listens on `address` (host:port; port 0 picks a free one; [::] style
  // brackets for IPv6) and serves render()'s page at /metrics. Unavailable
  // naming the address if it cannot listen there.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& address, std::function<std::string()> render);

  // Stops serving; returns once no scrape runs.
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<httplib::Server> server, int port);

  const std::unique_ptr<httplib::Server> server_;
  const int port_;
  Notification stopped_;  // the serving thread returned
  std::thread thread_;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_METRICS_ENDPOINT_H_
