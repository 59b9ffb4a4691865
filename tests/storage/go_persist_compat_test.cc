// go-persist compatibility in both directions, on sample files laid out as
// go-persist writes them (testdata/go_persist/README.md).
#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using google::protobuf::Value;
using persist::test::v1::GoTestStruct;
using persist::test::v1::GoUser;
using testing::CapturedLog;
using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFileOrDie;

// go-persist reads lines with a 4096-byte bufio.Reader (ReadSlice).
constexpr size_t kGoPersistMaxLine = 4096;

class GoPersistCompatTest : public ::testing::Test {
 protected:
  void CopySample(const std::string& name) {
    WriteFileOrDie(
        path_, ReadFileOrDie(absl::StrCat(TESTDATA_DIR, "/go_persist/", name)));
  }
  std::unique_ptr<Store> Open() {
    StoreOptions options;
    options.path = path_;
    options.maps = {{"users", GoUser::descriptor()},
                    {"names", Value::descriptor()}};
    options.log = log_.Sink();
    options.auto_shrink.enabled = false;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempDir dir_;
  const std::string path_ = dir_.Path("data.wal");
  CapturedLog log_;
};

TEST_F(GoPersistCompatTest, OpensAFileWrittenByGoPersist) {
  CopySample("users_torn_tail.wal");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Map<GoUser> users = *store->GetMap<GoUser>("users");
  EXPECT_EQ(users.Get("alice")->value->age(), 31);  // the later record
  EXPECT_EQ(users.Get("alice")->value->email(), "alice@example.com");
  EXPECT_FALSE(users.Get("bob")->found());  // deleted
  EXPECT_EQ(users.Get("zoe")->value->name(), "Zo\xc3\xab");
  EXPECT_FALSE(users.Get("carol")->found());  // torn tail
  EXPECT_TRUE(log_.Contains("cut a torn tail"));

  Map<Value> names = *store->GetMap<Value>("names");
  EXPECT_EQ(names.Get("greeting")->value->string_value(),
            "gq2ip4;9209;4fm2d1d3DJ138D2L38\t2FP2938FP238HFP2H  FDAUWF1\t2");
  EXPECT_EQ(names.Get("html")->value->string_value(), "<b>Tom & Jerry</b>");

  // The untyped store's record is kept, and survives Shrink verbatim.
  EXPECT_EQ(store->Stats().orphan_keys, 1);
  ASSERT_TRUE(store->Shrink().ok());
  EXPECT_THAT(
      ReadFileOrDie(path_),
      HasSubstr("S system_config\n{\"theme\":\"dark\",\"retries\":3}\n"));
}

TEST_F(GoPersistCompatTest, WritesTheLayoutGoPersistReads) {
  {
    auto store = Open();
    Map<GoUser> users = *store->GetMap<GoUser>("users");
    GoUser alice;
    alice.set_name("Alice");
    alice.set_age(30);
    alice.set_email("alice@example.com");
    ASSERT_TRUE(users.Set("alice", alice).ok());
    GoUser big;
    big.set_name("Big");
    big.set_age(int64_t{1} << 53);  // Go's int64 reads exact numbers
    ASSERT_TRUE(users.Set("big", big).ok());
    ASSERT_TRUE(users.Delete("big").ok());
    Value text;
    text.set_string_value("line\nbreak <tag> & \"quote\"");
    ASSERT_TRUE(store->GetMap<Value>("names")->Set("greeting", text).ok());
  }
  const std::string file = ReadFileOrDie(path_);
  EXPECT_EQ(file,
            "go-persist 1\n"
            "S users:alice\n"
            "{\"Name\":\"Alice\",\"Age\":30,\"Email\":\"alice@example.com\"}\n"
            "S users:big\n{\"Name\":\"Big\",\"Age\":9007199254740992}\n"
            "D users:big\n\n"
            "S names:greeting\n"
            "\"line\\nbreak <tag> & \\\"quote\\\"\"\n");
  for (absl::string_view line : absl::StrSplit(file, '\n')) {
    EXPECT_LT(line.size() + 1, kGoPersistMaxLine);
  }
}

TEST_F(GoPersistCompatTest, SingleMapFilesAreKeptAsOrphans) {
  // OpenSingleMap names its map "": with no map "" declared, its records
  // stay orphans, kept and rewritten as they are.
  CopySample("single_map.wal");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Stats().orphan_keys, 1);
  ASSERT_TRUE(store->Shrink().ok());
  EXPECT_EQ(ReadFileOrDie(path_),
            "go-persist 1\nS :2\n{\"field1\":2,\"field2\":\"example struct "
            "updated\"}\n");
}

TEST_F(GoPersistCompatTest, SingleMapFilesAreServedAsTheMapWithTheEmptyName) {
  // With a record of go-persist's untyped store, whose key names no map: it
  // is not the single map's, and stays an orphan.
  WriteFileOrDie(path_,
                 absl::StrCat(ReadFileOrDie(absl::StrCat(
                                  TESTDATA_DIR, "/go_persist/single_map.wal")),
                              "S config\n{\"theme\":\"dark\"}\n"));
  StoreOptions options;
  options.path = path_;
  options.maps = {{"", GoTestStruct::descriptor()}};
  options.log = log_.Sink();
  options.auto_shrink.enabled = false;
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->Stats().orphan_keys, 1);
    Map<GoTestStruct> single = *(*store)->GetMap<GoTestStruct>("");
    EXPECT_EQ(single.Size(), 1);
    EXPECT_FALSE(single.Get("config")->found());
    EXPECT_FALSE(single.Get("1")->found());  // deleted
    EXPECT_EQ(single.Get("2")->value->field2(), "example struct updated");
    auto value = std::make_shared<GoTestStruct>();
    value->set_field1(3);
    value->set_field2("three");
    ASSERT_TRUE(single.Set("3", value).ok());
    ASSERT_TRUE((*store)->Shrink().ok());
  }
  // What go-persist's OpenSingleMap reads back, and the untyped record.
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file, HasSubstr("S :2\n{\"field1\":2,\"field2\":\"example "
                              "struct updated\"}\n"));
  EXPECT_THAT(file, HasSubstr("S :3\n{\"field1\":3,\"field2\":\"three\"}\n"));
  EXPECT_THAT(file, HasSubstr("S config\n{\"theme\":\"dark\"}\n"));
  EXPECT_EQ(std::count(file.begin(), file.end(), '\n'), 7);
  absl::StatusOr<std::unique_ptr<Store>> reopened = Store::Open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->GetMap<GoTestStruct>("")->Get("3")->value->field1(),
            3);
}

TEST_F(GoPersistCompatTest, AskingForTheSingleMapWhenNoneIsDeclaredSaysSo) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<DynamicMap*> map = store->GetMap("");
  // Most often a map forgotten: an argument missing, as before "" could be
  // declared.
  EXPECT_EQ(map.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(map.status().message(), HasSubstr("no map is named"));
  EXPECT_THAT(map.status().message(), HasSubstr("go-persist's single map"));
}

}  // namespace
}  // namespace persist
