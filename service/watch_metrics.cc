#include "service/watch_metrics.h"

namespace persist::service {

void WatchMetrics::StreamStarted() {
  open_.fetch_add(1, std::memory_order_relaxed);
}

void WatchMetrics::StreamDone() {
  open_.fetch_sub(1, std::memory_order_relaxed);
}

void WatchMetrics::Sent(int events) {
  messages_.fetch_add(1, std::memory_order_relaxed);
  events_.fetch_add(events, std::memory_order_relaxed);
}

void WatchMetrics::AppendTo(PrometheusText* page) const {
  auto load = [](const std::atomic<int64_t>& value) {
    return static_cast<double>(value.load(std::memory_order_relaxed));
  };
  page->Family("persist_watch_streams", "gauge", "Watch streams open.");
  page->Sample("persist_watch_streams", {}, load(open_));
  page->Family("persist_watch_messages_sent_total", "counter",
               "Watch messages sent (events, initial entries or progress).");
  page->Sample("persist_watch_messages_sent_total", {}, load(messages_));
  page->Family("persist_watch_events_sent_total", "counter",
               "Watch events sent.");
  page->Sample("persist_watch_events_sent_total", {}, load(events_));
}

}  // namespace persist::service
