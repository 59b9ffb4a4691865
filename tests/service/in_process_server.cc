#include "tests/service/in_process_server.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace persist::testing {

InProcessServer::InProcessServer(std::vector<MapDeclaration> maps,
                                 service::ServiceOptions options,
                                 FileSystem* file_system) {
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(QuietStoreOptions(dir_, std::move(maps), file_system));
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
