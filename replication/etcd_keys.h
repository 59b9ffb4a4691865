// EtcdKeys: where a replicated store keeps its state in etcd (DESIGN.md
// section 9), every key under the store's prefix:
//
//   <prefix>/leader          the leader's member name and address, under
//                            its lease; its create_revision is the term
//   <prefix>/log/<seq>       one committed batch of WAL records, its exact
//                            bytes; <seq> in 20 decimal digits, so that
//                            etcd's byte order is seq order
//   <prefix>/members/<name>  a member's applied seq, under its lease
#ifndef PERSIST_REPLICATION_ETCD_KEYS_H_
#define PERSIST_REPLICATION_ETCD_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace persist::replication {

class EtcdKeys {
 public:
  // `prefix` names the store, e.g. "/persist/orders"; a trailing '/' is
  // dropped.
  explicit EtcdKeys(absl::string_view prefix);

  const std::string& prefix() const { return prefix_; }
  std::string Leader() const;
  std::string LogEntry(uint64_t seq) const;
  // The range end (etcd's range_end, exclusive) of every log entry.
  std::string LogEnd() const;
  // The seq of a log entry's key, or nothing if `key` is not one.
  std::optional<uint64_t> SeqOf(absl::string_view key) const;
  std::string Member(absl::string_view name) const;

 private:
  std::string prefix_;
};

}  // namespace persist::replication

#endif  // PERSIST_REPLICATION_ETCD_KEYS_H_
