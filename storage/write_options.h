// What a write asks for and what it reports: durability, preconditions,
// results and the callbacks of the non-blocking forms.
#ifndef PERSIST_STORAGE_WRITE_OPTIONS_H_
#define PERSIST_STORAGE_WRITE_OPTIONS_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "storage/durability.h"
#include "storage/etag.h"

namespace persist {

// A condition on the key's current entry, checked atomically with the write.
// Failing it changes nothing: kMustExist and kMustNotExist fail with
// FailedPrecondition, kEtagMatches with Aborted (read again and retry).
struct Precondition {
  enum class Kind { kNone, kMustExist, kMustNotExist, kEtagMatches };
  Kind kind = Kind::kNone;
  std::string etag;  // for kEtagMatches

  static Precondition MustExist() { return {Kind::kMustExist, ""}; }
  static Precondition MustNotExist() { return {Kind::kMustNotExist, ""}; }
  static Precondition EtagMatches(std::string etag) {
    return {Kind::kEtagMatches, std::move(etag)};
  }
};

struct WriteOptions {
  Durability durability = Durability::kWrite;
  Precondition precondition;
  // When the value a Set (or an Update's set) writes expires (expiry.h):
  // from then on the key reads as absent and the store deletes it. A time
  // already past writes a value that is gone at once. InfiniteFuture:
  // never, which also clears an expiry the key had (as Redis's SET does).
  // Deletes ignore it.
  absl::Time expires = absl::InfiniteFuture();
  // Update only: a set keeps the expiry the key had (none if it had none),
  // and `expires` is ignored.
  bool keep_expiry = false;
};

// `expires` for a time to live from now.
inline absl::Time ExpiresAfter(absl::Duration ttl) { return absl::Now() + ttl; }

// `revision` is the store-wide revision the write took (DESIGN.md section
// 5), or, for a write that changed nothing (a delete of a missing key, a
// cancelled update), the store's revision when it was decided.
struct WriteResult {
  bool existed = false;  // the key had an entry before the write
  Etag etag;             // of the new entry; revision 0 after a delete
  uint64_t revision = 0;
};

// A key's entry as read: `value` is null when the key has none.
template <typename M>
struct Entry {
  std::shared_ptr<const M> value;
  Etag etag;
  // When the value expires; InfiniteFuture if it does not.
  absl::Time expires = absl::InfiniteFuture();
  bool found() const { return value != nullptr; }
};

// What an Update function decided, for a map of message type M.
template <typename M>
class UpdateDecision {
 public:
  enum class Kind { kSet, kDelete, kCancel };
  static UpdateDecision Set(std::shared_ptr<const M> value) {
    return UpdateDecision(Kind::kSet, std::move(value));
  }
  static UpdateDecision Delete() { return UpdateDecision(Kind::kDelete, {}); }
  static UpdateDecision Cancel() { return UpdateDecision(Kind::kCancel, {}); }

  Kind kind() const { return kind_; }
  const std::shared_ptr<const M>& value() const { return value_; }

 private:
  UpdateDecision(Kind kind, std::shared_ptr<const M> value)
      : kind_(kind), value_(std::move(value)) {}
  Kind kind_;
  std::shared_ptr<const M> value_;
};

struct UpdateResult {
  enum class Outcome { kSet, kDeleted, kCancelled };
  Outcome outcome = Outcome::kCancelled;
  bool existed = false;
  Etag etag;  // of the entry after the update (unchanged when cancelled)
  uint64_t revision = 0;  // as WriteResult's
};

// Completion of the non-blocking forms. Runs exactly once: inline before the
// call returns (errors, MEMORY and ASYNC writes, and WRITE ones whose record
// the calling thread wrote itself), or once the durability is reached on
// the thread that reached it (another writer's, or one of the WAL's). It
// must not block on the store.
using WriteCallback = absl::AnyInvocable<void(absl::StatusOr<WriteResult>)>;
using UpdateCallback = absl::AnyInvocable<void(absl::StatusOr<UpdateResult>)>;

}  // namespace persist

#endif  // PERSIST_STORAGE_WRITE_OPTIONS_H_
