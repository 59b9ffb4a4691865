#include "service/watch_stream.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/any_values.h"
#include "service/expiry_proto.h"
#include "service/grpc_status.h"
#include "service/message_limits.h"
#include "storage/etag.h"

namespace persist::service {

absl::Status WatchStream::CheckStart(const v1::WatchRequest& request,
                                     const Store& store) {
  const int64_t start = request.start_revision();
  if (start < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start_revision ", start,
        " is negative; give 0 (from now) or the revision to start at"));
  }
  if (start == 0) return absl::OkStatus();
  if (request.send_initial()) {
    return absl::InvalidArgumentError(
        "send_initial and start_revision exclude each other: send_initial "
        "starts after the entries it lists; leave start_revision 0");
  }
  const std::string epoch = EpochToString(store.Epoch());
  if (request.epoch().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start_revision ", start,
        " needs its epoch (the header.epoch of the answer that gave it): "
        "revisions of different epochs do not compare"));
  }
  if (request.epoch() != epoch) {
    return absl::OutOfRangeError(absl::StrCat(
        "revision ", start, " is of epoch ", request.epoch(),
        ", but the store is in epoch ", epoch,
        " (persistd reopened its data file since): list again, then watch "
        "from the revision the listing gives + 1"));
  }
  const uint64_t current = store.Revision();
  if (static_cast<uint64_t>(start) > current + 1) {
    return absl::OutOfRangeError(absl::StrCat(
        "start_revision ", start, " is ahead of the store's revision ", current,
        " in epoch ", epoch,
        "; give a revision an answer of this store gave, + 1"));
  }
  return absl::OkStatus();
}

WatchStream* WatchStream::Start(const v1::WatchRequest& request, Store* store,
                                const DynamicMap* map, WatchHub* hub,
                                const WatchOptions& options) {
  auto stream =
      std::make_shared<WatchStream>(store, map, request.prefix(), hub, options);
  stream->self_ = stream;
  if (options.metrics != nullptr) options.metrics->StreamStarted();
  if (options.calls != nullptr) {
    stream->counted_since_ = options.calls->Started();
  }
  absl::Status started = CheckStart(request, *store);
  if (started.ok()) {
    MutexLock lock(&stream->mu_);
    if (request.send_initial()) {
      absl::StatusOr<ListingAtRevision> listing =
          ListAtRevision(*store, *map, request.prefix());
      if (listing.ok()) {
        stream->next_ = listing->revision + 1;
        stream->initial_ = *std::move(listing);
      } else {
        started = listing.status();
      }
    } else if (request.start_revision() == 0) {
      stream->next_ = store->Revision() + 1;
    } else {
      stream->next_ = static_cast<uint64_t>(request.start_revision());
    }
  }
  if (started.ok() && !hub->Add(stream)) {
    started = absl::UnavailableError(
        "persistd is shutting down; watch another replica, or list again "
        "once it restarts");
  }
  if (!started.ok()) {
    {
      MutexLock lock(&stream->mu_);
      stream->finished_ = true;
    }
    stream->CountAndFinish(ToGrpcStatus(started));
    return stream.get();
  }
  stream->OnWake(absl::Now());  // the first message, at once
  return stream.get();
}

WatchStream::WatchStream(Store* store, const DynamicMap* map,
                         std::string prefix, WatchHub* hub,
                         const WatchOptions& options)
    : store_(store),
      map_(map),
      filter_{map->name(), std::move(prefix)},
      hub_(hub),
      options_(options) {}

void WatchStream::OnWake(absl::Time now) {
  Step step;
  {
    MutexLock lock(&mu_);
    if (finished_) return;
    if (!writing_) {
      step = NextLocked(now);
    } else if (live_ && store_->Revision() + 1 - next_ > options_.max_lag) {
      step = FinishLocked(absl::ResourceExhaustedError(absl::StrCat(
          "this watcher fell more than ", options_.max_lag,
          " changes behind the store: its client reads the stream too "
          "slowly; ",
          ResumeHintLocked())));
    }
  }
  Do(std::move(step));
}

