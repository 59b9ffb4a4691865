// The commit log on real etcd members (replication/): a replica leads only
// under its lease, its term fences every append, an entry is written once,
// a deposed leader is refused while its successor appends, a renewed lease
// outlives its TTL and an abandoned one ends, a store commits each batch to
// etcd with the bytes its file gets, and appends go on with one of three
// members killed and fail cleanly with all of them gone. Not under
// ThreadSanitizer: gRPC's libraries are not built for it.
#include "replication/etcd_log.h"

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "replication/leader_lease.h"
#include "storage/store.h"
#include "tests/proto/make_item.h"
#include "tests/replication/etcd_cluster.h"
#include "tests/storage/test_files.h"

namespace persist::replication {
namespace {

using persist::test::v1::Item;
using persist::testing::EtcdCluster;
using persist::testing::MakeItem;
using persist::testing::QuietStoreOptions;
using persist::testing::TempDir;
using ::testing::HasSubstr;

constexpr absl::Duration kReady = absl::Seconds(60);

LeaderLease::Options Replica(const std::string& name) {
  return {.member = name, .address = name + ".example:50051"};
}

std::string Bytes(const std::vector<LogEntry>& entries) {
  std::string bytes;
  for (const LogEntry& entry : entries) bytes += entry.records;
  return bytes;
}

class EtcdLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(etcd_.WaitUntilReady(kReady)) << etcd_.error();
  }

  std::unique_ptr<LeaderLease> Lead(const std::string& name) {
    absl::StatusOr<std::unique_ptr<LeaderLease>> lease =
        LeaderLease::TryAcquire(connection_, keys_, Replica(name));
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? *std::move(lease) : nullptr;
  }

  // Ends a lease at etcd, as its TTL would: the leader key goes with it.
  void EndLease(int64_t lease_id) {
    std::unique_ptr<etcdserverpb::Lease::Stub> stub =
        etcdserverpb::Lease::NewStub(connection_.channel);
    grpc::ClientContext context;
    connection_.Prepare(&context);
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(lease_id);
    etcdserverpb::LeaseRevokeResponse response;
    ASSERT_TRUE(stub->LeaseRevoke(&context, request, &response).ok());
  }

  bool LeaderKeyExists() {
    std::unique_ptr<etcdserverpb::KV::Stub> kv =
        etcdserverpb::KV::NewStub(connection_.channel);
    grpc::ClientContext context;
    connection_.Prepare(&context);
    etcdserverpb::RangeRequest request;
    request.set_key(keys_.Leader());
    etcdserverpb::RangeResponse response;
    EXPECT_TRUE(kv->Range(&context, request, &response).ok());
    return response.kvs_size() == 1;
  }

  TempDir dir_;
  EtcdCluster etcd_{dir_.dir(), 1};
  EtcdConnection connection_ = etcd_.Connect();
  EtcdKeys keys_{"/persist/test/"};
};

TEST(EtcdKeysTest, LogKeysSortInSeqOrderAndParseBack) {
  const EtcdKeys keys("/p/");
  EXPECT_EQ(keys.Leader(), "/p/leader");
  EXPECT_EQ(keys.LogEntry(42), "/p/log/00000000000000000042");
  EXPECT_LT(keys.LogEntry(9), keys.LogEntry(10));
  EXPECT_LT(keys.LogEntry(UINT64_MAX), keys.LogEnd());
  EXPECT_EQ(keys.SeqOf(keys.LogEntry(UINT64_MAX)), UINT64_MAX);
  EXPECT_EQ(keys.SeqOf("/p/log/42"), std::nullopt);
  EXPECT_EQ(keys.SeqOf("/q/log/00000000000000000042"), std::nullopt);
  EXPECT_EQ(keys.Member("b"), "/p/members/b");
}

