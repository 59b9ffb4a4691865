// Calls a running persistd with the typed C++ client: writes, updates,
// lists and reads example.v1.User records in the map "users" (the map that
// persistd's embedded default serves).
//
// Usage: client_demo [HOST:PORT]   persistd's address (default
// 127.0.0.1:50051, where scripts/run.sh serves)
#include <iostream>
#include <memory>
#include <string>

#include "clients/cpp/persist_client.h"
#include "example/v1/user.pb.h"

constexpr char kUsage[] =
    "usage: client_demo [HOST:PORT]\n"
    "Writes, updates and lists example.v1.User records in the map \"users\"\n"
    "of the persistd at HOST:PORT (default 127.0.0.1:50051).\n";

int main(int argc, char** argv) {
  using example::v1::User;
  const std::string arg = argc > 1 ? argv[1] : "";
  if (arg == "--help" || arg == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (argc > 2 || (!arg.empty() && arg[0] == '-')) {
    std::cerr << kUsage;
    return 64;  // EX_USAGE
  }
  const std::string address = arg.empty() ? "127.0.0.1:50051" : arg;
  std::unique_ptr<persist::client::Client> client =
      persist::client::Client::Connect(address);
  persist::client::TypedMap<User> users = client->Map<User>("users");

  User ada;
  ada.set_name("ada");
  ada.set_email("ada@example.com");
  ada.set_age(36);
  persist::client::CallOptions fsync;
  fsync.durability = persist::v1::FSYNC;
  absl::StatusOr<persist::client::WriteResult> set =
      users.Set("ada", ada, fsync);
  if (!set.ok()) {
    std::cerr << "set ada: " << set.status() << "\nIs persistd running on "
              << address << "?\n";
    return 1;
  }
  std::cout << "set ada (FSYNC), etag " << set->etag << "\n";

  User patch;
  patch.set_age(37);
  absl::StatusOr<persist::client::Entry<User>> updated =
      users.Update("ada", patch, {"age"});
  if (!updated.ok()) {
    std::cerr << "update ada: " << updated.status() << "\n";
    return 1;
  }
  std::cout << "update ada.age -> " << updated->value.ShortDebugString()
            << "\n";

  absl::StatusOr<persist::client::Page<User>> page = users.List("", 10);
  if (!page.ok()) {
    std::cerr << "list: " << page.status() << "\n";
    return 1;
  }
  std::cout << "users:\n";
  for (const auto& [key, entry] : page->entries) {
    std::cout << "  " << key << ": " << entry.value.ShortDebugString() << "\n";
  }
  return 0;
}
