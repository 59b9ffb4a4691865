// persist.v1.Persist through a real gRPC server on an in-process channel,
// over a real store on real files.
#include "service/persist_service.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "service/message_limits.h"
#include "service/write_batch.h"
#include "storage/store.h"
#include "tests/proto/make_item.h"
#include "tests/service/in_process_server.h"
#include "tests/storage/fault_injection_file_system.h"
#include "tests/storage/test_files.h"

namespace persist::service {
namespace {

using persist::test::v1::Item;
using persist::test::v1::Other;
using ::testing::HasSubstr;

using persist::testing::MakeItem;

class PersistServiceTest : public ::testing::Test {
 protected:
  static service::ServiceOptions SmallPages() {
    ServiceOptions options;
    options.max_page_size = 5;
    return options;
  }

  grpc::Status Set(const std::string& key, const Item& item,
                   v1::SetResponse* response = nullptr,
                   const v1::Precondition& precondition = {}) {
    v1::SetRequest request;
    request.set_map("items");
    request.set_key(key);
    request.mutable_value()->PackFrom(item);
    *request.mutable_precondition() = precondition;
    v1::SetResponse ignored;
    grpc::ClientContext context;
    return stub_->Set(&context, request, response ? response : &ignored);
  }
  v1::GetResponse Get(const std::string& key, grpc::Status* status = nullptr) {
    v1::GetRequest request;
    request.set_map("items");
    request.set_key(key);
    v1::GetResponse response;
    grpc::ClientContext context;
    grpc::Status s = stub_->Get(&context, request, &response);
    if (status != nullptr) *status = s;
    EXPECT_TRUE(status != nullptr || s.ok()) << s.error_message();
    return response;
  }
  static Item Unpacked(const google::protobuf::Any& any) {
    Item item;
    EXPECT_TRUE(any.UnpackTo(&item));
    return item;
  }

  testing::FaultInjectionFileSystem fs_;
  testing::InProcessServer server_{
      {{"items", Item::descriptor()}}, SmallPages(), &fs_};
  Store* const store_ = &server_.store();
  const std::unique_ptr<v1::Persist::Stub> stub_ =
      v1::Persist::NewStub(server_.Channel());
};

TEST_F(PersistServiceTest, SetGetDelete) {
  v1::SetResponse set;
  ASSERT_TRUE(Set("a", MakeItem("A", 1), &set).ok());
  EXPECT_FALSE(set.existed());
  EXPECT_FALSE(set.etag().empty());
  v1::GetResponse got = Get("a");
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.etag(), set.etag());
  EXPECT_EQ(got.value().type_url(), "type.googleapis.com/persist.test.v1.Item");
  EXPECT_EQ(Unpacked(got.value()).name(), "A");
  EXPECT_FALSE(Get("missing").found());

  v1::DeleteRequest del;
  del.set_map("items");
  del.set_key("a");
  v1::DeleteResponse deleted;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->Delete(&context, del, &deleted).ok());
  EXPECT_TRUE(deleted.existed());
  EXPECT_FALSE(Get("a").found());
}

TEST_F(PersistServiceTest, EveryAnswerCarriesTheRevisionItSawOrMade) {
  v1::SetResponse a;
  ASSERT_TRUE(Set("a", MakeItem("A", 1), &a).ok());
  const int64_t first = a.header().revision();
  EXPECT_GT(first, 1) << "revision 1 is the state found at open";
  EXPECT_EQ(a.etag(), absl::StrCat(a.header().epoch(), "-", first));
  const std::string epoch = a.header().epoch();
  EXPECT_EQ(epoch.size(), 16u);

  v1::GetResponse got = Get("a");
  EXPECT_EQ(got.mod_revision(), first);
  EXPECT_EQ(got.header().revision(), first);
  EXPECT_EQ(got.header().epoch(), epoch);

  v1::SetResponse b;
  ASSERT_TRUE(Set("b", MakeItem("B", 2), &b).ok());
  EXPECT_EQ(b.header().revision(), first + 1);
  v1::GetResponse missing = Get("missing");
  EXPECT_EQ(missing.mod_revision(), 0);
  EXPECT_EQ(missing.header().revision(), first + 1)
      << "a read that finds nothing still says what it saw";

  v1::ListRequest list;
  list.set_map("items");
  v1::ListResponse listed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->List(&context, list, &listed).ok());
  }
  EXPECT_EQ(listed.header().revision(), first + 1);
  ASSERT_EQ(listed.entries_size(), 2);
  EXPECT_EQ(listed.entries(0).mod_revision(), first);
  EXPECT_EQ(listed.entries(1).mod_revision(), first + 1);

  v1::UpdateRequest update;
  update.set_map("items");
  update.set_key("b");
  update.mutable_value()->PackFrom(MakeItem("B2", 0));
  update.mutable_update_mask()->add_paths("name");
  v1::UpdateResponse updated;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Update(&context, update, &updated).ok());
  }
  EXPECT_EQ(updated.header().revision(), first + 2);

  v1::DeleteRequest del;
  del.set_map("items");
  del.set_key("a");
  v1::DeleteResponse deleted;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Delete(&context, del, &deleted).ok());
  }
  EXPECT_EQ(deleted.header().revision(), first + 3) << "a delete is a change";
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Delete(&context, del, &deleted).ok());
  }
  EXPECT_FALSE(deleted.existed());
  EXPECT_EQ(deleted.header().revision(), first + 3)
      << "deleting a missing key changes nothing";

  v1::StatsResponse stats;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Stats(&context, v1::StatsRequest(), &stats).ok());
  }
  EXPECT_EQ(stats.header().revision(), first + 3);
  EXPECT_EQ(stats.header().epoch(), epoch);
}

