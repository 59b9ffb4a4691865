// Map<T>: the typed view of a DynamicMap for a generated message type T.
//
//   persist::Map<example::v1::User> users =
//       *store.DeclareMap<example::v1::User>("users");
//   example::v1::User alice;
//   alice.set_name("Alice");
//   absl::StatusOr<persist::WriteResult> set =
//       users.Set("alice", alice);                   // WRITE durability
//   std::shared_ptr<const example::v1::User> u = users.Get("alice")->value;
//
// Values are T (no casts at the call site); everything else, including
// errors, durability and thread-safety, is DynamicMap's (dynamic_map.h).
// A Map<T> is a cheap handle, valid while its Store lives.
#ifndef PERSIST_STORAGE_MAP_H_
#define PERSIST_STORAGE_MAP_H_

#include <memory>
#include <type_traits>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "storage/dynamic_map.h"
#include "storage/write_options.h"

namespace persist {

template <typename T>
class Map {
  static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                "Map<T> needs a generated protobuf message type");

 public:
  using UpdateFunction = absl::FunctionRef<UpdateDecision<T>(const T* current)>;
  using ScanFunction =
      absl::FunctionRef<bool(absl::string_view key, const Entry<T>&)>;

  // Store::DeclareMap<T> and Store::GetMap<T> check that `map` holds T.
  explicit Map(DynamicMap* map) : map_(map) {}

  const std::string& name() const { return map_->name(); }
  DynamicMap& dynamic() const { return *map_; }

  absl::StatusOr<Entry<T>> Get(absl::string_view key) const {
    absl::StatusOr<Entry<google::protobuf::Message>> entry = map_->Get(key);
    if (!entry.ok()) return entry.status();
    return Cast(*std::move(entry));
  }

  absl::StatusOr<WriteResult> Set(absl::string_view key,
                                  std::shared_ptr<const T> value,
                                  const WriteOptions& options = {}) {
    return map_->Set(key, std::move(value), options);
  }
  absl::StatusOr<WriteResult> Set(absl::string_view key, T value,
                                  const WriteOptions& options = {}) {
    return Set(key, std::make_shared<const T>(std::move(value)), options);
  }
  void StartSet(absl::string_view key, std::shared_ptr<const T> value,
                const WriteOptions& options, WriteCallback done) {
    map_->StartSet(key, std::move(value), options, std::move(done));
  }

  absl::StatusOr<WriteResult> Delete(absl::string_view key,
                                     const WriteOptions& options = {}) {
    return map_->Delete(key, options);
  }
  void StartDelete(absl::string_view key, const WriteOptions& options,
                   WriteCallback done) {
    map_->StartDelete(key, options, std::move(done));
  }

  absl::StatusOr<UpdateResult> Update(absl::string_view key, UpdateFunction fn,
                                      const WriteOptions& options = {}) {
    return map_->Update(key, Erase(fn), options);
  }
  void StartUpdate(absl::string_view key, UpdateFunction fn,
                   const WriteOptions& options, UpdateCallback done) {
    map_->StartUpdate(key, Erase(fn), options, std::move(done));
  }

  absl::Status SetInMemory(absl::string_view key, T value) {
    return map_->SetInMemory(key, std::make_shared<const T>(std::move(value)));
  }
  absl::StatusOr<UpdateResult> UpdateInMemory(absl::string_view key,
                                              UpdateFunction fn) {
    return map_->UpdateInMemory(key, Erase(fn));
  }

  int64_t Size() const { return map_->Size(); }

  // In key order; see DynamicMap::Scan.
  absl::Status Scan(absl::string_view prefix, absl::string_view start_after,
                    ScanFunction fn) const {
    return map_->Scan(prefix, start_after,
                      [&fn](absl::string_view key,
                            const Entry<google::protobuf::Message>& entry) {
                        return fn(key, Cast(entry));
                      });
  }
  absl::Status Range(ScanFunction fn) const { return Scan("", "", fn); }

 private:
  static Entry<T> Cast(Entry<google::protobuf::Message> entry) {
    // Safe: every value of the map is a T (generated factory, type checked
    // on every write).
    return {std::static_pointer_cast<const T>(std::move(entry.value)),
            entry.etag, entry.expires};
  }

  // Wraps a typed update function for DynamicMap. The returned lambda
  // refers to `fn`; it is used before the call returns.
  static auto Erase(const UpdateFunction& fn) {
    return [&fn](const google::protobuf::Message* current) {
      UpdateDecision<T> decision = fn(static_cast<const T*>(current));
      switch (decision.kind()) {
        case UpdateDecision<T>::Kind::kSet:
          return UpdateDecision<google::protobuf::Message>::Set(
              decision.value());
        case UpdateDecision<T>::Kind::kDelete:
          return UpdateDecision<google::protobuf::Message>::Delete();
        case UpdateDecision<T>::Kind::kCancel:
          break;
      }
      return UpdateDecision<google::protobuf::Message>::Cancel();
    };
  }

  DynamicMap* map_;
};

}  // namespace persist

#endif  // PERSIST_STORAGE_MAP_H_
