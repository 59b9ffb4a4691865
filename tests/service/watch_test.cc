// Watch through a real gRPC server (in-process channel) over a real store:
// where streams start, what they send, and how they end. Slow watchers and
// shutdown are in tests/e2e (they need real sockets and a real persistd).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "service/persist_service.h"
#include "storage/etag.h"
#include "storage/store.h"
#include "tests/proto/make_item.h"
#include "tests/service/in_process_server.h"

namespace persist::service {
namespace {

using persist::test::v1::Item;
using ::testing::HasSubstr;

using persist::testing::MakeItem;

// One open Watch call, read message by message.
class Watcher {
 public:
  Watcher(v1::Persist::Stub& stub, const v1::WatchRequest& request)
      : reader_(stub.Watch(&context_, request)) {}
  ~Watcher() {
    if (finished_) return;
    context_.TryCancel();
    Status();
  }

  // The next message; fails the test if the stream ended.
  v1::WatchResponse Next() {
    v1::WatchResponse response;
    EXPECT_TRUE(reader_->Read(&response)) << "the stream ended";
    return response;
  }
  // The next messages until `count` events came (progress notices
  // skipped).
  std::vector<v1::WatchEvent> Events(size_t count) {
    std::vector<v1::WatchEvent> events;
    v1::WatchResponse response;
    while (events.size() < count && reader_->Read(&response)) {
      events.insert(events.end(), response.events().begin(),
                    response.events().end());
    }
    EXPECT_EQ(events.size(), count);
    return events;
  }
  // How the stream ended (reads what is left first).
  grpc::Status Status() {
    v1::WatchResponse response;
    while (reader_->Read(&response)) {
    }
    finished_ = true;
    return reader_->Finish();
  }
  void Cancel() { context_.TryCancel(); }
  // The next message, or false once the stream ended.
  bool Read(v1::WatchResponse* response) { return reader_->Read(response); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader_;
  bool finished_ = false;  // Finish may be called once
};

class WatchTest : public ::testing::Test {
 protected:
  static ServiceOptions Options() {
    ServiceOptions options;
    options.watch.progress_interval = absl::Milliseconds(50);
    return options;
  }

  v1::WatchRequest Request(const std::string& prefix = "") const {
    v1::WatchRequest request;
    request.set_map("items");
    request.set_prefix(prefix);
    return request;
  }
  uint64_t Set(const std::string& key, int64_t count,
               const std::string& map = "items") {
    absl::StatusOr<DynamicMap*> target = store_->GetMap(map);
    EXPECT_TRUE(target.ok());
    absl::StatusOr<WriteResult> set =
        (*target)->Set(key, std::make_shared<Item>(MakeItem(key, count)));
    EXPECT_TRUE(set.ok()) << set.status();
    return set.ok() ? set->revision : 0;
  }
  uint64_t Delete(const std::string& key) {
    absl::StatusOr<WriteResult> deleted =
        (*store_->GetMap("items"))->Delete(key);
    EXPECT_TRUE(deleted.ok()) << deleted.status();
    return deleted.ok() ? deleted->revision : 0;
  }
  std::string Epoch() const { return EpochToString(store_->Epoch()); }
  static Item Unpacked(const google::protobuf::Any& any) {
    Item item;
    EXPECT_TRUE(any.UnpackTo(&item));
    return item;
  }

