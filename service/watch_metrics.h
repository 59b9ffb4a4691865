// WatchMetrics: what Watch streams send, for /metrics (RpcMetrics counts
// the streams as calls, and how they ended by status code):
//
//   persist_watch_streams               gauge    streams open
//   persist_watch_messages_sent_total   counter
//   persist_watch_events_sent_total     counter
//
// Thread-safety: counting is lock-free; AppendTo may run during streams.
#ifndef PERSIST_SERVICE_WATCH_METRICS_H_
#define PERSIST_SERVICE_WATCH_METRICS_H_

#include <atomic>
#include <cstdint>

#include "service/prometheus_text.h"

namespace persist::service {

class WatchMetrics {
 public:
  void StreamStarted();
  void StreamDone();
  void Sent(int events);

  void AppendTo(PrometheusText* page) const;

 private:
  std::atomic<int64_t> open_{0};
  std::atomic<int64_t> messages_{0};
  std::atomic<int64_t> events_{0};
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_WATCH_METRICS_H_
