// Uses persist::storage from an installed prefix: writes a value to the
// data file argv[1], reopens it and prints what came back.
#include <iostream>
#include <memory>

#include "google/protobuf/struct.pb.h"
#include "storage/store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: storage_user DATA_FILE\n";
    return 64;
  }
  persist::StoreOptions options;
  options.path = argv[1];
  options.maps = {{"config", google::protobuf::Struct::descriptor()}};
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<std::unique_ptr<persist::Store>> store =
        persist::Store::Open(options);
    if (!store.ok()) {
      std::cerr << "storage_user: " << store.status() << "\n";
      return 1;
    }
    auto config = (*store)->GetMap<google::protobuf::Struct>("config");
    if (round == 0) {
      google::protobuf::Struct value;
      (*value.mutable_fields())["greeting"].set_string_value("hello");
      if (!config->Set("app", value).ok()) return 1;
    } else {
      absl::StatusOr<persist::Entry<google::protobuf::Struct>> got =
          config->Get("app");
      if (!got.ok() || !got->found()) return 1;
      std::cout << got->value->fields().at("greeting").string_value() << "\n";
    }
  }
  return 0;
}