  testing::InProcessServer server_{
      {{"items", Item::descriptor()}, {"others", Item::descriptor()}},
      Options()};
  Store* const store_ = &server_.store();
  const std::unique_ptr<v1::Persist::Stub> stub_ =
      v1::Persist::NewStub(server_.Channel());
};

TEST_F(WatchTest, StartsAtOnceThenStreamsTheMatchingChangesInOrder) {
  Set("a/0", 0);
  Watcher watcher(*stub_, Request("a/"));
  const v1::WatchResponse first = watcher.Next();
  EXPECT_EQ(first.header().revision(),
            static_cast<int64_t>(store_->Revision()));
  EXPECT_EQ(first.header().epoch(), Epoch());
  EXPECT_EQ(first.events_size(), 0);

  const uint64_t put = Set("a/1", 1);
  Set("b/1", 1);            // another prefix
  Set("a/2", 2, "others");  // another map
  const uint64_t replaced = Set("a/1", 2);
  const uint64_t deleted = Delete("a/0");
  Delete("a/missing");  // changes nothing: no event

  const std::vector<v1::WatchEvent> events = watcher.Events(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type(), v1::WatchEvent::PUT);
  EXPECT_EQ(events[0].key(), "a/1");
  EXPECT_EQ(events[0].revision(), static_cast<int64_t>(put));
  EXPECT_EQ(events[0].etag(), (Etag{store_->Epoch(), put}.ToString()));
  EXPECT_EQ(Unpacked(events[0].value()).count(), 1);
  EXPECT_EQ(events[1].revision(), static_cast<int64_t>(replaced));
  EXPECT_EQ(Unpacked(events[1].value()).count(), 2);
  EXPECT_EQ(events[2].type(), v1::WatchEvent::DELETE);
  EXPECT_EQ(events[2].key(), "a/0");
  EXPECT_EQ(events[2].revision(), static_cast<int64_t>(deleted));
  EXPECT_FALSE(events[2].has_value());
}

TEST_F(WatchTest, IdleStreamsGetProgressNoticesWithTheCurrentRevision) {
  Watcher watcher(*stub_, Request());
  watcher.Next();
  Set("x", 1, "others");  // not watched: only the revision moves
  const uint64_t revision = store_->Revision();
  // Notices come every 50 ms; the first one after the write carries it.
  for (int i = 0; i < 100; ++i) {
    const v1::WatchResponse notice = watcher.Next();
    EXPECT_EQ(notice.events_size(), 0);
    if (notice.header().revision() == static_cast<int64_t>(revision)) return;
  }
  ADD_FAILURE() << "no progress notice reached revision " << revision;
}

TEST_F(WatchTest, ResumesFromAStartRevisionWithNoGapAndNoDuplicate) {
  Set("a", 1);
  const uint64_t second = Set("b", 2);
  Set("c", 3);
  v1::WatchRequest request = Request();
  request.set_start_revision(static_cast<int64_t>(second));
  request.set_epoch(Epoch());
  Watcher watcher(*stub_, request);
  const std::vector<v1::WatchEvent> events = watcher.Events(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].key(), "b");
  EXPECT_EQ(events[0].revision(), static_cast<int64_t>(second));
  EXPECT_EQ(events[1].key(), "c");
}

// The events of each message a watcher of "items" from `start` gets, as
// revisions: up to `count` messages with events.
std::vector<std::vector<int64_t>> EventMessages(
    const testing::InProcessServer& server, uint64_t start, size_t count) {
  Store& store = server.store();
  v1::WatchRequest request;
  request.set_map("items");
  request.set_start_revision(static_cast<int64_t>(start));
  request.set_epoch(EpochToString(store.Epoch()));
  auto stub = v1::Persist::NewStub(server.Channel());
  Watcher watcher(*stub, request);
  std::vector<std::vector<int64_t>> messages;
  v1::WatchResponse response;
  for (int read = 0; read < 100 && messages.size() < count; ++read) {
    if (!watcher.Read(&response)) break;
    if (response.events().empty()) continue;  // a progress notice
    std::vector<int64_t>& revisions = messages.emplace_back();
    for (const v1::WatchEvent& event : response.events()) {
      revisions.push_back(event.revision());
    }
  }
  if (messages.size() < count) {
    watcher.Cancel();
    ADD_FAILURE() << "got " << messages.size() << " messages of " << count
                  << ": " << watcher.Status().error_message();
  }
  return messages;
}

// Messages end at batch ends: with one event per message, a batch's events
// of the watched map (and not those of another map in the same batch)
// still come in one message.
TEST(WatchBatchTest, AnAtomicBatchComesInOneMessage) {
  ServiceOptions options;
  options.watch.max_items = 1;
  options.watch.progress_interval = absl::Milliseconds(50);
  testing::InProcessServer server(
      {{"items", Item::descriptor()}, {"others", Item::descriptor()}}, options);
  Store& store = server.store();
  DynamicMap* items = *store.GetMap("items");
  DynamicMap* others = *store.GetMap("others");
  const uint64_t start = store.Revision() + 1;
  for (int round = 0; round < 2; ++round) {
    std::vector<BatchOperation> operations;
    for (DynamicMap* map : {items, others, items}) {
      const std::string key =
          absl::StrCat(map == others ? "x" : "k", round, operations.size());
      operations.push_back(BatchOperation::Set(
          map, key, std::make_shared<Item>(MakeItem(key, round))));
    }
    ASSERT_TRUE(store.Write(std::move(operations)).ok());
  }
  const uint64_t single = store.Revision() + 1;
  ASSERT_TRUE(
      items->Set("lone", std::make_shared<Item>(MakeItem("lone"))).ok());

  const std::vector<std::vector<int64_t>> messages =
      EventMessages(server, start, 3);
  ASSERT_EQ(messages.size(), 3u);
  const auto at = [&](uint64_t offset) {
    return static_cast<int64_t>(start + offset);
  };
  EXPECT_EQ(messages[0], (std::vector<int64_t>{at(0), at(2)}));
  EXPECT_EQ(messages[1], (std::vector<int64_t>{at(3), at(5)}));
  EXPECT_EQ(messages[2], (std::vector<int64_t>{static_cast<int64_t>(single)}));
}

// Sets each of `names` (its value's name) as "<prefix><i>" in one batch.
void SetBatch(Store& store, const std::string& prefix,
              const std::vector<std::string>& names) {
  DynamicMap* items = *store.GetMap("items");
  std::vector<BatchOperation> operations;
  for (size_t i = 0; i < names.size(); ++i) {
    operations.push_back(
        BatchOperation::Set(items, absl::StrCat(prefix, i),
                            std::make_shared<Item>(MakeItem(names[i]))));
  }
  ASSERT_TRUE(store.Write(std::move(operations)).ok());
}

TEST(WatchBatchTest, ABatchThatFitsAMessageOfItsOwnIsNeverSplit) {
  ServiceOptions options;
  options.watch.batch_bytes = 10000;
  options.watch.max_batch_message_bytes = 20000;
  options.watch.progress_interval = absl::Milliseconds(50);
  testing::InProcessServer server({{"items", Item::descriptor()}}, options);
  Store& store = server.store();
  const uint64_t start = store.Revision() + 1;
  // An event of about 3 KiB, then a batch of three of about 6 KiB: the
  // first of them fits after it, the whole batch does not.
  ASSERT_TRUE((*store.GetMap("items"))
                  ->Set("lone", std::make_shared<Item>(
                                    MakeItem(std::string(3000, 'l'))))
                  .ok());
  SetBatch(store, "a", std::vector<std::string>(3, std::string(6000, 'a')));
  // Four of them pass the limit alone: split, three and one.
  SetBatch(store, "b", std::vector<std::string>(4, std::string(6000, 'b')));
  const auto at = [&](uint64_t offset) {
    return static_cast<int64_t>(start + offset);
  };
  const std::vector<std::vector<int64_t>> messages =
      EventMessages(server, start, 4);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0], (std::vector<int64_t>{at(0)}));
  EXPECT_EQ(messages[1], (std::vector<int64_t>{at(1), at(2), at(3)}));
  EXPECT_EQ(messages[2], (std::vector<int64_t>{at(4), at(5), at(6)}));
  EXPECT_EQ(messages[3], (std::vector<int64_t>{at(7)}));
}

