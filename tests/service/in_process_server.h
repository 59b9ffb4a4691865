// A store on a temporary folder served by PersistService on a real gRPC
// server, reached through an in-process channel: for service and client
// tests.
#ifndef PERSIST_TESTS_SERVICE_IN_PROCESS_SERVER_H_
#define PERSIST_TESTS_SERVICE_IN_PROCESS_SERVER_H_

#include <memory>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "service/persist_service.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

namespace persist::testing {

class InProcessServer {
 public:
  // Serves `maps` from a new data file; `file_system` may be null.
  InProcessServer(std::vector<MapDeclaration> maps,
                  service::ServiceOptions options = {},
                  FileSystem* file_system = nullptr);
  ~InProcessServer();

  std::shared_ptr<grpc::Channel> Channel() const;
  Store& store() const { return *store_; }
  service::PersistService& service() const { return *service_; }

 private:
  TempDir dir_;
  // Before the store, which calls its change listener: it goes last.
  std::unique_ptr<service::PersistService> service_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_SERVICE_IN_PROCESS_SERVER_H_
