// LeaderLease: this replica's hold on `<prefix>/leader` (DESIGN.md section
// 9). The key is created under an etcd lease only if it does not exist; its
// create_revision is the term, which every log append compares, so a
// replica whose lease ended can never append again, whatever its clock
// says. A thread renews the lease at a third of its TTL.
//
// held() is this replica's own view: it turns false once a renewal finds
// the lease gone, or none succeeded before the lease would have expired.
// It serves to step down promptly; safety comes from the fenced appends
// (etcd_log.h), not from it.
#ifndef PERSIST_REPLICATION_LEADER_LEASE_H_
#define PERSIST_REPLICATION_LEADER_LEASE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "replication/etcd_connection.h"
#include "replication/etcd_keys.h"

namespace persist::replication {

class LeaderLease {
 public:
  struct Options {
    // This replica's name, and the address it serves on: the leader key's
    // value, for followers to forward to and for operators to read.
    std::string member;
    std::string address;
    // etcd raises a TTL below its minimum (1.5 election timeouts, 2 s with
    // etcd's defaults); term_ttl() says what was granted.
    absl::Duration ttl = absl::Seconds(2);
  };

  // One attempt. FailedPrecondition, naming the leader, if another replica
  // leads; Unavailable if etcd cannot be reached in time.
  static absl::StatusOr<std::unique_ptr<LeaderLease>> TryAcquire(
      const EtcdConnection& etcd, const EtcdKeys& keys, const Options& options);
  // Attempts until this replica leads, or `timeout` passed (the last
  // attempt's error, with how long it campaigned). Another leader's lease
  // ends at most its TTL after that leader stopped renewing it.
  static absl::StatusOr<std::unique_ptr<LeaderLease>> Campaign(
      const EtcdConnection& etcd, const EtcdKeys& keys, const Options& options,
      absl::Duration timeout);

  // Stops renewing without revoking: the lease ends after its TTL, as it
  // would had this process died. Resign() first to hand over at once.
  ~LeaderLease();
  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  int64_t term() const { return term_; }
  int64_t lease_id() const { return lease_id_; }
  absl::Duration granted_ttl() const { return granted_ttl_; }

  bool held() const;
  // True once the lease is lost; false if `timeout` passed first.
  bool WaitUntilLost(absl::Duration timeout) const;
  // Renewals that succeeded so far; WaitForRenewals returns true once
  // there were `count`, false if `timeout` passed or the lease was lost.
  int64_t renewals() const;
  bool WaitForRenewals(int64_t count, absl::Duration timeout) const;

  // Revokes the lease, so the leader key goes now and another replica may
  // lead without waiting for the TTL; renewing stops either way.
  absl::Status Resign();

 private:
  LeaderLease(const EtcdConnection& etcd, int64_t lease_id,
              absl::Duration granted_ttl, int64_t term, absl::Time expires);
  void RenewUntilStopped();
  // One keep-alive round trip; the TTL etcd answered (0: the lease is gone).
  absl::StatusOr<int64_t> KeepAliveOnce(absl::Time deadline);
  void Stop();

  const EtcdConnection etcd_;
  const std::unique_ptr<etcdserverpb::Lease::Stub> lease_stub_;
  const int64_t lease_id_;
  const absl::Duration granted_ttl_;
  const int64_t term_;

  mutable Mutex mu_;
  mutable CondVar changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  int64_t renewals_ ABSL_GUARDED_BY(mu_) = 0;
  // When the lease ends unless renewed, by this process's clock (each
  // renewal's send time plus the TTL it returned).
  absl::Time expires_ ABSL_GUARDED_BY(mu_);
  std::thread renewer_;
};

}  // namespace persist::replication

#endif  // PERSIST_REPLICATION_LEADER_LEASE_H_
