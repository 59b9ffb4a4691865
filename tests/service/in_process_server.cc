#include "tests/service/in_process_server.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace persist::testing {

InProcessServer::InProcessServer(std::vector<MapDeclaration> maps,
                                 service::ServiceOptions options,
                                 FileSystem* file_system) {
  service_ = std::make_unique<service::PersistService>(options);
  StoreOptions store_options =
      QuietStoreOptions(dir_, std::move(maps), file_system);
  store_options.history.max_changes = kServerMaxChanges;  // as persistd's
  store_options.on_change = service_->ChangeListener();
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(store_options);
  if (!store.ok()) {
    std::fprintf(stderr, "InProcessServer: %s\n",
                 store.status().ToString().c_str());
    std::abort();
  }
  store_ = *std::move(store);
  service_->SetStore(store_.get());
  grpc::ServerBuilder builder;
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
}

InProcessServer::~InProcessServer() {
  // Ends open Watch streams, which Shutdown would wait for.
  service_->Drain(absl::ZeroDuration(), absl::Now());
  server_->Shutdown();
  server_->Wait();
}

std::shared_ptr<grpc::Channel> InProcessServer::Channel() const {
  return server_->InProcessChannel({});
}

}  // namespace persist::testing