v1::WriteOperation SetOp(const std::string& key, const Item& item,
                         const v1::Precondition& precondition = {}) {
  v1::WriteOperation operation;
  v1::SetRequest* set = operation.mutable_set();
  set->set_map("items");
  set->set_key(key);
  set->mutable_value()->PackFrom(item);
  *set->mutable_precondition() = precondition;
  return operation;
}

v1::WriteOperation DeleteOp(const std::string& key) {
  v1::WriteOperation operation;
  operation.mutable_delete_()->set_map("items");
  operation.mutable_delete_()->set_key(key);
  return operation;
}

v1::WriteOperation UpdateOp(const std::string& key, const Item& patch,
                            bool allow_missing) {
  v1::WriteOperation operation;
  v1::UpdateRequest* update = operation.mutable_update();
  update->set_map("items");
  update->set_key(key);
  update->mutable_value()->PackFrom(patch);
  update->mutable_update_mask()->add_paths("count");
  update->set_allow_missing(allow_missing);
  return operation;
}

TEST_F(PersistServiceTest, WriteAppliesABatchWithConsecutiveRevisions) {
  v1::SetResponse old;
  ASSERT_TRUE(Set("old", MakeItem("O", 1), &old).ok());
  ASSERT_TRUE(Set("counter", MakeItem("C", 1)).ok());
  v1::WriteRequest request;
  request.set_durability(v1::FSYNC);
  *request.add_operations() = SetOp("a", MakeItem("A", 1));
  *request.add_operations() = DeleteOp("old");
  *request.add_operations() = UpdateOp("counter", MakeItem("", 7), false);
  v1::WriteResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub_->Write(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const int64_t first = old.header().revision() + 2;
  EXPECT_EQ(response.header().revision(), first + 2);
  EXPECT_EQ(response.header().epoch(), old.header().epoch());
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).set().etag(),
            absl::StrCat(old.header().epoch(), "-", first));
  EXPECT_FALSE(response.results(0).set().existed());
  EXPECT_TRUE(response.results(1).delete_().existed());
  EXPECT_EQ(Unpacked(response.results(2).update().value()).count(), 7);
  EXPECT_EQ(Unpacked(response.results(2).update().value()).name(), "C");
  EXPECT_EQ(Get("a").mod_revision(), first);
  EXPECT_FALSE(Get("old").found());
  EXPECT_EQ(Get("counter").mod_revision(), first + 2);
}