void WatchStream::End(const absl::Status& status) {
  Step step;
  {
    MutexLock lock(&mu_);
    if (finished_) return;
    step = FinishLocked(absl::Status(
        status.code(), absl::StrCat(status.message(), "; ", ResumeHintLocked(),
                                    " (a restarted persistd is in a new "
                                    "epoch: list again there)")));
  }
  Do(std::move(step));
}

void WatchStream::OnWriteDone(bool ok) {
  Step step;
  {
    MutexLock lock(&mu_);
    writing_ = false;
    last_sent_ = absl::Now();
    if (finished_) return;
    step = ok ? NextLocked(last_sent_)
              : FinishLocked(absl::CancelledError(
                    "the watch stream broke before a message was sent"));
  }
  Do(std::move(step));
}

void WatchStream::OnCancel() {
  Step step;
  {
    MutexLock lock(&mu_);
    if (finished_) return;
    step = FinishLocked(absl::CancelledError("the watch was cancelled"));
  }
  Do(std::move(step));
}

void WatchStream::OnDone() {
  hub_->Remove(this);
  if (options_.metrics != nullptr) options_.metrics->StreamDone();

  // The last reference may be the hub's copy in a round; else this deletes
  // the stream, so it is the last statement.
  std::shared_ptr<WatchStream> self = std::move(self_);
}

void WatchStream::Do(Step step) {
  // response_ is not touched by anyone else while a write is in flight:
  // read it before the write starts, which may complete at once.
  if (step.write && options_.metrics != nullptr) {
    options_.metrics->Sent(response_.events_size());
  }
  if (step.write) StartWrite(&response_);
  if (step.finish.has_value()) CountAndFinish(ToGrpcStatus(*step.finish));
}

void WatchStream::CountAndFinish(const grpc::Status& status) {
  // Counted before it is sent, as unary calls are.
  if (options_.calls != nullptr) {
    options_.calls->Handled(status.error_code(), counted_since_);
  }
  grpc::ServerWriteReactor<v1::WatchResponse>::Finish(status);
}

WatchStream::Step WatchStream::FinishLocked(absl::Status status) {
  finished_ = true;
  Step step;
  step.finish = std::move(status);
  return step;
}

WatchStream::Step WatchStream::NextLocked(absl::Time now) {
  response_.Clear();
  absl::Status filled =
      initial_.has_value() ? FillInitialLocked() : FillEventsLocked();
  if (!filled.ok()) {
    return FinishLocked(absl::Status(
        filled.code(),
        absl::StrCat(filled.message(), " (watching map \"", map_->name(),
                     "\" from revision ", next_, ")")));
  }
  const bool has_items = response_.initial_size() > 0 ||
                         response_.initial_done() ||
                         response_.events_size() > 0;
  if (!has_items) {
    live_ = true;  // read up to the store's revision
    const bool progress_due =
        !started_ || now - last_sent_ >= options_.progress_interval;
    if (!progress_due) return {};
  }
  SetHeaderLocked(next_ - 1);
  started_ = true;
  writing_ = true;
  Step step;
  step.write = true;
  return step;
}

absl::Status WatchStream::FillInitialLocked() {
  const std::vector<ListedEntry>& entries = initial_->entries;
  size_t bytes = 0;
  while (initial_sent_ < entries.size() &&
         static_cast<size_t>(response_.initial_size()) < options_.max_items) {
    const ListedEntry& listed = entries[initial_sent_];
    v1::Entry* entry = response_.add_initial();
    entry->set_key(listed.key);
    PackValue(*listed.entry.value, entry->mutable_value());
    entry->set_etag(listed.entry.etag.ToString());
    entry->set_mod_revision(static_cast<int64_t>(listed.entry.etag.revision));
    SetExpireTime(listed.entry.expires, entry);
    const size_t size = entry->ByteSizeLong();
    if (size > options_.max_reply_bytes) {
      return ValueTooLargeForReplyError(map_->name(), listed.key, size,
                                        options_.max_reply_bytes);
    }
    if (bytes > 0 && bytes + size > options_.batch_bytes) {
      response_.mutable_initial()->RemoveLast();  // goes in the next one
      break;
    }
    bytes += size;
    ++initial_sent_;
  }
  if (initial_sent_ == entries.size()) {
    response_.set_initial_done(true);
    initial_.reset();
  }
  return absl::OkStatus();
}

