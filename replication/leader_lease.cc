#include "replication/leader_lease.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/json_escape.h"
#include "replication/etcd_status.h"

namespace persist::replication {
namespace {

// How long a campaign waits between two attempts: a fraction of the TTL,
// so that a replica takes over soon after the old lease ends.
absl::Duration RetryInterval(absl::Duration ttl) {
  return std::clamp(ttl / 8, absl::Milliseconds(50), absl::Milliseconds(500));
}

void RevokeQuietly(etcdserverpb::Lease::Stub& stub, const EtcdConnection& etcd,
                   int64_t lease_id) {
  grpc::ClientContext context;
  etcd.Prepare(&context);
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseRevokeResponse response;
  // A lease that is not revoked ends after its TTL anyway.
  (void)stub.LeaseRevoke(&context, request, &response);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LeaderLease>> LeaderLease::TryAcquire(
    const EtcdConnection& etcd, const EtcdKeys& keys, const Options& options) {
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_stub =
      etcdserverpb::Lease::NewStub(etcd.channel);
  std::unique_ptr<etcdserverpb::KV::Stub> kv =
      etcdserverpb::KV::NewStub(etcd.channel);

  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(options.ttl)))));
  etcdserverpb::LeaseGrantResponse granted;
  const absl::Time sent = absl::Now();
  {
    const grpc::Status status = etcd.Call([&](grpc::ClientContext* context) {
      return lease_stub->LeaseGrant(context, grant, &granted);
    });
    if (!status.ok()) return EtcdError(status, "LeaseGrant", etcd.endpoints);
  }
  if (!granted.error().empty() || granted.ttl() <= 0) {
    return absl::UnavailableError(
        absl::StrCat("etcd LeaseGrant at ", etcd.endpoints,
                     " granted no lease: ", granted.error()));
  }

  // Create the leader key only if there is none; otherwise read it, to
  // name the leader.
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* absent = txn.add_compare();
  absent->set_result(etcdserverpb::Compare::EQUAL);
  absent->set_target(etcdserverpb::Compare::CREATE);
  absent->set_key(keys.Leader());
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(keys.Leader());
  put->set_value(absl::StrCat("{\"member\":", QuoteJsonString(options.member),
                              ",\"address\":", QuoteJsonString(options.address),
                              "}"));
  put->set_lease(granted.id());
  txn.add_failure()->mutable_request_range()->set_key(keys.Leader());
  etcdserverpb::TxnResponse answer;
  {
    // A retry after a try that wrote the key finds it held by this very
    // lease: that is a win too.
    const grpc::Status status = etcd.Call([&](grpc::ClientContext* context) {
      return kv->Txn(context, txn, &answer);
    });
    if (!status.ok()) {
      RevokeQuietly(*lease_stub, etcd, granted.id());
      return EtcdError(status, "Txn (campaign)", etcd.endpoints);
    }
  }
  int64_t term = answer.header().revision();
  if (!answer.succeeded()) {
    const etcdserverpb::RangeResponse& leader =
        answer.responses(0).response_range();
    if (leader.kvs_size() == 1 && leader.kvs(0).lease() == granted.id()) {
      term = leader.kvs(0).create_revision();
    } else {
      RevokeQuietly(*lease_stub, etcd, granted.id());
      if (leader.kvs_size() == 0) {
        return absl::UnavailableError(absl::StrCat(
            "the leader key ", keys.Leader(),
            " was deleted while this replica campaigned: campaign again"));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "another replica leads ", keys.prefix(), ": ", leader.kvs(0).value(),
          " (term ", leader.kvs(0).create_revision(),
          "); this replica may lead once that replica's lease ends"));
    }
  }
  const absl::Duration granted_ttl = absl::Seconds(granted.ttl());
  return std::unique_ptr<LeaderLease>(new LeaderLease(
      etcd, granted.id(), granted_ttl, term, sent + granted_ttl));
}