TEST(WatchBatchTest, ABatchLargerThanAClientReceivesIsSentInPartsItCanRead) {
  ServiceOptions options;
  options.watch.progress_interval = absl::Milliseconds(50);
  testing::InProcessServer server({{"items", Item::descriptor()}}, options);
  Store& store = server.store();
  const uint64_t start = store.Revision() + 1;
  // Two values of 2 MiB and 10 KiB in one batch (written through the
  // engine: a Write request is limited to 4 MiB): within the reply limit
  // together, past the 4 MiB that a channel with gRPC's defaults receives.
  SetBatch(
      store, "k",
      std::vector<std::string>(2, std::string((2 << 20) + (10 << 10), 'v')));
  const std::vector<std::vector<int64_t>> messages =
      EventMessages(server, start, 2);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], (std::vector<int64_t>{static_cast<int64_t>(start)}));
  EXPECT_EQ(messages[1],
            (std::vector<int64_t>{static_cast<int64_t>(start + 1)}));
}

TEST_F(WatchTest, SendInitialListsAsOfOneRevisionThenStreamsWhatFollows) {
  for (int i = 0; i < 2500; ++i) Set(absl::StrCat("k", 10000 + i), i);
  Set("other", 1, "others");
  v1::WatchRequest request = Request("k");
  request.set_send_initial(true);
  Watcher watcher(*stub_, request);
  std::map<std::string, int64_t> listed;
  int64_t at = -1;
  for (;;) {  // several messages: at most 1000 entries each
    const v1::WatchResponse page = watcher.Next();
    if (at == -1) at = page.header().revision();
    EXPECT_EQ(page.header().revision(), at);
    EXPECT_LE(page.initial_size(), 1000);
    for (const v1::Entry& entry : page.initial()) {
      listed[entry.key()] = Unpacked(entry.value()).count();
      EXPECT_LE(entry.mod_revision(), at);
      EXPECT_EQ(entry.etag(), (Etag{store_->Epoch(),
                                    static_cast<uint64_t>(entry.mod_revision())}
                                   .ToString()));
    }
    if (page.initial_done()) break;
    ASSERT_GT(page.initial_size(), 0);
  }
  EXPECT_EQ(at, static_cast<int64_t>(store_->Revision()));
  ASSERT_EQ(listed.size(), 2500u);
  EXPECT_EQ(listed["k10007"], 7);
  const uint64_t next = Set("k10007", 70);
  const std::vector<v1::WatchEvent> events = watcher.Events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].revision(), static_cast<int64_t>(next));
}

