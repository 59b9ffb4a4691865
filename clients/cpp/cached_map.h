// A typed local copy of a persistd map, kept up to date by list+watch (the
// way Kubernetes informers keep theirs): a Get from it is a hash lookup, no
// call.
//
//   persist::client::CachedMapOptions<example::v1::User> options;
//   options.on_change = [](const auto& event) {
//     std::printf("%s changed\n", event.key.c_str());
//   };
//   persist::client::CachedMap<example::v1::User> cache(users, options);
//   if (!cache.WaitSynced(absl::Seconds(10)).ok()) return;
//   std::shared_ptr<const persist::client::Entry<example::v1::User>> alice =
//       cache.Get("alice");  // null: no such key
//
// A thread of the cache runs one Watch call at a time. When the stream
// ends (persistd restarts, the network drops, the cache fell behind), it
// watches again from the last revision it got; when persistd no longer
// keeps the changes it needs (OUT_OF_RANGE, and after a restart of
// persistd, a new epoch), it lists the map again and replaces its copy.
// Errors are retried with backoff (CachedMapOptions); stats() says what
// happened.
//
// What the cache holds is the map as of revision() (or a batch of changes
// later, while it applies them): never half of a batch, and behind the
// server by the time the newest changes take to arrive. WaitFor waits for a
// write of this client to show, and for on_change to have run for it.
//
// Thread-safety: every method may be called from any thread.
#ifndef PERSIST_CLIENTS_CPP_CACHED_MAP_H_
#define PERSIST_CLIENTS_CPP_CACHED_MAP_H_

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cpp/persist_client.h"
#include "clients/cpp/watch_call.h"

namespace persist::client {

template <typename T>
struct CachedMapOptions {
  std::string prefix;  // keep only keys that start with it; "" for all
  // Called on the cache's thread once a change is in the cache, in
  // revision order; it must not throw (as in any std::thread), nor wait
  // for the cache (WaitFor) or destroy it. After a listing (the first, or one
  // that replaces the copy), called for each key that it changed: kPut for a
  // new or changed entry, kDelete for one gone, with the listing's revision.
  // While it runs, the cache takes no changes: a long stall makes persistd end
  // the stream (RESOURCE_EXHAUSTED), and the cache then resumes.
  std::function<void(const WatchEvent<T>&)> on_change;
  // Waits before watching again after an error: from retry_min, doubling
  // up to retry_max; the first message of a stream resets it.
  absl::Duration retry_min = absl::Milliseconds(100);
  absl::Duration retry_max = absl::Seconds(5);
};

struct CachedMapStats {
  int64_t listings = 0;     // complete listings taken, the first included
  int64_t resumes = 0;      // watches started again from the last revision
  int64_t events = 0;       // changes applied after listings
  absl::Status last_error;  // what ended the last stream; OK before any
};

template <typename T>
class CachedMap {
 public:
  using EntryPtr = std::shared_ptr<const Entry<T>>;

  // Starts keeping `map` (of a Client that outlives the cache).
  CachedMap(const TypedMap<T>& map, CachedMapOptions<T> options)
      : map_(map), options_(std::move(options)), thread_([this] { Run(); }) {}
  CachedMap(const CachedMap&) = delete;
  CachedMap& operator=(const CachedMap&) = delete;
  ~CachedMap() {
    std::shared_ptr<WatchCall<T>> call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      call = call_;
    }
    if (call != nullptr) call->Cancel();
    changed_.notify_all();
    thread_.join();
  }

  // The key's entry as of revision(); null when it has none (or before the
  // first listing).
  EntryPtr Get(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = contents_.find(key);
    return it == contents_.end() ? nullptr : it->second;
  }

