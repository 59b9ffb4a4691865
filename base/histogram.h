// Histogram: counts of observed values in fixed buckets, for monitoring
// (batch sizes, fsync and shrink durations). Prometheus-shaped: each bucket
// has an upper bound, and a snapshot reports cumulative counts, the sum and
// the count, so the service can expose it without converting.
//
// Thread-safety: Observe and Snapshot may be called from any thread; Observe
// is lock-free (relaxed atomics). The counts of a snapshot always agree
// (`count` is the sum of the buckets), but a snapshot taken during Observe
// calls may have a `sum` that includes an observation its buckets do not
// yet count, or the other way round; the next snapshot agrees.
#ifndef PERSIST_BASE_HISTOGRAM_H_
#define PERSIST_BASE_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace persist {

struct HistogramSnapshot {
  std::vector<double> upper_bounds;  // ascending; +Inf is implied
  // cumulative[i]: observations <= upper_bounds[i]. One entry per bound.
  std::vector<uint64_t> cumulative;
  uint64_t count = 0;  // all observations, the +Inf bucket
  double sum = 0;
};

class Histogram {
 public:
  // `upper_bounds` must be ascending and finite.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Bounds start, start*factor, ... (`count` of them): the usual shape for
  // sizes and latencies.
  static std::vector<double> ExponentialBounds(double start, double factor,
                                               int count);

  void Observe(double value);
  HistogramSnapshot Snapshot() const;

 private:
  const std::vector<double> upper_bounds_;
  // One per bound plus the +Inf bucket; not cumulative.
  const std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

}  // namespace persist

#endif  // PERSIST_BASE_HISTOGRAM_H_