TEST_F(WatchTest, SendInitialOfAnEmptyPrefixSaysDoneAtOnce) {
  v1::WatchRequest request = Request("nothing-here/");
  request.set_send_initial(true);
  Watcher watcher(*stub_, request);
  const v1::WatchResponse first = watcher.Next();
  EXPECT_TRUE(first.initial_done());
  EXPECT_EQ(first.initial_size(), 0);
}

// Writers change keys while watchers list and watch: what each watcher
// builds from its listing and its events is the map's final state, with
// revisions strictly increasing and none at or below its listing's.
TEST_F(WatchTest, ListingAndEventsTogetherMissNothingUnderConcurrentWriters) {
  constexpr int kKeys = 50;
  constexpr int kWrites = 3000;
  for (int k = 0; k < kKeys; ++k) Set(absl::StrCat("key", k), 0);
  std::atomic<bool> go{false};
  std::thread writer([&] {
    while (!go.load()) {
    }
    for (int i = 1; i <= kWrites; ++i) {
      const std::string key = absl::StrCat("key", i % kKeys);
      if (i % 7 == 0) {
        Delete(key);
      } else {
        Set(key, i);
      }
    }
  });
  v1::WatchRequest request = Request("key");
  request.set_send_initial(true);
  go.store(true);
  Watcher watcher(*stub_, request);
  std::map<std::string, int64_t> state;
  int64_t last = 0;
  for (bool done = false; !done;) {
    const v1::WatchResponse page = watcher.Next();
    for (const v1::Entry& entry : page.initial()) {
      state[entry.key()] = Unpacked(entry.value()).count();
    }
    done = page.initial_done();
    last = page.header().revision();
  }
  writer.join();
  const uint64_t end = store_->Revision();
  while (last < static_cast<int64_t>(end)) {
    const v1::WatchResponse response = watcher.Next();
    for (const v1::WatchEvent& event : response.events()) {
      ASSERT_GT(event.revision(), last);
      last = event.revision();
      if (event.type() == v1::WatchEvent::DELETE) {
        state.erase(event.key());
      } else {
        state[event.key()] = Unpacked(event.value()).count();
      }
    }
    last = std::max(last, response.header().revision());
  }
  std::map<std::string, int64_t> expected;
  ASSERT_TRUE((*store_->GetMap("items"))
                  ->Range([&](absl::string_view key,
                              const Entry<google::protobuf::Message>& entry) {
                    expected[std::string(key)] =
                        static_cast<const Item&>(*entry.value).count();
                    return true;
                  })
                  .ok());
  EXPECT_EQ(state, expected);
}

