// The engine's figures (StoreStats) as Prometheus metrics, named persist_*:
// writes by durability, group-commit batch sizes, fsync latency, WAL bytes
// and records, live keys per map, shrinks, load time, whether the store is
// loaded and taking writes.
#ifndef PERSIST_SERVICE_STORE_METRICS_H_
#define PERSIST_SERVICE_STORE_METRICS_H_

#include "service/prometheus_text.h"
#include "storage/store.h"

namespace persist::service {

// `store` is null while the data file loads: then only the state metrics
// (persist_store_loaded 0) are written.
void AppendStoreMetrics(const Store* store, PrometheusText* page);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_STORE_METRICS_H_
