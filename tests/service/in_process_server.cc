#include "tests/service/in_process_server.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace persist::testing {

InProcessServer::InProcessServer(std::vector<MapDeclaration> maps,
                                 service::ServiceOptions options,
                                 FileSystem* file_system) {
  StoreOptions store_options;
  store_options.path = dir_.Path("data.wal");
  store_options.maps = std::move(maps);
  store_options.file_system = file_system;
  store_options.log = [](LogLevel, absl::string_view) {};
  store_options.auto_shrink.enabled = false;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "InProcessServer: %s\n",
                 store.status().ToString().c_str());
    std::abort();
  }
  store_ = *std::move(store);
  service_ = std::make_unique<service::PersistService>(store_.get(), options);
  grpc::ServerBuilder builder;
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
}

InProcessServer::~InProcessServer() {
  server_->Shutdown();
  server_->Wait();
}

std::shared_ptr<grpc::Channel> InProcessServer::Channel() const {
  return server_->InProcessChannel({});
}

}  // namespace persist::testing
