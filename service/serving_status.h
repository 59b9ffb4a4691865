// ServingStatus: persistd's grpc.health.v1 status, kept the same on every
// server that answers health checks (the main port and, when configured,
// the plaintext health port). A store that stopped taking writes stays
// NOT_SERVING: MarkFailed wins over any later Set(true).
//
// Thread-safety: all methods may be called from any thread; the store's
// failure callback calls MarkFailed from the WAL's thread. Lock order: mu_,
// then gRPC's health service's own lock (SetServingStatus takes it).
#ifndef PERSIST_SERVICE_SERVING_STATUS_H_
#define PERSIST_SERVICE_SERVING_STATUS_H_

#include <string>
#include <vector>

#include "base/mutex.h"
#include "grpcpp/health_check_service_interface.h"

namespace persist::service {

class ServingStatus {
 public:
  ServingStatus() = default;
  ServingStatus(const ServingStatus&) = delete;
  ServingStatus& operator=(const ServingStatus&) = delete;

  // `health` (which must outlive this object's use) takes the current
  // status now and every later one, for the server as a whole (service "")
  // and for each of `names` (so that a check of "persist.v1.Persist" is not
  // NOT_FOUND).
  void Add(grpc::HealthCheckServiceInterface* health,
           const std::vector<std::string>& names = {}) {
    MutexLock lock(&mu_);
    for (const std::string& name : names) {
      health->SetServingStatus(name, serving_);
    }
    health->SetServingStatus(serving_);  // sets the named ones too
    services_.push_back(health);
  }

  // SERVING or NOT_SERVING; SERVING is ignored after MarkFailed.
  void Set(bool serving) {
    MutexLock lock(&mu_);
    SetLocked(serving && !failed_);
  }

  // NOT_SERVING from now on.
  void MarkFailed() {
    MutexLock lock(&mu_);
    failed_ = true;
    SetLocked(false);
  }

 private:
  void SetLocked(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    serving_ = serving;
    for (grpc::HealthCheckServiceInterface* health : services_) {
      health->SetServingStatus(serving);
    }
  }

  Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<grpc::HealthCheckServiceInterface*> services_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_SERVING_STATUS_H_
