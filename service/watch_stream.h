// WatchStream: one Watch call (persist.proto's WatchRequest and
// WatchResponse say what it promises; DESIGN.md section 6).
//
// A stream holds no copy of the changes: it keeps a cursor into the store's
// history (Store::ReadChanges) and reads the next changes once its previous
// message is written, so its buffer is the one message in flight. Writers
// never wait for it. The hub (watch_hub.h) wakes it after changes and on
// ticks:
//   - an idle stream reads what is new and sends it, or a progress notice
//     once nothing was sent for the progress interval;
//   - a stream still writing (its client reads slowly) that has fallen
//     more than max_lag revisions behind the store is ended
//     RESOURCE_EXHAUSTED, while its next revision is still kept, so that it
//     can resume. The check starts once the stream has caught up: one that
//     starts far back may take its time, and is ended OUT_OF_RANGE only if
//     the history drops what it has not read yet.
//
// gRPC calls (StartWrite, Finish) are made with no lock held: they may run
// callbacks inline.
//
// Thread-safety: gRPC's callbacks and the hub's calls may come on any
// thread, concurrently; a mutex orders them. Lock order: mu_, then the
// store's history.
#ifndef PERSIST_SERVICE_WATCH_STREAM_H_
#define PERSIST_SERVICE_WATCH_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/persist.grpc.pb.h"
#include "service/rpc_metrics.h"
#include "service/watch_hub.h"
#include "service/watch_metrics.h"
#include "storage/changes.h"
#include "storage/listing_at_revision.h"
#include "storage/store.h"

namespace persist::service {

struct WatchOptions {
  // A stream with nothing to send for this long sends a progress notice.
  absl::Duration progress_interval = absl::Seconds(10);
  // Changes within this of the hub's last round wait for the next one
  // (watch_hub.h): under load each message carries many events, at up to
  // this much latency.
  absl::Duration batch_window = absl::Milliseconds(1);
  // How many revisions a stream may fall behind while its client reads
  // slowly (half the history by default).
  uint64_t max_lag = kServerMaxChanges / 2;
  // No entry or event may be larger than max_reply_bytes (it is
  // RESOURCE_EXHAUSTED). Several go in one message only up to batch_bytes
  // in all, and max_items: a client with gRPC's default receive limit
  // (4 MiB) reads every message that holds more than one.
  size_t max_reply_bytes = 4 << 20;
  size_t batch_bytes = 1 << 20;
  size_t max_items = 1000;
  // An atomic batch's events stay in one message past batch_bytes and
  // max_items, up to this (and max_reply_bytes): below a client's default
  // receive limit (4 MiB) with room for the header. A batch that passes it
  // alone is split across messages; one that would pass it after other
  // events starts a message of its own.
  size_t max_batch_message_bytes = (4 << 20) - (16 << 10);
  // Counts streams open and what they send; null: not counted.
  WatchMetrics* metrics = nullptr;
  // Counts each stream as a call (grpc_server_*: started, then handled
  // with its status code as it is sent); null: not counted.
  RpcMetrics::Method* calls = nullptr;
};

class WatchStream final : public grpc::ServerWriteReactor<v1::WatchResponse>,
                          public WatchHub::Watcher {
 public:
  // Serves `request` (checked and authorized by the caller) on `map` of
  // `store`; ends it at once with `refusal` if that is not OK. The stream
  // owns itself until gRPC is done with it.
  static WatchStream* Start(const v1::WatchRequest& request, Store* store,
                            const DynamicMap* map, WatchHub* hub,
                            const WatchOptions& options);

  // Why Start refuses a request, if it does (InvalidArgument, OutOfRange).
  static absl::Status CheckStart(const v1::WatchRequest& request,
                                 const Store& store);

  WatchStream(Store* store, const DynamicMap* map, std::string prefix,
              WatchHub* hub, const WatchOptions& options);

  void OnWake(absl::Time now) override;
  void End(const absl::Status& status) override;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // What to do once mu_ is released.
  struct Step {
    bool write = false;
    std::optional<absl::Status> finish;
  };
  void Do(Step step);
  // Counts the stream as handled, then ends it with `status`: the only
  // way this class calls Finish.
  void CountAndFinish(const grpc::Status& status);

  // The next message, if there is one to send now (no write in flight).
  Step NextLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Step FinishLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fill response_ with entries of the initial listing, or with the
  // changes from next_ on. Errors end the stream: OutOfRange once the
  // history dropped changes not sent yet, ResourceExhausted for an entry
  // too large for any message.
  absl::Status FillInitialLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FillEventsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetHeaderLocked(uint64_t revision) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // "resume from revision N of epoch E".
  std::string ResumeHintLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  const DynamicMap* const map_;
  const ChangeFilter filter_;
  WatchHub* const hub_;
  const WatchOptions options_;
  std::shared_ptr<WatchStream> self_;  // until OnDone
  // For options_.calls: when the stream started.
  RpcMetrics::Method::Clock::time_point counted_since_;

  Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // the first message was sent
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Has read up to the store's revision once (the lag check applies).
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  // The next revision to read; every change before it was sent (or, while
  // writing_, is in response_).
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_sent_ ABSL_GUARDED_BY(mu_);
  // send_initial's entries, sent from initial_sent_ on.
  std::optional<ListingAtRevision> initial_ ABSL_GUARDED_BY(mu_);
  size_t initial_sent_ ABSL_GUARDED_BY(mu_) = 0;
  // The message being sent: filled under mu_ while no write is in flight,
  // then read by gRPC, without mu_, until OnWriteDone.
  v1::WatchResponse response_;
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_WATCH_STREAM_H_
