// The embedded default: opens a store on the example schema, writes and
// reads a few typed records, and prints the WAL so that a newcomer sees
// what persist keeps on disk.
//
// Usage: store_demo [wal path]   (default: persist-demo.wal here)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "example/v1/user.pb.h"
#include "google/protobuf/util/time_util.h"
#include "storage/store.h"

namespace {

using example::v1::User;

User MakeUser(const std::string& name, int age,
              std::initializer_list<const char*> tags) {
  User user;
  user.set_name(name);
  user.set_email(name + "@example.com");
  user.set_age(age);
  for (const char* tag : tags) user.add_tags(tag);
  *user.mutable_created_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          absl::ToUnixSeconds(absl::FromCivil(
              absl::CivilSecond(2026, 11, 25, 9, 0, 0), absl::UTCTimeZone())));
  (*user.mutable_labels())["team"] = "storage";
  return user;
}

int Fail(const absl::Status& status) {
  std::cerr << "store_demo: " << status << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  persist::StoreOptions options;
  options.path = argc > 1 ? argv[1] : "persist-demo.wal";
  options.maps = {{"users", User::descriptor()}};
  absl::StatusOr<std::unique_ptr<persist::Store>> store =
      persist::Store::Open(options);
  if (!store.ok()) return Fail(store.status());
  persist::Map<User> users = *(*store)->GetMap<User>("users");

  persist::WriteOptions fsync;
  fsync.durability = persist::Durability::kFsync;
  for (const auto& [status, what] :
       {std::pair{users.Set("alice", MakeUser("alice", 34, {"admin"}), fsync)
                      .status(),
                  "set alice (FSYNC)"},
        std::pair{users.Set("bob", MakeUser("bob", 27, {})).status(),
                  "set bob (WRITE)"},
        std::pair{users.Set("carol", MakeUser("carol", 45, {"ops", "oncall"}))
                      .status(),
                  "set carol (WRITE)"},
        std::pair{users.Delete("bob").status(), "delete bob (WRITE)"}}) {
    if (!status.ok()) return Fail(status);
    std::cout << what << "\n";
  }
  absl::StatusOr<persist::UpdateResult> birthday =
      users.Update("carol", [](const User* current) {
        if (current == nullptr) return persist::UpdateDecision<User>::Cancel();
        auto next = std::make_shared<User>(*current);
        next->set_age(current->age() + 1);
        return persist::UpdateDecision<User>::Set(std::move(next));
      });
  if (!birthday.ok()) return Fail(birthday.status());
  std::cout << "update carol: age + 1\n\n";

  absl::StatusOr<persist::Entry<User>> carol = users.Get("carol");
  if (!carol.ok()) return Fail(carol.status());
  std::cout << "get carol -> " << carol->value->ShortDebugString()
            << "\n   etag " << carol->etag.ToString() << "\n";
  std::cout << "get bob   -> "
            << (users.Get("bob")->found() ? "found" : "not found") << "\n\n";

  const persist::StoreStats stats = (*store)->Stats();
  std::cout << "stats: " << stats.live_keys << " live keys, "
            << stats.wal_records << " WAL records, " << stats.file_bytes
            << " bytes\n";
  if (absl::Status closed = (*store)->Close(); !closed.ok())
    return Fail(closed);

  std::ifstream file(options.path);
  std::stringstream contents;
  contents << file.rdbuf();
  std::cout << "\n---- " << options.path << " ----\n"
            << contents.str() << "---- end ----\n"
            << "Run again: the store reopens this file and appends.\n";
  return 0;
}