absl::StatusOr<std::unique_ptr<LeaderLease>> LeaderLease::Campaign(
    const EtcdConnection& etcd, const EtcdKeys& keys, const Options& options,
    absl::Duration timeout) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  for (;;) {
    absl::StatusOr<std::unique_ptr<LeaderLease>> lease =
        TryAcquire(etcd, keys, options);
    if (lease.ok()) return lease;
    const absl::StatusCode code = lease.status().code();
    if (code != absl::StatusCode::kFailedPrecondition &&
        code != absl::StatusCode::kUnavailable) {
      return lease.status();
    }
    if (absl::Now() + RetryInterval(options.ttl) >= deadline) {
      return absl::Status(
          code, absl::StrCat("campaigned for ",
                             absl::FormatDuration(absl::Now() - start),
                             " without leading: ", lease.status().message()));
    }
    absl::SleepFor(RetryInterval(options.ttl));
  }
}

LeaderLease::LeaderLease(const EtcdConnection& etcd, int64_t lease_id,
                         absl::Duration granted_ttl, int64_t term,
                         absl::Time expires)
    : etcd_(etcd),
      lease_stub_(etcdserverpb::Lease::NewStub(etcd.channel)),
      lease_id_(lease_id),
      granted_ttl_(granted_ttl),
      term_(term),
      expires_(expires) {
  renewer_ = std::thread([this] { RenewUntilStopped(); });
}

LeaderLease::~LeaderLease() { Stop(); }

void LeaderLease::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    changed_.SignalAll();
  }
  if (renewer_.joinable()) renewer_.join();
}

bool LeaderLease::held() const {
  MutexLock lock(&mu_);
  return !lost_;
}

bool LeaderLease::WaitUntilLost(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&mu_);
  while (!lost_) {
    if (absl::Now() >= deadline) return false;
    changed_.WaitWithTimeout(&mu_, deadline - absl::Now());
  }
  return true;
}

int64_t LeaderLease::renewals() const {
  MutexLock lock(&mu_);
  return renewals_;
}

bool LeaderLease::WaitForRenewals(int64_t count, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&mu_);
  while (renewals_ < count) {
    if (lost_ || absl::Now() >= deadline) return false;
    changed_.WaitWithTimeout(&mu_, deadline - absl::Now());
  }
  return true;
}

absl::Status LeaderLease::Resign() {
  Stop();
  {
    MutexLock lock(&mu_);
    lost_ = true;
    changed_.SignalAll();
  }
  grpc::ClientContext context;
  etcd_.Prepare(&context);
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease_id_);
  etcdserverpb::LeaseRevokeResponse response;
  return EtcdError(lease_stub_->LeaseRevoke(&context, request, &response),
                   "LeaseRevoke", etcd_.endpoints);
}

void LeaderLease::RenewUntilStopped() {
  const absl::Duration interval = granted_ttl_ / 3;
  absl::Time next = absl::Now() + interval;
  for (;;) {
    absl::Time expires;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && absl::Now() < next) {
        changed_.WaitWithTimeout(&mu_, next - absl::Now());
      }
      if (stopping_) return;
      expires = expires_;
    }
    const absl::Time sent = absl::Now();
    const absl::StatusOr<int64_t> ttl =
        KeepAliveOnce(std::min(sent + etcd_.call_timeout, expires));
    MutexLock lock(&mu_);
    if (ttl.ok() && *ttl > 0) {
      expires_ = sent + absl::Seconds(*ttl);
      ++renewals_;
      next = sent + interval;
    } else if (ttl.ok() || absl::Now() >= expires_) {
      // etcd answered that the lease is gone, or it would have expired
      // before any renewal got through.
      lost_ = true;
      changed_.SignalAll();
      return;
    } else {
      next = absl::Now() + interval / 4;  // a failed round trip: try again
    }
    changed_.SignalAll();
  }
}

absl::StatusOr<int64_t> LeaderLease::KeepAliveOnce(absl::Time deadline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  context.set_wait_for_ready(true);
  std::unique_ptr<
      grpc::ClientReaderWriter<etcdserverpb::LeaseKeepAliveRequest,
                               etcdserverpb::LeaseKeepAliveResponse>>
      stream = lease_stub_->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_id_);
  etcdserverpb::LeaseKeepAliveResponse response;
  const bool answered = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  if (!answered) {
    absl::Status error = EtcdError(status, "LeaseKeepAlive", etcd_.endpoints);
    if (error.ok()) {
      error = absl::UnavailableError(absl::StrCat(
          "etcd LeaseKeepAlive at ", etcd_.endpoints, ": no answer"));
    }
    return error;
  }
  return response.ttl();
}

}  // namespace persist::replication