  // Every entry, in key order.
  std::vector<std::pair<std::string, EntryPtr>> Snapshot() const {
    std::vector<std::pair<std::string, EntryPtr>> entries;
    {
      std::lock_guard<std::mutex> lock(mu_);
      entries.assign(contents_.begin(), contents_.end());
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return entries;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return contents_.size();
  }

  // The revision the copy is at (every change up to it is in, and its
  // callbacks ran), and its epoch; 0 and "" before the first listing.
  int64_t revision() const {
    std::lock_guard<std::mutex> lock(mu_);
    return revision_;
  }
  std::string epoch() const {
    std::lock_guard<std::mutex> lock(mu_);
    return epoch_;
  }

  CachedMapStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  // Waits until a listing is in: the first, or, after the copy fell out of
  // persistd's history (or persistd restarted), the one that replaces it.
  // DeadlineExceeded after `timeout` (which may be infinite), with the
  // error that keeps it from coming, if any.
  absl::Status WaitSynced(absl::Duration timeout) const {
    return WaitUntil(0, "", timeout);
  }

  // Waits until the copy shows `write` (a Set, Update or Delete of this
  // map): read-your-writes from the cache. DeadlineExceeded after
  // `timeout`; also when persistd restarted since the write, since
  // revisions of the new epoch do not tell whether it survived. A write
  // that makes no event here (a delete of a missing key, a key outside the
  // prefix) shows with the next change or progress notice, which may take
  // persistd's progress interval (10 s by default).
  absl::Status WaitFor(const WriteResult& write, absl::Duration timeout) const {
    return WaitUntil(write.revision, write.epoch, timeout);
  }

 private:
  using Contents = std::unordered_map<std::string, EntryPtr>;

  // Waits until a listing is in and the copy is at `revision` of `epoch`
  // ("" for any) or later.
  absl::Status WaitUntil(int64_t revision, const std::string& epoch,
                         absl::Duration timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    auto reached = [&] {
      return synced_ && revision_ >= revision &&
             (epoch.empty() || epoch == epoch_);
    };
    WaitLocked(lock, timeout, [&] { return stopping_ || reached(); });
    if (reached()) return absl::OkStatus();
    return absl::DeadlineExceededError(absl::StrCat(
        "the cache of map \"", map_.name(), "\" is at revision ", revision_,
        " of epoch \"", epoch_, "\"", synced_ ? "" : " (not listed yet)",
        ", not at ", revision, epoch.empty() ? "" : " of epoch \"", epoch,
        epoch.empty() ? "" : "\"", ", after ", absl::FormatDuration(timeout),
        stats_.last_error.ok() ? ""
                               : absl::StrCat("; its last watch ended: ",
                                              stats_.last_error.ToString())));
  }

  // Waits on changed_ until `done` or `timeout` (which may be infinite).
  template <typename Done>
  void WaitLocked(std::unique_lock<std::mutex>& lock, absl::Duration timeout,
                  Done done) const {
    if (timeout == absl::InfiniteDuration()) {
      changed_.wait(lock, done);
    } else {
      changed_.wait_for(lock, absl::ToChronoMicroseconds(timeout), done);
    }
  }

  void Run() {
    absl::Duration backoff = options_.retry_min;
    while (true) {
      WatchOptions watch;
      watch.prefix = options_.prefix;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        if (synced_) {
          watch.start_revision = revision_ + 1;
          watch.epoch = epoch_;
          ++stats_.resumes;
        } else {
          watch.send_initial = true;
        }
      }
      auto call = std::make_shared<WatchCall<T>>(map_, watch);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        call_ = call;
      }
      bool delivered = false;
      absl::Status ended =
          Follow(call.get(), watch.send_initial, &backoff, &delivered);
      {
        std::lock_guard<std::mutex> lock(mu_);
        call_.reset();
        stats_.last_error = ended;
        // The changes after revision_ are gone: only a listing catches up.
        if (absl::IsOutOfRange(ended)) synced_ = false;
        if (stopping_) return;
      }
      // Starting again at once is right when the server said how: list
      // again, or resume after falling behind (which only a stream that
      // delivered can; a value too large to send is RESOURCE_EXHAUSTED
      // too). Other errors (persistd away, a bad map or token) wait,
      // longer each time.
      if (absl::IsOutOfRange(ended) ||
          (absl::IsResourceExhausted(ended) && delivered)) {
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      WaitLocked(lock, backoff, [&] { return stopping_; });
      backoff = std::min(backoff * 2, options_.retry_max);
    }
  }

  // Reads `call` until it ends, and answers why it did.
  absl::Status Follow(WatchCall<T>* call, bool listing, absl::Duration* backoff,
                      bool* delivered) {
    Contents listed;
    while (true) {
      absl::StatusOr<WatchBatch<T>> batch = call->Next();
      if (!batch.ok()) return batch.status();
      *backoff = options_.retry_min;
      *delivered = true;
      std::vector<WatchEvent<T>> changes;
      if (listing) {
        for (auto& [key, entry] : batch->initial) {
          listed.emplace(std::move(key),
                         std::make_shared<const Entry<T>>(std::move(entry)));
        }
        if (!batch->initial_done) continue;
        listing = false;
        Replace(std::move(listed), batch->revision, &changes);
        listed.clear();
      }
      Apply(&*batch, &changes);
      if (options_.on_change) {
        for (const WatchEvent<T>& change : changes) options_.on_change(change);
      }
      // Only now, so that a waiter also sees what the callbacks did.
      Publish(batch->revision, batch->epoch);
    }
  }

  // The copy, with its callbacks run, is at `revision` of `epoch`.
  void Publish(int64_t revision, const std::string& epoch) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      revision_ = revision;
      epoch_ = epoch;
      synced_ = true;
    }
    changed_.notify_all();
  }

  // Puts a listing in place of the copy; `changes` gets what differs.
  void Replace(Contents listed, int64_t revision,
               std::vector<WatchEvent<T>>* changes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.on_change) {
      for (const auto& [key, entry] : listed) {
        auto old = contents_.find(key);
        if (old == contents_.end() || old->second->etag != entry->etag) {
          changes->push_back(
              {WatchEvent<T>::Type::kPut, key, *entry, revision});
        }
      }
      for (const auto& [key, entry] : contents_) {
        if (listed.count(key) == 0) {
          changes->push_back(
              {WatchEvent<T>::Type::kDelete, key, std::nullopt, revision});
        }
      }
    }
    contents_ = std::move(listed);
    ++stats_.listings;
  }

  // Applies a batch's events; `changes` gets them.
  void Apply(WatchBatch<T>* batch, std::vector<WatchEvent<T>>* changes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (WatchEvent<T>& event : batch->events) {
      if (event.entry.has_value()) {  // kPut
        contents_[event.key] =
            options_.on_change
                ? std::make_shared<const Entry<T>>(*event.entry)
                : std::make_shared<const Entry<T>>(std::move(*event.entry));
      } else {
        contents_.erase(event.key);
      }
      ++stats_.events;
      if (options_.on_change) changes->push_back(std::move(event));
    }
  }

  const TypedMap<T> map_;
  const CachedMapOptions<T> options_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;  // revision_, synced_, stopping_
  Contents contents_;                        // guarded by mu_
  int64_t revision_ = 0;                     // guarded by mu_
  std::string epoch_;                        // guarded by mu_
  bool synced_ = false;                      // a listing is in; guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  CachedMapStats stats_;                     // guarded by mu_
  std::shared_ptr<WatchCall<T>> call_;       // the open call; guarded by mu_

  std::thread thread_;  // last: it runs Run, which uses all of the above
};

}  // namespace persist::client

#endif  // PERSIST_CLIENTS_CPP_CACHED_MAP_H_
