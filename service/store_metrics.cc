#include "service/store_metrics.h"

#include "absl/time/time.h"
#include "storage/durability.h"

namespace persist::service {
namespace {

// A family of one unlabelled sample; `type` is "gauge" or "counter".
void Single(PrometheusText* page, absl::string_view type,
            absl::string_view name, absl::string_view help, double value) {
  page->Family(name, type, help);
  page->Sample(name, {}, value);
}

void Histogram(PrometheusText* page, absl::string_view name,
               absl::string_view help, const HistogramSnapshot& histogram) {
  page->Family(name, "histogram", help);
  page->Histogram(name, {}, histogram);
}

void AppendWal(const StoreStats& stats, PrometheusText* page) {
  Single(page, "gauge", "persist_wal_file_bytes",
         "Size of the data file (the WAL).",
         static_cast<double>(stats.file_bytes));
  Single(page, "gauge", "persist_wal_records",
         "Records in the data file, live and superseded; Shrink leaves one "
         "per live key.",
         static_cast<double>(stats.wal_records));
  Single(page, "counter", "persist_wal_written_bytes_total",
         "Bytes appended to the data file since persistd started.",
         static_cast<double>(stats.wal_appended_bytes));
  Histogram(page, "persist_wal_batch_records",
            "Records per group-commit batch: one write(2) each.",
            stats.wal_batch_records);
  Histogram(page, "persist_wal_fsync_duration_seconds",
            "Time each fdatasync of the data file took.",
            stats.wal_sync_seconds);
}

void AppendShrinks(const StoreStats& stats, PrometheusText* page) {
  Single(page, "counter", "persist_shrinks_total",
         "Shrinks (rewrites of the data file as its live state) completed.",
         static_cast<double>(stats.shrinks));
  Single(page, "counter", "persist_shrink_failures_total",
         "Shrinks that failed (the old file stayed in use).",
         static_cast<double>(stats.shrink_failures));
  Histogram(page, "persist_shrink_duration_seconds",
            "Time each completed shrink took.", stats.shrink_seconds);
}

void AppendRecovery(const StoreStats& stats, PrometheusText* page) {
  Single(page, "gauge", "persist_load_duration_seconds",
         "Time opening the data file took: read, scan and decode.",
         absl::ToDoubleSeconds(stats.open_duration));
  Single(page, "gauge", "persist_recovery_torn_tail_bytes",
         "Bytes of an incomplete last record cut when the file was opened.",
         static_cast<double>(stats.torn_tail_bytes));
  Single(page, "gauge", "persist_recovery_skipped_records",
         "Damaged records skipped under skip_corrupt: when the file was "
         "opened, or when a map declared later adopted its orphan records.",
         static_cast<double>(stats.skipped_corrupt));
  Single(page, "gauge", "persist_recovery_ignored_unknown_fields",
         "Unknown JSON fields skipped when the file was opened "
         "(ignore_unknown_fields).",
         static_cast<double>(stats.ignored_unknown_fields));
}

}  // namespace

void AppendStoreMetrics(const Store* store, PrometheusText* page) {
  Single(page, "gauge", "persist_store_loaded",
         "1 once the data file is loaded and served, 0 while it loads.",
         store != nullptr ? 1 : 0);
  if (store == nullptr) return;
  const StoreStats stats = store->Stats();
  Single(page, "gauge", "persist_store_writable",
         "1 while the store takes writes; 0 after a failed write or fsync "
         "stopped them (reads go on; restart after fixing the disk).",
         stats.health.ok() ? 1 : 0);

  page->Family("persist_writes_total", "counter",
               "Changes (sets and deletes) made, by durability.");
  for (int i = 0; i < kDurabilityCount; ++i) {
    page->Sample("persist_writes_total",
                 {{"durability", DurabilityName(static_cast<Durability>(i))}},
                 static_cast<double>(stats.writes[i]));
  }
  page->Family("persist_map_live_keys", "gauge", "Live keys, by map.");
  for (const MapStats& map : stats.maps) {
    page->Sample("persist_map_live_keys",
                 {{"map", map.name}, {"type", map.type}},
                 static_cast<double>(map.live_keys));
  }
  page->Family("persist_map_expiring_keys", "gauge",
               "Live keys that have an expiry (TTL), by map.");
  for (const MapStats& map : stats.maps) {
    page->Sample("persist_map_expiring_keys", {{"map", map.name}},
                 static_cast<double>(map.expiring_keys));
  }
  page->Family("persist_map_expirations_total", "counter",
               "Entries deleted by their expiry (TTL), by map.");
  for (const MapStats& map : stats.maps) {
    page->Sample("persist_map_expirations_total", {{"map", map.name}},
                 static_cast<double>(map.expirations));
  }
  Single(page, "gauge", "persist_revision",
         "The store's revision: changes made since persistd opened its data "
         "file, plus 1 (the state it found).",
         static_cast<double>(stats.revision));
  Single(page, "gauge", "persist_orphan_keys",
         "Live keys of maps the configuration does not declare (kept as "
         "they are).",
         static_cast<double>(stats.orphan_keys));
  AppendWal(stats, page);
  AppendShrinks(stats, page);
  AppendRecovery(stats, page);
}

}  // namespace persist::service
