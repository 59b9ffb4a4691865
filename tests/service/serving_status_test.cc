// persistd's health status and the engine's failure report, wired as
// persistd wires them: a store on the fault-injecting file layer whose
// on_write_failure marks a ServingStatus failed, over the health services
// of two real gRPC servers (the main port and the health port), and, for
// ThreadSanitizer, over recording ones with writers racing the failure.
#include "service/serving_status.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/fault_injection_file_system.h"
#include "tests/storage/test_files.h"

namespace persist::service {
namespace {

using grpc::health::v1::HealthCheckResponse;
using persist::test::v1::Item;
using testing::FaultInjectionFileSystem;

class HealthServer {
 public:
  HealthServer() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(&fallback_);
    server_ = builder.BuildAndStart();
  }
  ~HealthServer() { server_->Shutdown(); }

  grpc::HealthCheckServiceInterface* health() {
    return server_->GetHealthCheckService();
  }
  HealthCheckResponse::ServingStatus Check() {
    auto stub = grpc::health::v1::Health::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub->Check(&context, {}, &response).ok());
    return response.status();
  }

 private:
  grpc::CallbackGenericService fallback_;  // a callback method gRPC wants
  std::unique_ptr<grpc::Server> server_;
};

// A store whose failure report marks `serving` failed, as persistd wires it
// (the report runs on the WAL's thread).
std::unique_ptr<Store> OpenStore(const testing::TempDir& dir,
                                 FaultInjectionFileSystem& fs,
                                 ServingStatus& serving) {
  StoreOptions options =
      testing::QuietStoreOptions(dir, {{"items", Item::descriptor()}}, &fs);
  options.on_write_failure = [&serving](const absl::Status&) {
    serving.MarkFailed();
  };
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// gRPC's health service interface, remembering what it was told. For the
// ThreadSanitizer run: there gRPC's own threads, in libraries not built
// with TSan, would be all it reports.
class RecordingHealth final : public grpc::HealthCheckServiceInterface {
 public:
  void SetServingStatus(const std::string&, bool serving) override {
    SetServingStatus(serving);
  }
  void SetServingStatus(bool serving) override {
    MutexLock lock(&mu_);
    serving_ = serving;
  }
  bool serving() {
    MutexLock lock(&mu_);
    return serving_;
  }

 private:
  Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = true;
};

TEST(ServingStatusWithoutServersTest,
     ConcurrentWritersAndAFailureEndNotServing) {
  RecordingHealth main_port;
  RecordingHealth health_port;
  ServingStatus serving;
  serving.Add(&main_port);
  serving.Add(&health_port);
  EXPECT_FALSE(main_port.serving());  // loading
  testing::TempDir dir;
  FaultInjectionFileSystem fs;
  std::unique_ptr<Store> store = OpenStore(dir, fs, serving);
  ASSERT_NE(store, nullptr);
  serving.Set(true);
  EXPECT_TRUE(main_port.serving());

  Map<Item> items = *store->GetMap<Item>("items");
  fs.FailAfter(FaultInjectionFileSystem::Op::kAppend, 20,
               absl::InternalError("injected EIO"));
  Notification go;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      go.WaitForNotification();
      for (int i = 0; i < 50; ++i) {
        (void)items.Set(absl::StrCat(t, "-", i), Item());
      }
    });
  }
  go.Notify();
  serving.Set(true);  // persistd's "loaded", racing the failure
  for (std::thread& writer : writers) writer.join();
  EXPECT_FALSE(store->Health().ok());
  EXPECT_FALSE(main_port.serving());
  EXPECT_FALSE(health_port.serving());
  serving.Set(true);
  EXPECT_FALSE(main_port.serving());
}

TEST(ServingStatusTest, AFailedWriteTurnsEveryPortNotServingForGood) {
  HealthServer main_port;
  HealthServer health_port;
  ServingStatus serving;
  serving.Add(main_port.health());
  serving.Add(health_port.health());
  EXPECT_EQ(main_port.Check(), HealthCheckResponse::NOT_SERVING);  // loading

  testing::TempDir dir;
  FaultInjectionFileSystem fs;
  std::unique_ptr<Store> store = OpenStore(dir, fs, serving);
  ASSERT_NE(store, nullptr);
  serving.Set(true);
  EXPECT_EQ(main_port.Check(), HealthCheckResponse::SERVING);
  EXPECT_EQ(health_port.Check(), HealthCheckResponse::SERVING);

  Map<Item> items = *store->GetMap<Item>("items");
  fs.FailAfter(FaultInjectionFileSystem::Op::kAppend, 0,
               absl::InternalError("injected EIO"));
  ASSERT_FALSE(items.Set("a", Item()).ok());
  // Reported before the write's caller heard of it.
  EXPECT_EQ(main_port.Check(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(health_port.Check(), HealthCheckResponse::NOT_SERVING);
  // A later "serving" (persistd's, once loaded) does not undo it.
  serving.Set(true);
  EXPECT_EQ(main_port.Check(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(health_port.Check(), HealthCheckResponse::NOT_SERVING);
}

}  // namespace
}  // namespace persist::service
