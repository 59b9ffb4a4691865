// One Watch call of persistd (persist.proto, DESIGN.md section 5): a map's
// changes, typed, in revision order.
//
//   persist::client::WatchOptions from_now;  // or .send_initial = true
//   persist::client::WatchCall<example::v1::User> watch(users, from_now);
//   while (true) {
//     absl::StatusOr<persist::client::WatchBatch<example::v1::User>> batch =
//         watch.Next();
//     if (!batch.ok()) break;  // UNAVAILABLE, OUT_OF_RANGE, ...: see below
//     for (const auto& event : batch->events) {
//       std::printf("%s at %lld\n", event.key.c_str(),
//                   static_cast<long long>(event.revision));
//     }
//   }
//
// The stream ends with a status, never silently: UNAVAILABLE (persistd
// stops), RESOURCE_EXHAUSTED (this watcher read too slowly), OUT_OF_RANGE
// (the changes it needs are no longer kept: list again), CANCELLED (Cancel).
// After any of them but OUT_OF_RANGE, a new WatchCall from the last batch's
// revision + 1 and epoch misses nothing. CachedMap does all of that.
//
// Thread-safety: Next from one thread at a time; Cancel from any thread.
#ifndef PERSIST_CLIENTS_CPP_WATCH_CALL_H_
#define PERSIST_CLIENTS_CPP_WATCH_CALL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clients/cpp/persist_client.h"

namespace persist::client {

struct WatchOptions {
  std::string prefix;  // only keys that start with it; "" for all
  // The first revision to stream, with the epoch it belongs to (a batch's
  // revision + 1 and epoch, to resume). 0: the changes from now on.
  int64_t start_revision = 0;
  std::string epoch;
  // First the entries as of one revision (WatchBatch::initial, over as many
  // batches as needed), then the changes after it: no gap, no duplicate.
  bool send_initial = false;
};

template <typename T>
struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string key;
  // kPut: the key's new entry (its mod_revision is `revision`).
  std::optional<Entry<T>> entry;
  int64_t revision = 0;
  bool expired = false;  // kDelete: by the key's expiry, not a write
};

// One message of the stream.
template <typename T>
struct WatchBatch {
  // With send_initial: entries in key order; `initial_done` on the last
  // batch of them.
  std::vector<std::pair<std::string, Entry<T>>> initial;
  bool initial_done = false;
  std::vector<WatchEvent<T>> events;  // may be empty: a progress notice
  // Every change of the watched keys up to `revision` has been streamed:
  // resume from revision + 1, in `epoch`.
  int64_t revision = 0;
  std::string epoch;
};

template <typename T>
class WatchCall {
 public:
  // Starts watching `map` (of a Client that outlives the call).
  WatchCall(const TypedMap<T>& map, const WatchOptions& options)
      : map_name_(map.name()) {
    v1::WatchRequest request;
    request.set_map(map.name());
    request.set_prefix(options.prefix);
    request.set_start_revision(options.start_revision);
    request.set_epoch(options.epoch);
    request.set_send_initial(options.send_initial);
    CallOptions no_deadline;
    no_deadline.deadline = absl::InfiniteDuration();
    Prepare(map.connection(), no_deadline, &context_);
    reader_ = map.connection().stub->Watch(&context_, request);
  }
  WatchCall(const WatchCall&) = delete;
  WatchCall& operator=(const WatchCall&) = delete;
  ~WatchCall() {
    if (!ended_.has_value()) {
      Cancel();
      Drain().IgnoreError();  // CANCELLED: nobody asks any more
    }
  }

  // Waits for the next message. An error ends the stream, and every later
  // call answers it again.
  absl::StatusOr<WatchBatch<T>> Next() {
    if (ended_.has_value()) return *ended_;
    v1::WatchResponse response;
    if (!reader_->Read(&response)) return Drain();
    WatchBatch<T> batch;
    for (const v1::Entry& entry : response.initial()) {
      absl::StatusOr<Entry<T>> typed =
          UnpackEntry<T>(map_name_, entry.value(), entry.etag(),
                         entry.mod_revision(), ExpireTimeOf(entry));
      if (!typed.ok()) return End(typed.status());
      batch.initial.emplace_back(entry.key(), *std::move(typed));
    }
    batch.initial_done = response.initial_done();
    for (const v1::WatchEvent& event : response.events()) {
      WatchEvent<T> typed;
      typed.key = event.key();
      typed.revision = event.revision();
      if (event.type() == v1::WatchEvent::DELETE) {
        typed.type = WatchEvent<T>::Type::kDelete;
        typed.expired = event.expired();
      } else {
        absl::StatusOr<Entry<T>> entry =
            UnpackEntry<T>(map_name_, event.value(), event.etag(),
                           event.revision(), ExpireTimeOf(event));
        if (!entry.ok()) return End(entry.status());
        typed.entry = *std::move(entry);
      }
      batch.events.push_back(std::move(typed));
    }
    batch.revision = response.header().revision();
    batch.epoch = response.header().epoch();
    return batch;
  }

  // Ends the stream: Next answers CANCELLED (or the status that ended it
  // first).
  void Cancel() { context_.TryCancel(); }

 private:
  // Reads what is left and takes the stream's status, which it answers;
  // called once.
  absl::Status Drain() {
    v1::WatchResponse ignored;
    while (reader_->Read(&ignored)) {
    }
    absl::Status status = FromGrpc(reader_->Finish());
    if (status.ok()) {
      status = absl::UnavailableError(
          "persistd ended the watch without a status; watch again");
    }
    ended_ = status;
    return status;
  }

  // Ends the stream with `status`, a fault of ours rather than the server's.
  absl::Status End(const absl::Status& status) {
    Cancel();
    Drain().IgnoreError();  // CANCELLED, by us: `status` says why
    ended_ = status;
    return status;
  }

  const std::string map_name_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderInterface<v1::WatchResponse>> reader_;
  std::optional<absl::Status> ended_;
};

}  // namespace persist::client

#endif  // PERSIST_CLIENTS_CPP_WATCH_CALL_H_