TEST_F(PersistServiceTest, WriteChangesNothingWhenAnOperationFails) {
  ASSERT_TRUE(Set("taken", MakeItem("T", 1)).ok());
  v1::Precondition absent;
  absent.set_must_not_exist(true);
  struct Case {
    const char* what;
    std::vector<v1::WriteOperation> operations;
    v1::Durability durability;
    grpc::StatusCode code;
    const char* message;
  };
  v1::WriteOperation own_durability = SetOp("a", MakeItem("A"));
  own_durability.mutable_set()->set_durability(v1::FSYNC);
  v1::WriteOperation bad_map = SetOp("a", MakeItem("A"));
  bad_map.mutable_set()->set_map("nope");
  const std::vector<Case> cases = {
      {"precondition",
       {SetOp("a", MakeItem("A")), SetOp("taken", MakeItem("X"), absent)},
       v1::WRITE,
       grpc::StatusCode::FAILED_PRECONDITION,
       "operations[1]: map \"items\" already has key \"taken\""},
      {"update of a missing key",
       {SetOp("a", MakeItem("A")), UpdateOp("missing", MakeItem(""), false)},
       v1::WRITE,
       grpc::StatusCode::NOT_FOUND,
       "operations[1]: map \"items\" has no key \"missing\""},
      {"a key twice",
       {SetOp("a", MakeItem("A")), DeleteOp("a")},
       v1::WRITE,
       grpc::StatusCode::INVALID_ARGUMENT,
       "once"},
      {"no operations",
       {},
       v1::WRITE,
       grpc::StatusCode::INVALID_ARGUMENT,
       "at least one"},
      {"empty operation",
       {SetOp("a", MakeItem("A")), v1::WriteOperation()},
       v1::WRITE,
       grpc::StatusCode::INVALID_ARGUMENT,
       "operations[1]: sets no operation"},
      {"durability of its own",
       {own_durability},
       v1::WRITE,
       grpc::StatusCode::INVALID_ARGUMENT,
       "operations[0]: an operation of a batch has no durability"},
      {"ASYNC",
       {SetOp("a", MakeItem("A"))},
       v1::ASYNC,
       grpc::StatusCode::INVALID_ARGUMENT,
       "WRITE or FSYNC"},
      {"unknown durability",
       {SetOp("a", MakeItem("A"))},
       static_cast<v1::Durability>(99),
       grpc::StatusCode::INVALID_ARGUMENT,
       "unknown durability 99; a Write takes WRITE or FSYNC"},
      {"map not declared",
       {SetOp("b", MakeItem("B")), bad_map},
       v1::WRITE,
       grpc::StatusCode::NOT_FOUND,
       "operations[1]: no map \"nope\""},
  };
  const uint64_t revision = store_->Revision();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::WriteRequest request;
    request.set_durability(c.durability);
    for (const v1::WriteOperation& operation : c.operations) {
      *request.add_operations() = operation;
    }
    v1::WriteResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub_->Write(&context, request, &response);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  EXPECT_FALSE(Get("a").found());
  EXPECT_EQ(Unpacked(Get("taken").value()).name(), "T");
  EXPECT_EQ(store_->Revision(), revision);
}

TEST_F(PersistServiceTest, WriteTakesAtMostTheConfiguredOperations) {
  v1::WriteRequest request;
  for (int i = 0; i < 129; ++i) {
    *request.add_operations() = SetOp(absl::StrCat("k", i), MakeItem("K"));
  }
  v1::WriteResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub_->Write(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("at most 128"));
  EXPECT_THAT(status.error_message(), HasSubstr("maxBatchOperations"));
}

