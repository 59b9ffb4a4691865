#include "storage/dynamic_map.h"

#include <atomic>
#include <utility>

namespace persist {
namespace {

using google::protobuf::Message;

// Blocks until a Start* call completes. The completion may run on the WAL's
// thread after the caller gave up its stack, so the state is shared. A
// futex-backed atomic wait: the WAL thread wakes one caller per completed
// write, and this is the cheapest way to do it.
template <typename Result>
class Waiter {
 public:
  Waiter() : state_(std::make_shared<State>()) {}
  absl::AnyInvocable<void(absl::StatusOr<Result>)> Callback() {
    return [state = state_](absl::StatusOr<Result> result) {
      state->result = std::move(result);
      state->done.store(1, std::memory_order_release);
      state->done.notify_one();
    };
  }
  absl::StatusOr<Result> Wait() {
    while (state_->done.load(std::memory_order_acquire) == 0) {
      state_->done.wait(0, std::memory_order_acquire);
    }
    return std::move(state_->result);
  }

 private:
  struct State {
    std::atomic<uint32_t> done{0};
    absl::StatusOr<Result> result = absl::UnknownError("not completed");
  };
  const std::shared_ptr<State> state_;
};

// Runs a Start* call given as `start(callback)` and returns its result.
// MEMORY and ASYNC writes complete before Start* returns, so they need no
// Waiter.
template <typename Result, typename Start>
absl::StatusOr<Result> Blocking(Durability durability, Start start) {
  if (durability == Durability::kMemory || durability == Durability::kAsync) {
    absl::StatusOr<Result> result;
    start(absl::AnyInvocable<void(absl::StatusOr<Result>)>(
        [&result](absl::StatusOr<Result> r) { result = std::move(r); }));
    return result;
  }
  Waiter<Result> waiter;
  start(waiter.Callback());
  return waiter.Wait();
}

}  // namespace

absl::StatusOr<WriteResult> DynamicMap::Set(
    absl::string_view key, std::shared_ptr<const Message> value,
    const WriteOptions& options) {
  return Blocking<WriteResult>(options.durability, [&](auto done) {
    StartSet(key, std::move(value), options, std::move(done));
  });
}

absl::StatusOr<WriteResult> DynamicMap::Delete(absl::string_view key,
                                               const WriteOptions& options) {
  return Blocking<WriteResult>(options.durability, [&](auto done) {
    StartDelete(key, options, std::move(done));
  });
}

absl::StatusOr<UpdateResult> DynamicMap::Update(absl::string_view key,
                                                UpdateFunction fn,
                                                const WriteOptions& options) {
  return Blocking<UpdateResult>(options.durability, [&](auto done) {
    StartUpdate(key, fn, options, std::move(done));
  });
}

absl::Status DynamicMap::SetInMemory(absl::string_view key,
                                     std::shared_ptr<const Message> value) {
  WriteOptions options;
  options.durability = Durability::kMemory;
  return Set(key, std::move(value), options).status();
}

absl::StatusOr<UpdateResult> DynamicMap::UpdateInMemory(absl::string_view key,
                                                        UpdateFunction fn) {
  WriteOptions options;
  options.durability = Durability::kMemory;
  return Update(key, fn, options);
}

}  // namespace persist