TEST(EtcdConnectionTest, RefusesEndpointsItCannotDial) {
  EXPECT_EQ(EtcdConnection::Open(" , ", grpc::InsecureChannelCredentials(),
                                 absl::Seconds(1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<EtcdConnection> names = EtcdConnection::Open(
      "etcd-0:2379,etcd-1:2379", grpc::InsecureChannelCredentials(),
      absl::Seconds(1));
  ASSERT_FALSE(names.ok());
  EXPECT_THAT(names.status().message(), HasSubstr("headless Service"));
  absl::StatusOr<EtcdConnection> urls = EtcdConnection::Open(
      "http://127.0.0.1:2379, http://127.0.0.1:22379",
      grpc::InsecureChannelCredentials(), absl::Seconds(1));
  ASSERT_TRUE(urls.ok()) << urls.status();
  EXPECT_EQ(urls->endpoints, "127.0.0.1:2379,127.0.0.1:22379");
}

TEST_F(EtcdLogTest, ALeaderAppendsEntriesThatReadBackInOrder) {
  std::unique_ptr<LeaderLease> lease = Lead("a");
  ASSERT_NE(lease, nullptr);
  EXPECT_GT(lease->term(), 0);
  EtcdLog log(connection_, keys_, lease->term());
  const std::vector<std::string> batches = {"S items:a\n{}\n", "D items:a\n\n",
                                            std::string(100000, 'x')};
  for (size_t i = 0; i < batches.size(); ++i) {
    ASSERT_TRUE(log.Append(1 + i, batches[i], 1).ok());
  }
  absl::StatusOr<std::vector<LogEntry>> all = log.Read(1, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  for (size_t i = 0; i < batches.size(); ++i) {
    EXPECT_EQ((*all)[i].seq, 1 + i);
    EXPECT_EQ((*all)[i].records, batches[i]);
  }
  EXPECT_LT((*all)[0].revision, (*all)[1].revision);
  absl::StatusOr<std::vector<LogEntry>> tail = log.Read(2, 1);
  ASSERT_TRUE(tail.ok()) << tail.status();
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].seq, 2u);
  EXPECT_TRUE(log.Read(4, 10)->empty());
}

TEST_F(EtcdLogTest, AnEntryIsWrittenOnceAndAnOversizedOneNever) {
  std::unique_ptr<LeaderLease> lease = Lead("a");
  ASSERT_NE(lease, nullptr);
  EtcdLog log(connection_, keys_, lease->term(), /*max_entry_bytes=*/64);
  ASSERT_TRUE(log.Append(5, "first", 1).ok());
  EXPECT_TRUE(log.Append(5, "first", 1).ok())
      << "a retry of a try that got through is committed, not refused";
  const absl::Status again = log.Append(5, "second", 1);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("exists already"));
  const absl::Status big = log.Append(6, std::string(65, 'x'), 3);
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.message(), HasSubstr("log entry 6 of 3 changes is 65 bytes"));
  absl::StatusOr<std::vector<LogEntry>> entries = log.Read(0, 10);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].records, "first");
}