TEST_F(PersistServiceTest, BatchGetAnswersEachReadAsGetDoes) {
  v1::SetResponse a;
  v1::SetResponse b;
  ASSERT_TRUE(Set("a", MakeItem("A", 1), &a).ok());
  ASSERT_TRUE(Set("b", MakeItem("B", 2), &b).ok());
  auto batch =
      [](const std::vector<std::pair<std::string, std::string>>& reads) {
        v1::BatchGetRequest request;
        for (const auto& [map, key] : reads) {
          v1::GetRequest* get = request.add_gets();
          get->set_map(map);
          get->set_key(key);
        }
        return request;
      };
  v1::BatchGetResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->BatchGet(
      &context, batch({{"items", "b"}, {"items", "missing"}, {"items", "a"}}),
      &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_TRUE(response.results(0).found());
  EXPECT_EQ(Unpacked(response.results(0).value()).name(), "B");
  EXPECT_EQ(response.results(0).etag(), b.etag());
  EXPECT_EQ(response.results(0).mod_revision(), b.header().revision());
  EXPECT_FALSE(response.results(1).found());
  EXPECT_EQ(response.results(2).etag(), a.etag());
  EXPECT_FALSE(response.results(0).has_header()) << "one header, the call's";
  EXPECT_GE(response.header().revision(), b.header().revision());
  EXPECT_EQ(response.header().epoch(), b.header().epoch());

  // The first bad read fails the call, by its index.
  grpc::ClientContext missing_map;
  status = stub_->BatchGet(&missing_map, batch({{"items", "a"}, {"nope", "k"}}),
                           &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("gets[1]: "));
  grpc::ClientContext bad_key;
  status = stub_->BatchGet(&bad_key, batch({{"items", "bad\nkey"}}), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("gets[0]: "));
  // At most a page's worth (max_page_size, 5 here).
  grpc::ClientContext too_many;
  status = stub_->BatchGet(&too_many,
                           batch({{"items", "1"},
                                  {"items", "2"},
                                  {"items", "3"},
                                  {"items", "4"},
                                  {"items", "5"},
                                  {"items", "6"}}),
                           &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("at most 5 keys"));
}

TEST_F(PersistServiceTest, BadRequestsAreRefusedAndChangeNothing) {
  ASSERT_TRUE(Set("a", MakeItem("A", 1)).ok());
  const std::string etag = Get("a").etag();

  // A value of another type.
  v1::SetRequest request;
  request.set_map("items");
  request.set_key("a");
  Other other;
  other.set_text("x");
  request.mutable_value()->PackFrom(other);
  v1::SetResponse response;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->Set(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("persist.test.v1.Other"));
  }
  // Bytes that do not parse.
  request.mutable_value()->PackFrom(MakeItem("B", 2));
  request.mutable_value()->set_value("\xff\xff\xff");
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->Set(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // A bad key, an unknown map.
  EXPECT_EQ(Set("bad\nkey", MakeItem("C", 3)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.mutable_value()->PackFrom(MakeItem("D", 4));
  request.set_map("nope");
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->Set(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(Get("a").etag(), etag);
  EXPECT_EQ(Unpacked(Get("a").value()).name(), "A");
  EXPECT_EQ(store_->Stats().wal_records, 1u);
}

TEST_F(PersistServiceTest, PreconditionsMapToTheirCodes) {
  v1::SetResponse first;
  ASSERT_TRUE(Set("a", MakeItem("A", 1), &first).ok());
  v1::Precondition create;
  create.set_must_not_exist(true);
  EXPECT_EQ(Set("a", MakeItem("B", 2), nullptr, create).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::Precondition exists;
  exists.set_must_exist(true);
  EXPECT_EQ(Set("b", MakeItem("B", 2), nullptr, exists).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::Precondition if_match;
  if_match.set_etag(first.etag());
  ASSERT_TRUE(Set("a", MakeItem("C", 3), nullptr, if_match).ok());
  EXPECT_EQ(Set("a", MakeItem("D", 4), nullptr, if_match).error_code(),
            grpc::StatusCode::ABORTED);
  EXPECT_EQ(Unpacked(Get("a").value()).name(), "C");
}

TEST_F(PersistServiceTest, UpdateMergesTheMaskedFields) {
  Item item = MakeItem("A", 1);
  item.add_tags("t1");
  ASSERT_TRUE(Set("a", item).ok());
  v1::UpdateRequest request;
  request.set_map("items");
  request.set_key("a");
  Item patch;
  patch.set_count(7);
  patch.set_name("ignored: not in the mask");
  request.mutable_value()->PackFrom(patch);
  request.mutable_update_mask()->add_paths("count");
  request.mutable_update_mask()->add_paths("tags");  // replaced by nothing
  v1::UpdateResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Update(&context, request, &response).ok());
  }
  const Item merged = Unpacked(response.value());
  EXPECT_EQ(merged.name(), "A");
  EXPECT_EQ(merged.count(), 7);
  EXPECT_EQ(merged.tags_size(), 0);
  EXPECT_TRUE(response.existed());
  EXPECT_EQ(Get("a").etag(), response.etag());

  request.set_key("missing");
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->Update(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  request.set_allow_missing(true);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Update(&context, request, &response).ok());
    EXPECT_FALSE(response.existed());
  }
  EXPECT_EQ(Unpacked(Get("missing").value()).count(), 7);

  request.mutable_update_mask()->add_paths("no_such_field");
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub_->Update(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(PersistServiceTest, ListPagesInKeyOrderWithStableTokens) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(Set(absl::StrCat("k", 10 + i), MakeItem("v", i)).ok());
  }
  ASSERT_TRUE(Set("other", MakeItem("o", 0)).ok());
  v1::ListRequest request;
  request.set_map("items");
  request.set_prefix("k");
  request.set_page_size(100);  // capped at 5 by the server
  std::vector<std::string> keys;
  for (int page = 0; page < 10; ++page) {
    v1::ListResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->List(&context, request, &response).ok());
    EXPECT_LE(response.entries_size(), 5);
    for (const v1::Entry& entry : response.entries())
      keys.push_back(entry.key());
    if (page == 0) {
      // Writes between pages: behind the position (not seen), ahead (seen).
      ASSERT_TRUE(Set("k00", MakeItem("behind", 0)).ok());
      ASSERT_TRUE(Set("k99", MakeItem("ahead", 0)).ok());
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 12; ++i) expected.push_back(absl::StrCat("k", 10 + i));
  expected.push_back("k99");
  EXPECT_EQ(keys, expected);

  request.set_prefix("other-prefix");  // a token of another listing
  v1::ListResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(stub_->List(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PersistServiceTest, StatsListMapsFlushShrink) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Set("a", MakeItem("v", i)).ok());
  {
    v1::FlushResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Flush(&context, {}, &response).ok());
  }
  {
    v1::ShrinkResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Shrink(&context, {}, &response).ok());
    EXPECT_EQ(response.records_before(), 5u);
    EXPECT_EQ(response.records_after(), 1u);
  }
  {
    v1::StatsResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Stats(&context, {}, &response).ok());
    EXPECT_EQ(response.live_keys(), 1);
    EXPECT_EQ(response.wal_records(), 1u);
    EXPECT_TRUE(response.write_error().empty());
  }
  v1::ListMapsResponse maps;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ListMaps(&context, {}, &maps).ok());
  ASSERT_EQ(maps.maps_size(), 1);
  EXPECT_EQ(maps.maps(0).name(), "items");
  EXPECT_EQ(maps.maps(0).type(), "persist.test.v1.Item");
  EXPECT_EQ(maps.maps(0).live_keys(), 1);
}

