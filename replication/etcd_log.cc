#include "replication/etcd_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "replication/etcd_status.h"

namespace persist::replication {
EtcdLog::EtcdLog(EtcdConnection etcd, EtcdKeys keys, int64_t term,
                 size_t max_entry_bytes)
    : etcd_(std::move(etcd)),
      keys_(std::move(keys)),
      term_(term),
      max_entry_bytes_(max_entry_bytes),
      kv_(etcdserverpb::KV::NewStub(etcd_.channel)) {}

absl::Status EtcdLog::Append(uint64_t seq, absl::string_view records,
                             int64_t count) {
  if (records.size() > max_entry_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "log entry ", seq, " of ", count, " changes is ", records.size(),
        " bytes, over the largest entry of ", max_entry_bytes_,
        " bytes (replication's max_entry_bytes; etcd's --max-request-bytes "
        "must be larger still)"));
  }
  const std::string entry_key = keys_.LogEntry(seq);
  etcdserverpb::TxnRequest txn;
  etcdserverpb::Compare* leads = txn.add_compare();
  leads->set_result(etcdserverpb::Compare::EQUAL);
  leads->set_target(etcdserverpb::Compare::CREATE);
  leads->set_key(keys_.Leader());
  leads->set_create_revision(term_);
  etcdserverpb::Compare* unwritten = txn.add_compare();
  unwritten->set_result(etcdserverpb::Compare::EQUAL);
  unwritten->set_target(etcdserverpb::Compare::VERSION);
  unwritten->set_key(entry_key);
  unwritten->set_version(0);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(entry_key);
  put->set_value(records.data(), records.size());
  // On refusal, read what refused it, in the same round trip.
  txn.add_failure()->mutable_request_range()->set_key(keys_.Leader());
  txn.add_failure()->mutable_request_range()->set_key(entry_key);

  // A retry cannot write twice (the entry's version must be 0); if an
  // earlier try did write it, the refusal finds these records there.
  etcdserverpb::TxnResponse answer;
  int tries = 0;
  const grpc::Status status = etcd_.Call(
      [&](grpc::ClientContext* context) {
        return kv_->Txn(context, txn, &answer);
      },
      &tries);
  if (!status.ok()) {
    const absl::Status error =
        EtcdError(status,
                  absl::StrCat("Txn (append of log entry ", seq, ", ", tries,
                               tries == 1 ? " try" : " tries", ")"),
                  etcd_.endpoints);
    return absl::Status(
        error.code(), absl::StrCat(error.message(),
                                   "; the entry may or may not be in the log"));
  }
  return answer.succeeded() ? absl::OkStatus() : Refusal(seq, records, answer);
}

absl::Status EtcdLog::Refusal(uint64_t seq, absl::string_view records,
                              const etcdserverpb::TxnResponse& answer) const {
  const etcdserverpb::RangeResponse& entry =
      answer.responses(1).response_range();
  if (entry.kvs_size() == 1) {
    // An earlier try of this append wrote it: committed.
    if (entry.kvs(0).value() == records) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "log entry ", keys_.LogEntry(seq),
        " exists already with other records: another leader appended at "
        "this position, so this replica's history is not the log's"));
  }
  const etcdserverpb::RangeResponse& leader =
      answer.responses(0).response_range();
  if (leader.kvs_size() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("deposed: the leader key ", keys_.Leader(),
                     " is gone (the lease of term ", term_,
                     " ended), so log entry ", seq, " was not written"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "deposed: ", leader.kvs(0).value(), " leads in term ",
      leader.kvs(0).create_revision(), ", not this replica's term ", term_,
      ", so log entry ", seq, " was not written"));
}

absl::StatusOr<std::vector<LogEntry>> EtcdLog::Read(uint64_t from,
                                                    int64_t limit) const {
  etcdserverpb::RangeRequest request;
  request.set_key(keys_.LogEntry(from));
  request.set_range_end(keys_.LogEnd());
  request.set_limit(limit);
  request.set_sort_order(etcdserverpb::RangeRequest::ASCEND);
  request.set_sort_target(etcdserverpb::RangeRequest::KEY);
  etcdserverpb::RangeResponse response;
  const grpc::Status status = etcd_.Call([&](grpc::ClientContext* context) {
    return kv_->Range(context, request, &response);
  });
  if (!status.ok()) {
    return EtcdError(status, absl::StrCat("Range (log from entry ", from, ")"),
                     etcd_.endpoints);
  }
  std::vector<LogEntry> entries;
  entries.reserve(response.kvs_size());
  for (const mvccpb::KeyValue& kv : response.kvs()) {
    const std::optional<uint64_t> seq = keys_.SeqOf(kv.key());
    if (!seq.has_value()) {
      return absl::DataLossError(absl::StrCat(
          "etcd key \"", kv.key(), "\" lies among the log entries of ",
          keys_.prefix(), " but is not one; remove it"));
    }
    entries.push_back(LogEntry{*seq, kv.value(), kv.mod_revision()});
  }
  return entries;
}

}  // namespace persist::replication
