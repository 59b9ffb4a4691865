#include "storage/store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "storage/internal/store_impl.h"

namespace persist {

absl::StatusOr<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  return StoreImpl::Open(std::move(options));
}

absl::Status Store::Flush() {
  Notification flushed;
  absl::Status result;
  StartFlush([&](absl::Status status) {
    result = std::move(status);
    flushed.Notify();
  });
  flushed.WaitForNotification();
  return result;
}

absl::StatusOr<ShrinkResult> Store::Shrink() {
  Notification shrunk;
  absl::StatusOr<ShrinkResult> result;
  StartShrink([&](absl::StatusOr<ShrinkResult> outcome) {
    result = std::move(outcome);
    shrunk.Notify();
  });
  shrunk.WaitForNotification();
  return result;
}

absl::StatusOr<WalSnapshot> Store::Snapshot() {
  Notification taken;
  absl::StatusOr<WalSnapshot> result;
  StartSnapshot([&](absl::StatusOr<WalSnapshot> snapshot) {
    result = std::move(snapshot);
    taken.Notify();
  });
  taken.WaitForNotification();
  return result;
}

absl::StatusOr<BatchResult> Store::Write(std::vector<BatchOperation> operations,
                                         Durability durability) {
  Notification written;
  absl::StatusOr<BatchResult> result;
  StartWrite(std::move(operations), durability,
             [&](absl::StatusOr<BatchResult> outcome) {
               result = std::move(outcome);
               written.Notify();
             });
  written.WaitForNotification();
  return result;
}

absl::Status Store::WrongTypeError(const DynamicMap& map,
                                   const google::protobuf::Descriptor* type) {
  return absl::InvalidArgumentError(
      absl::StrCat("map \"", map.name(), "\" holds ", map.type()->full_name(),
                   ", not ", type->full_name()));
}

}  // namespace persist
