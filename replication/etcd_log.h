// EtcdLog: the commit log of a replicated store on etcd (DESIGN.md section
// 9). Entry <seq> is the key `<prefix>/log/<seq>`, holding the exact bytes
// of one group-commit batch of WAL records.
//
// Append is the leader's: one transaction per batch,
//   If(create_revision(<prefix>/leader) == term AND
//      version(<prefix>/log/<seq>) == 0)
//   Then Put(<prefix>/log/<seq>, records)
// so an entry is written once, and only by the replica that holds the term:
// a replica whose lease ended (and so whose leader key is gone, or another
// replica's) is refused, whatever it believes. etcd answers once the entry
// is on a quorum of its members' disks.
//
// Read is anyone's: entries in seq order, for followers and for checks.
#ifndef PERSIST_REPLICATION_ETCD_LOG_H_
#define PERSIST_REPLICATION_ETCD_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "replication/etcd_connection.h"
#include "replication/etcd_keys.h"
#include "storage/commit_log.h"

namespace persist::replication {

struct LogEntry {
  uint64_t seq = 0;
  std::string records;
  // etcd's revision of the Put that wrote it.
  int64_t revision = 0;
};

class EtcdLog final : public CommitLog {
 public:
  // `term`: the leader's (LeaderLease::term()); 0 for a log that is only
  // read. Entries larger than `max_entry_bytes` are refused before they
  // reach etcd (whose own limit, --max-request-bytes, is 1.5 MiB by
  // default).
  EtcdLog(EtcdConnection etcd, EtcdKeys keys, int64_t term,
          size_t max_entry_bytes = 1 << 20);

  // Unavailable if etcd does not answer within the call timeout, tries
  // after a member's failure included (the entry may or may not be in the
  // log then); FailedPrecondition if the term is over or the entry holds
  // other records (another leader wrote it: this one is deposed);
  // InvalidArgument for an entry over max_entry_bytes.
  absl::Status Append(uint64_t seq, absl::string_view records,
                      int64_t count) override;

  // Up to `limit` entries from `from` on, in seq order, as one consistent
  // read. Fewer than `limit` means the log ends there (for now).
  absl::StatusOr<std::vector<LogEntry>> Read(uint64_t from,
                                             int64_t limit) const;

 private:
  // Why a fenced append was refused, from the failure branch's reads.
  absl::Status Refusal(uint64_t seq, absl::string_view records,
                       const etcdserverpb::TxnResponse& answer) const;

  const EtcdConnection etcd_;
  const EtcdKeys keys_;
  const int64_t term_;
  const size_t max_entry_bytes_;
  const std::unique_ptr<etcdserverpb::KV::Stub> kv_;
};

}  // namespace persist::replication

#endif  // PERSIST_REPLICATION_ETCD_LOG_H_