absl::Status WatchStream::FillEventsLocked() {
  const uint64_t head = store_->Revision();
  // Each event in the message takes its own size, and its tag and length.
  constexpr size_t kEventFramingBytes = 6;
  const size_t batch_message_bytes =
      std::min(options_.max_batch_message_bytes, options_.max_reply_bytes);
  size_t bytes = 0;
  // The last revision of the atomic batch the last event belongs to: a
  // message ends at a batch's end, so that a client applying messages never
  // holds half a batch (unless the batch alone passes the message limit).
  uint64_t batch_end = 0;
  // Where that batch's events begin in the message, and its first revision.
  int batch_first_event = 0;
  uint64_t batch_first_revision = 0;
  auto events = [&] { return static_cast<size_t>(response_.events_size()); };
  while ((next_ <= head && events() < options_.max_items) ||
         next_ <= batch_end) {
    const size_t room = events() < options_.max_items
                            ? options_.max_items - events()
                            : static_cast<size_t>(batch_end - next_ + 1);
    absl::StatusOr<ChangeRead> read = store_->ReadChanges(next_, filter_, room);
    if (!read.ok()) return read.status();
    for (const Change& change : read->changes) {
      const bool inside_batch = change.revision <= batch_end;
      // Full, and past the batch the message had to finish.
      if (events() >= options_.max_items && !inside_batch) {
        next_ = change.revision;
        return absl::OkStatus();
      }
      if (!inside_batch) {
        batch_first_event = response_.events_size();
        batch_first_revision = change.revision;
      }
      v1::WatchEvent* event = response_.add_events();
      event->set_key(change.key);
      event->set_revision(static_cast<int64_t>(change.revision));
      if (change.value != nullptr) {
        event->set_type(v1::WatchEvent::PUT);
        PackValue(*change.value, event->mutable_value());
        event->set_etag(Etag{store_->Epoch(), change.revision}.ToString());
        SetExpireTime(change.expires, event);
      } else {
        event->set_type(v1::WatchEvent::DELETE);
        event->set_expired(change.expired);
      }
      const size_t size = event->ByteSizeLong() + kEventFramingBytes;
      if (size > options_.max_reply_bytes) {
        return ValueTooLargeForReplyError(map_->name(), change.key, size,
                                          options_.max_reply_bytes);
      }
      const size_t limit =
          inside_batch ? batch_message_bytes : options_.batch_bytes;
      if (bytes > 0 && bytes + size > limit) {
        if (inside_batch && batch_first_event > 0) {
          // The batch may fit in a message of its own: it starts the next.
          response_.mutable_events()->DeleteSubrange(
              batch_first_event, response_.events_size() - batch_first_event);
          next_ = batch_first_revision;
        } else {
          response_.mutable_events()->RemoveLast();
          next_ = change.revision;  // the next message starts with it
        }
        return absl::OkStatus();
      }
      bytes += size;
      next_ = change.revision + 1;
      batch_end = change.batch_end;
    }
    // Nothing more to read (a batch is kept whole, so this is no batch's
    // middle): stop rather than ask again.
    if (read->next <= next_ && read->changes.empty()) break;
    next_ = std::max(next_, read->next);
  }
  return absl::OkStatus();
}

void WatchStream::SetHeaderLocked(uint64_t revision) {
  v1::ResponseHeader* header = response_.mutable_header();
  header->set_revision(static_cast<int64_t>(revision));
  header->set_epoch(EpochToString(store_->Epoch()));
}

std::string WatchStream::ResumeHintLocked() const {
  return absl::StrCat("resume with start_revision ", next_, " and epoch ",
                      EpochToString(store_->Epoch()));
}

}  // namespace persist::service