TEST_F(WatchTest, BadStartsAreRefusedWithTheirCodes) {
  Set("a", 1);
  auto status_of = [&](const v1::WatchRequest& request) {
    Watcher watcher(*stub_, request);
    return watcher.Status();
  };
  v1::WatchRequest request = Request();
  request.set_map("nope");
  EXPECT_EQ(status_of(request).error_code(), grpc::StatusCode::NOT_FOUND);

  request = Request();
  request.set_start_revision(2);
  grpc::Status no_epoch = status_of(request);
  EXPECT_EQ(no_epoch.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(no_epoch.error_message(), HasSubstr("needs its epoch"));

  request.set_epoch("0123456789abcdef");
  grpc::Status other_epoch = status_of(request);
  EXPECT_EQ(other_epoch.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(other_epoch.error_message(), HasSubstr("list again"));

  request.set_epoch(Epoch());
  request.set_start_revision(1);  // the state at open: no change has it
  grpc::Status compacted = status_of(request);
  EXPECT_EQ(compacted.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(compacted.error_message(), HasSubstr("compacted"));

  request.set_start_revision(static_cast<int64_t>(store_->Revision()) + 2);
  EXPECT_EQ(status_of(request).error_code(), grpc::StatusCode::OUT_OF_RANGE);

  request.set_start_revision(-1);
  EXPECT_EQ(status_of(request).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  request.set_start_revision(2);
  request.set_send_initial(true);
  EXPECT_EQ(status_of(request).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WatchTest, AStartAtTheNextRevisionWaitsForIt) {
  v1::WatchRequest request = Request();
  request.set_start_revision(static_cast<int64_t>(store_->Revision()) + 1);
  request.set_epoch(Epoch());
  Watcher watcher(*stub_, request);
  EXPECT_EQ(watcher.Next().events_size(), 0);  // starts, nothing yet
  const uint64_t set = Set("a", 1);
  const std::vector<v1::WatchEvent> events = watcher.Events(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].revision(), static_cast<int64_t>(set));
}

TEST_F(WatchTest, CancelledAndDrainedStreamsEndWithAStatus) {
  Watcher cancelled(*stub_, Request());
  cancelled.Next();
  cancelled.Cancel();
  EXPECT_EQ(cancelled.Status().error_code(), grpc::StatusCode::CANCELLED);

  Watcher open(*stub_, Request());
  open.Next();
  const uint64_t revision = store_->Revision();
  server_.service().Drain(absl::ZeroDuration(), absl::Now());
  const grpc::Status ended = open.Status();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(ended.error_message(),
              HasSubstr(absl::StrCat("resume with start_revision ",
                                     revision + 1, " and epoch ", Epoch())));
  EXPECT_EQ(server_.service().watchers(), 0u);

  Watcher late(*stub_, Request());
  EXPECT_EQ(late.Status().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace persist::service
