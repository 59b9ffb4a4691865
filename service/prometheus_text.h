// PrometheusText: builds a page in Prometheus' text exposition format
// (version 0.0.4), the format of GET /metrics.
//
//   persist::service::PrometheusText page;
//   page.Family("persist_writes_total", "counter", "Changes made.");
//   page.Sample("persist_writes_total", {{"durability", "FSYNC"}}, 12);
//   page.Histogram("persist_wal_fsync_duration_seconds", {}, snapshot);
//   std::string text = page.text();
//
// Each family's HELP and TYPE come once, before its samples; the caller
// writes a family's samples together. Label values are escaped as the
// format requires; names are the caller's (they are constants).
//
// Not thread-safe: one page per scrape.
#ifndef PERSIST_SERVICE_PROMETHEUS_TEXT_H_
#define PERSIST_SERVICE_PROMETHEUS_TEXT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/histogram.h"

namespace persist::service {

class PrometheusText {
 public:
  using Labels = std::vector<std::pair<absl::string_view, absl::string_view>>;

  // `type`: "counter", "gauge" or "histogram".
  void Family(absl::string_view name, absl::string_view type,
              absl::string_view help);
  void Sample(absl::string_view name, const Labels& labels, double value);
  // name_bucket{...,le="..."} for every bound and +Inf, name_sum, name_count.
  void Histogram(absl::string_view name, const Labels& labels,
                 const HistogramSnapshot& histogram);

  const std::string& text() const { return text_; }

 private:
  void AppendLabels(const Labels& labels, absl::string_view le);

  std::string text_;
};

// The Content-Type of the page.
inline constexpr absl::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace persist::service

#endif  // PERSIST_SERVICE_PROMETHEUS_TEXT_H_
