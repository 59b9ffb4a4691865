// ServingStatus: persistd's grpc.health.v1 status, kept the same on every
// server that answers health checks (the main port and, when configured,
// the plaintext health port).
//
// Thread-safety: all methods may be called from any thread; the store's
// failure callback calls Set from the WAL's thread.
#ifndef PERSIST_SERVICE_SERVING_STATUS_H_
#define PERSIST_SERVICE_SERVING_STATUS_H_

#include <vector>

#include "grpcpp/health_check_service_interface.h"
#include "storage/mutex.h"

namespace persist::service {

class ServingStatus {
 public:
  ServingStatus() = default;
  ServingStatus(const ServingStatus&) = delete;
  ServingStatus& operator=(const ServingStatus&) = delete;

  // `health` (which must outlive this object's use) takes the current
  // status now and every later one.
  void Add(grpc::HealthCheckServiceInterface* health) {
    MutexLock lock(&mu_);
    health->SetServingStatus(serving_);
    services_.push_back(health);
  }

  void Set(bool serving) {
    MutexLock lock(&mu_);
    serving_ = serving;
    for (grpc::HealthCheckServiceInterface* health : services_) {
      health->SetServingStatus(serving);
    }
  }

 private:
  Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<grpc::HealthCheckServiceInterface*> services_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_SERVING_STATUS_H_