TEST_F(EtcdLogTest, AnotherReplicaCannotLeadWhileTheLeaseIsHeld) {
  std::unique_ptr<LeaderLease> a = Lead("a");
  ASSERT_NE(a, nullptr);
  absl::StatusOr<std::unique_ptr<LeaderLease>> b =
      LeaderLease::TryAcquire(connection_, keys_, Replica("b"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(b.status().message(),
              HasSubstr("{\"member\":\"a\",\"address\":\"a.example:50051\"} "
                        "(term " +
                        std::to_string(a->term()) + ")"));
  EXPECT_TRUE(a->held());
}

TEST_F(EtcdLogTest, ADeposedLeaderIsRefusedAndItsSuccessorAppends) {
  std::unique_ptr<LeaderLease> a = Lead("a");
  ASSERT_NE(a, nullptr);
  EtcdLog a_log(connection_, keys_, a->term());
  ASSERT_TRUE(a_log.Append(1, "by a", 1).ok());

  // a's lease ends (a stalled past its TTL, say) while a still runs.
  EndLease(a->lease_id());
  const absl::Status gone = a_log.Append(2, "by a, deposed", 1);
  EXPECT_EQ(gone.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(gone.message(), HasSubstr("deposed: the leader key"));
  EXPECT_TRUE(a->WaitUntilLost(absl::Seconds(30)))
      << "a renewal finds the lease gone";

  std::unique_ptr<LeaderLease> b = Lead("b");
  ASSERT_NE(b, nullptr);
  EXPECT_GT(b->term(), a->term());
  const absl::Status taken = a_log.Append(2, "by a, deposed", 1);
  EXPECT_EQ(taken.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(taken.message(), HasSubstr("\"member\":\"b\""));
  EXPECT_THAT(taken.message(), HasSubstr("not this replica's term " +
                                         std::to_string(a->term())));
  EtcdLog b_log(connection_, keys_, b->term());
  ASSERT_TRUE(b_log.Append(2, "by b", 1).ok());
  absl::StatusOr<std::vector<LogEntry>> entries = b_log.Read(1, 10);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(Bytes(*entries), "by aby b");
}

TEST_F(EtcdLogTest, ARenewedLeaseOutlivesItsTtlAndAnAbandonedOneEnds) {
  std::unique_ptr<LeaderLease> a = Lead("a");
  ASSERT_NE(a, nullptr);
  // Renewals come every third of the TTL: four of them span more than it.
  ASSERT_TRUE(a->WaitForRenewals(4, absl::Seconds(60)));
  EXPECT_TRUE(a->held());
  EXPECT_TRUE(LeaderKeyExists());
  const int64_t term = a->term();
  a.reset();  // stops renewing, as a crash would; the lease runs out

  absl::StatusOr<std::unique_ptr<LeaderLease>> b = LeaderLease::Campaign(
      connection_, keys_, Replica("b"), absl::Seconds(60));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_GT((*b)->term(), term);
}

TEST_F(EtcdLogTest, AResignedLeaderHandsOverAtOnce) {
  std::unique_ptr<LeaderLease> a = Lead("a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->Resign().ok());
  EXPECT_FALSE(a->held());
  EXPECT_FALSE(LeaderKeyExists());
  std::unique_ptr<LeaderLease> b = Lead("b");  // no wait for a TTL
  ASSERT_NE(b, nullptr);
  const absl::Status campaign =
      LeaderLease::Campaign(connection_, keys_, Replica("c"), absl::Seconds(1))
          .status();
  EXPECT_EQ(campaign.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(campaign.message(), HasSubstr("without leading"));
}

TEST_F(EtcdLogTest, AStoreCommitsEachBatchToEtcdWithTheBytesItsFileGets) {
  std::unique_ptr<LeaderLease> lease = Lead("a");
  ASSERT_NE(lease, nullptr);
  EtcdLog log(connection_, keys_, lease->term());
  StoreOptions options =
      QuietStoreOptions(dir_, {{"items", Item::descriptor()}});
  options.commit_log = &log;
  options.first_commit_seq = 1;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  const uint64_t header_bytes = (*store)->Stats().file_bytes;
  Map<Item> items = *(*store)->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("w", MakeItem("W")).ok());
  ASSERT_TRUE(
      items.Set("f", MakeItem("F"), {.durability = Durability::kFsync}).ok());
  ASSERT_TRUE(items.Delete("w").ok());
  ASSERT_TRUE((*store)->Close().ok());

  absl::StatusOr<std::vector<LogEntry>> entries = log.Read(1, 100);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u) << "one batch per write, each waited for";
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].seq, 1 + i);
  }
  const std::string file = testing::ReadFileOrDie(dir_.Path("data.wal"));
  EXPECT_EQ(file.substr(header_bytes), Bytes(*entries));
}

TEST(EtcdLogFaultTest, AppendsGoOnWithAMemberKilledAndFailCleanlyWithAllGone) {
  TempDir dir;
  EtcdCluster etcd(dir.dir(), 3);
  ASSERT_TRUE(etcd.WaitUntilReady(kReady)) << etcd.error();
  // Long enough for etcd to elect a leader again, if it was etcd's leader
  // that was killed.
  const EtcdConnection connection = etcd.Connect(absl::Seconds(20));
  const EtcdKeys keys("/persist/faults");
  // A lease that outlasts etcd's own election, should the member killed
  // be etcd's leader (etcd renews every lease on a change of leader).
  LeaderLease::Options replica = Replica("a");
  replica.ttl = absl::Seconds(6);
  absl::StatusOr<std::unique_ptr<LeaderLease>> lease =
      LeaderLease::TryAcquire(connection, keys, replica);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EtcdLog log(connection, keys, (*lease)->term());
  ASSERT_TRUE(log.Append(1, "one ", 1).ok());

  // The member the channel picked first is gone; the other two are a
  // quorum.
  etcd.Signal(0, SIGKILL);
  const absl::Status two = log.Append(2, "two ", 1);
  ASSERT_TRUE(two.ok()) << two;
  ASSERT_TRUE(log.Append(3, "three", 1).ok());
  const int64_t renewed = (*lease)->renewals();
  EXPECT_TRUE((*lease)->WaitForRenewals(renewed + 2, absl::Seconds(60)));
  absl::StatusOr<std::vector<LogEntry>> entries = log.Read(1, 10);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(Bytes(*entries), "one two three");

  etcd.Signal(1, SIGKILL);
  etcd.Signal(2, SIGKILL);
  const EtcdConnection short_calls = etcd.Connect(absl::Milliseconds(500));
  EtcdLog unreachable(short_calls, keys, (*lease)->term());
  const absl::Status lost = unreachable.Append(4, "four", 1);
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(lost.message(), HasSubstr("may or may not be in the log"));
  EXPECT_TRUE((*lease)->WaitUntilLost(absl::Seconds(60)))
      << "no renewal gets through, so the lease is given up";
}

}  // namespace
}  // namespace persist::replication
