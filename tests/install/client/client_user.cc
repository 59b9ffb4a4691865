// Uses persist::client from an installed prefix: lists the maps of the
// persistd at argv[1].
#include <iostream>

// cached_map.h and watch_call.h are installed with it.
#include "clients/cpp/cached_map.h"
#include "clients/cpp/persist_client.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: client_user HOST:PORT\n";
    return 64;
  }
  auto client = persist::client::Client::Connect(argv[1]);
  absl::StatusOr<persist::v1::ListMapsResponse> maps = client->ListMaps();
  if (!maps.ok()) {
    std::cerr << "client_user: " << maps.status() << "\n";
    return 1;
  }
  for (const persist::v1::MapInfo& map : maps->maps()) {
    std::cout << map.name() << " " << map.type() << "\n";
  }
  return 0;
}