TEST_F(PersistServiceTest, StoreThatStoppedTakingWritesIsUnavailable) {
  ASSERT_TRUE(Set("a", MakeItem("A", 1)).ok());
  fs_.FailAfter(testing::FaultInjectionFileSystem::Op::kAppend, 0,
                absl::InternalError("injected EIO"));
  grpc::Status failed = Set("b", MakeItem("B", 2));
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(failed.error_message(), HasSubstr("injected EIO"));
  EXPECT_EQ(Set("c", MakeItem("C", 3)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Unpacked(Get("a").value()).name(), "A");  // reads go on
  v1::StatsResponse stats;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->Stats(&context, {}, &stats).ok());
  EXPECT_THAT(stats.write_error(), HasSubstr("injected EIO"));
}

}  // namespace
}  // namespace persist::service

namespace persist::service {
namespace {

TEST(PersistServiceLoadingTest, UnavailableUntilTheStoreIsSet) {
  testing::TempDir dir;
  PersistService service{ServiceOptions()};
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = v1::Persist::NewStub(server->InProcessChannel({}));
  v1::GetRequest request;
  request.set_map("items");
  request.set_key("k");
  v1::GetResponse response;
  {
    grpc::ClientContext context;
    grpc::Status status = stub->Get(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr("loading"));
  }
  StoreOptions options;
  options.path = dir.Path("data.wal");
  options.maps = {{"items", Item::descriptor()}};
  options.log = [](LogLevel, absl::string_view) {};
  std::unique_ptr<Store> store = *Store::Open(options);
  service.SetStore(store.get());
  {
    grpc::ClientContext context;
    EXPECT_TRUE(stub->Get(&context, request, &response).ok());
  }
  server->Shutdown();
}

TEST(PersistServiceFailureTest, AStoreThatStoppedTakingWritesIsUnavailable) {
  testing::FaultInjectionFileSystem fs;
  testing::InProcessServer server({{"items", Item::descriptor()}}, {}, &fs);
  auto stub = v1::Persist::NewStub(server.Channel());
  auto set = [&](const char* key) {
    v1::SetRequest request;
    request.set_map("items");
    request.set_key(key);
    request.mutable_value()->PackFrom(MakeItem(key, 1));
    v1::SetResponse response;
    grpc::ClientContext context;
    return stub->Set(&context, request, &response).error_code();
  };
  EXPECT_EQ(set("a"), grpc::StatusCode::OK);
  fs.FailAfter(testing::FaultInjectionFileSystem::Op::kAppend, 0,
               absl::InternalError("injected EIO"));
  EXPECT_EQ(set("b"), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(set("c"), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace persist::service

namespace persist::service {
namespace {

// The service's answers to values, names and sizes it cannot take, and to
// a store that stopped (issue: hardening from outside checks).
class ServiceEdgesTest : public ::testing::Test {
 protected:
  static ServiceOptions Limits() {
    ServiceOptions options;
    options.max_message_bytes = 200 << 10;
    return options;
  }

  template <typename Request, typename Response, typename Call>
  grpc::Status Invoke(Call call, const Request& request, Response* response) {
    grpc::ClientContext context;
    return (stub_.get()->*call)(&context, request, response);
  }
  grpc::Status Set(const std::string& map, const std::string& key,
                   const google::protobuf::Message& value) {
    v1::SetRequest request;
    request.set_map(map);
    request.set_key(key);
    request.mutable_value()->PackFrom(value);
    v1::SetResponse response;
    return Invoke(&v1::Persist::Stub::Set, request, &response);
  }

  testing::FaultInjectionFileSystem fs_;
  testing::InProcessServer server_{
      {{"items", Item::descriptor()}}, Limits(), &fs_};
  const std::unique_ptr<v1::Persist::Stub> stub_ =
      v1::Persist::NewStub(server_.Channel());
};

TEST_F(ServiceEdgesTest, SetAndUpdateRefuseUnknownFieldsNamingTheField) {
  Item newer = MakeItem("A", 1);
  newer.GetReflection()->MutableUnknownFields(&newer)->AddVarint(12, 1);
  grpc::Status set = Set("items", "a", newer);
  EXPECT_EQ(set.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(set.error_message(), HasSubstr("map \"items\" key \"a\""));
  EXPECT_THAT(set.error_message(), HasSubstr("field number 12"));

  ASSERT_TRUE(Set("items", "a", MakeItem("A", 1)).ok());
  v1::UpdateRequest update;
  update.set_map("items");
  update.set_key("a");
  update.mutable_value()->PackFrom(newer);
  update.mutable_update_mask()->add_paths("count");
  v1::UpdateResponse updated;
  grpc::Status status = Invoke(&v1::Persist::Stub::Update, update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("field number 12"));
  EXPECT_EQ(server_.store().Stats().wal_records, 1u);
}

TEST_F(ServiceEdgesTest, BadMapNamesAndKeysAreInvalidArgumentOnEveryCall) {
  auto code_of = [&](const std::string& map, const std::string& key) {
    std::vector<grpc::StatusCode> codes;
    v1::GetRequest get;
    get.set_map(map);
    get.set_key(key);
    v1::GetResponse got;
    codes.push_back(Invoke(&v1::Persist::Stub::Get, get, &got).error_code());
    codes.push_back(Set(map, key, MakeItem("x", 1)).error_code());
    v1::DeleteRequest del;
    del.set_map(map);
    del.set_key(key);
    v1::DeleteResponse deleted;
    codes.push_back(
        Invoke(&v1::Persist::Stub::Delete, del, &deleted).error_code());
    v1::UpdateRequest update;
    update.set_map(map);
    update.set_key(key);
    update.mutable_value()->PackFrom(MakeItem("x", 1));
    update.mutable_update_mask()->add_paths("name");
    update.set_allow_missing(true);
    v1::UpdateResponse updated;
    codes.push_back(
        Invoke(&v1::Persist::Stub::Update, update, &updated).error_code());
    return codes;
  };
  const std::vector<grpc::StatusCode> invalid(
      4, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code_of("bad:map", "k"), invalid);
  EXPECT_EQ(code_of("", "k"), invalid);
  EXPECT_EQ(code_of("items", "bad\x01key"), invalid);
  EXPECT_EQ(code_of("items", ""), invalid);
  v1::ListRequest list;
  list.set_map("bad map");
  v1::ListResponse listed;
  EXPECT_EQ(Invoke(&v1::Persist::Stub::List, list, &listed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code_of("nope", "k")[0], grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceEdgesTest, AnUpdateMaskWithAnEmptyPathIsInvalidArgument) {
  ASSERT_TRUE(Set("items", "a", MakeItem("A", 1)).ok());
  for (const std::vector<std::string>& paths :
       std::vector<std::vector<std::string>>{{""}, {}, {"count", ""}}) {
    v1::UpdateRequest update;
    update.set_map("items");
    update.set_key("a");
    update.mutable_value()->PackFrom(MakeItem("B", 2));
    for (const std::string& path : paths) {
      update.mutable_update_mask()->add_paths(path);
    }
    v1::UpdateResponse updated;
    EXPECT_EQ(Invoke(&v1::Persist::Stub::Update, update, &updated).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(server_.store().Stats().wal_records, 1u);
}

TEST_F(ServiceEdgesTest, ListPagesStopBeforeTheReplyLimitAndTheTokenGoesOn) {
  // 30 values of 20 KiB: the default page (100) would be 600 KiB, three
  // times the reply limit.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(Set("items", absl::StrCat("k", 10 + i),
                    MakeItem(std::string(20 << 10, 'v'), i))
                    .ok());
  }
  v1::ListRequest request;
  request.set_map("items");
  std::vector<std::string> keys;
  int pages = 0;
  for (;; ++pages) {
    v1::ListResponse response;
    ASSERT_TRUE(Invoke(&v1::Persist::Stub::List, request, &response).ok());
    EXPECT_LE(response.ByteSizeLong(),
              static_cast<size_t>(MaxReplyBytes(Limits().max_message_bytes)));
    EXPECT_GT(response.entries_size(), 0);
    for (const v1::Entry& entry : response.entries()) {
      keys.push_back(entry.key());
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_GE(pages, 2);
  ASSERT_EQ(keys.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(keys[i], absl::StrCat("k", 10 + i));
}

TEST_F(ServiceEdgesTest, BatchGetRefusesAReplyPastTheLimit) {
  // 30 values of 20 KiB: 600 KiB, three times the reply limit.
  v1::BatchGetRequest request;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(Set("items", absl::StrCat("k", i),
                    MakeItem(std::string(20 << 10, 'v'), i))
                    .ok());
    v1::GetRequest* get = request.add_gets();
    get->set_map("items");
    get->set_key(absl::StrCat("k", i));
  }
  v1::BatchGetResponse response;
  grpc::Status status =
      Invoke(&v1::Persist::Stub::BatchGet, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("read fewer keys per call"));
  request.mutable_gets()->DeleteSubrange(5, 25);
  status = Invoke(&v1::Persist::Stub::BatchGet, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.results_size(), 5);
}

TEST_F(ServiceEdgesTest,
       AWriteWhoseAnswerWouldPassTheReplyLimitChangesNothing) {
  // Three values of 100 KiB, each updated by a small patch: the answer
  // carries the three merged values, 300 KiB, past the reply limit
  // (264 KiB), though the request is small.
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_TRUE(
        Set("items", key, MakeItem(std::string(100 << 10, 'v'), 1)).ok());
  }
  const uint64_t records = server_.store().Stats().wal_records;
  v1::WriteRequest request;
  for (const char* key : {"a", "b", "c"}) {
    v1::UpdateRequest* update = request.add_operations()->mutable_update();
    update->set_map("items");
    update->set_key(key);
    update->mutable_value()->PackFrom(MakeItem("", 2));
    update->mutable_update_mask()->add_paths("count");
  }
  v1::WriteResponse response;
  grpc::Status status = Invoke(&v1::Persist::Stub::Write, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("operations[2]"));
  EXPECT_THAT(status.error_message(), HasSubstr("split the batch"));
  EXPECT_THAT(status.error_message(), HasSubstr("the batch changed nothing"));
  EXPECT_EQ(server_.store().Stats().wal_records, records);
  for (const char* key : {"a", "b", "c"}) {
    EXPECT_EQ(server_.store().GetMap<Item>("items")->Get(key)->value->count(),
              1)
        << key;
  }

  // Two fit, and their answer is sent.
  request.mutable_operations()->DeleteSubrange(2, 1);
  status = Invoke(&v1::Persist::Stub::Write, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 2);
  Item merged;
  ASSERT_TRUE(response.results(1).update().value().UnpackTo(&merged));
  EXPECT_EQ(merged.count(), 2);
  EXPECT_EQ(merged.name().size(), size_t{100 << 10});
}

TEST_F(ServiceEdgesTest,
       ABatchWhoseResultsAloneWouldPassTheReplyLimitIsRefused) {
  // The results besides merged values are far smaller than the request
  // that asks for them, so only a limit below the request shows it.
  v1::WriteRequest request;
  for (int i = 0; i < 20; ++i) {
    v1::SetRequest* set = request.add_operations()->mutable_set();
    set->set_map("items");
    set->set_key(absl::StrCat("k", i));
    set->mutable_value()->PackFrom(MakeItem("x", i));
  }
  absl::StatusOr<PreparedBatch> prepared =
      PrepareBatch(server_.store(), request, Durability::kWrite,
                   /*max_operations=*/100, /*max_reply_bytes=*/500);
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(prepared.status().message(), HasSubstr("Write of 20 operations"));
  EXPECT_TRUE(PrepareBatch(server_.store(), request, Durability::kWrite, 100,
                           /*max_reply_bytes=*/4096)
                  .ok());
}

TEST_F(ServiceEdgesTest, AValueTooLargeForAnyReplyIsRefusedByName) {
  // Stored past the service (an embedded writer, another tool): larger than
  // any reply may be.
  ASSERT_TRUE(server_.store()
                  .GetMap<Item>("items")
                  ->Set("huge", MakeItem(std::string(300 << 10, 'h'), 1))
                  .ok());
  v1::GetRequest get;
  get.set_map("items");
  get.set_key("huge");
  v1::GetResponse got;
  grpc::Status status = Invoke(&v1::Persist::Stub::Get, get, &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("\"huge\""));
  EXPECT_THAT(status.error_message(), HasSubstr("max_message_bytes"));
  v1::ListRequest list;
  list.set_map("items");
  v1::ListResponse listed;
  status = Invoke(&v1::Persist::Stub::List, list, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("\"huge\""));
}

const v1::ShrinkRequest kEmptyShrink;

TEST_F(ServiceEdgesTest, QueuedShrinksJoinAndNeverHoldUpReads) {
  ASSERT_TRUE(Set("items", "a", MakeItem("A", 1)).ok());
  ASSERT_TRUE(Set("items", "a", MakeItem("A", 2)).ok());
  // The first Shrink stops at its temporary file until released; the
  // others queue behind it on gRPC's callback threads, if they are used.
  fs_.HoldNext(testing::FaultInjectionFileSystem::Op::kCreate);
  constexpr int kShrinks = 8;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::ShrinkResponse> responses(kShrinks);
  std::vector<grpc::Status> statuses(kShrinks);
  Notification done[kShrinks];
  for (int i = 0; i < kShrinks; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    stub_->async()->Shrink(contexts.back().get(), &kEmptyShrink, &responses[i],
                           [&, i](grpc::Status status) {
                             statuses[i] = std::move(status);
                             done[i].Notify();
                           });
  }
  ASSERT_TRUE(fs_.WaitUntilHeld(absl::Seconds(60)));
  // Reads are served meanwhile (a deadline turns a hang into a failure).
  for (int i = 0; i < 20; ++i) {
    v1::GetRequest get;
    get.set_map("items");
    get.set_key("a");
    v1::GetResponse got;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    ASSERT_TRUE(stub_->Get(&context, get, &got).ok());
    EXPECT_TRUE(got.found());
  }
  fs_.Release();
  for (int i = 0; i < kShrinks; ++i) {
    done[i].WaitForNotification();
    EXPECT_TRUE(statuses[i].ok()) << statuses[i].error_message();
  }
  // At most two runs: the one held, and one for the calls that came after
  // it started, if any did not join it.
  EXPECT_LE(server_.store().Stats().shrinks, 2u);
  EXPECT_GE(server_.store().Stats().shrinks, 1u);
}

TEST_F(ServiceEdgesTest, AFailedShrinkThatLeavesTheStoreWritableKeepsItsCode) {
  ASSERT_TRUE(Set("items", "a", MakeItem("A", 1)).ok());
  fs_.FailAfter(testing::FaultInjectionFileSystem::Op::kCreate, 0,
                ErrnoStatus("create", "data.wal.shrink", ENOSPC));
  v1::ShrinkResponse shrunk;
  grpc::Status status =
      Invoke(&v1::Persist::Stub::Shrink, v1::ShrinkRequest(), &shrunk);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("still takes writes"));
  EXPECT_TRUE(Set("items", "b", MakeItem("B", 1)).ok());
}

// Whatever the errno of the failed write, every later write is UNAVAILABLE,
// and the message names the errno once.
TEST(ServiceStoppedStoreTest, EveryErrnoGivesUnavailableNamedOnce) {
  for (const int error : {EROFS, EPERM, EINVAL, EFBIG, ENOSPC, EIO}) {
    SCOPED_TRACE(std::strerror(error));
    testing::FaultInjectionFileSystem fs;
    testing::InProcessServer server({{"items", Item::descriptor()}}, {}, &fs);
    auto stub = v1::Persist::NewStub(server.Channel());
    fs.FailAfter(testing::FaultInjectionFileSystem::Op::kAppend, 0,
                 ErrnoStatus("write to", "data.wal", error));
    for (const v1::Durability durability : {v1::WRITE, v1::FSYNC, v1::WRITE}) {
      v1::SetRequest request;
      request.set_map("items");
      request.set_key("k");
      request.set_durability(durability);
      request.mutable_value()->PackFrom(MakeItem("v", 1));
      v1::SetResponse response;
      grpc::ClientContext context;
      const grpc::Status status = stub->Set(&context, request, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
      const std::string reason = std::strerror(error);
      const std::string& message = status.error_message();
      ASSERT_NE(message.find(reason), std::string::npos) << message;
      EXPECT_EQ(message.find(reason, message.find(reason) + 1),
                std::string::npos)
          << message;
      EXPECT_THAT(message, HasSubstr(absl::StrCat("(errno ", error, ")")));
    }
    v1::FlushResponse flushed;
    grpc::ClientContext context;
    EXPECT_EQ(stub->Flush(&context, {}, &flushed).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
}

}  // namespace
}  // namespace persist::service
