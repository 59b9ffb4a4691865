// What a map accepts: values whose every field the JSON log can hold, valid
// keys and map names; and what a read returns is what a restart brings
// back.
#include <sys/stat.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using google::protobuf::util::MessageDifferencer;
using persist::test::v1::Item;
using ::testing::HasSubstr;
using testing::TempDir;

// An Item as a client built from a newer schema sends it: field 9 is
// unknown here.
Item FromNewerSchema(const std::string& name) {
  Item item;
  item.set_name(name);
  item.GetReflection()->MutableUnknownFields(&item)->AddVarint(9, 42);
  return item;
}

// Field 2 (count, a varint) sent as length-delimited bytes: protobuf keeps
// it as an unknown field and leaves count unset.
Item WithWrongWireType() {
  std::string bytes;
  bytes.push_back(static_cast<char>((1 << 3) | 2));  // name, length-delimited
  bytes += std::string(
      "\x01"
      "a",
      2);
  bytes.push_back(static_cast<char>((2 << 3) | 2));  // count, as bytes
  bytes += std::string(
      "\x01"
      "x",
      2);
  Item item;
  EXPECT_TRUE(item.ParseFromString(bytes));
  EXPECT_EQ(item.GetReflection()->GetUnknownFields(item).field_count(), 1);
  return item;
}

class StoreValuesTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> Open(bool ignore_unknown_fields = false) {
    StoreOptions options =
        testing::QuietStoreOptions(dir_, {{"items", Item::descriptor()}});
    options.ignore_unknown_fields = ignore_unknown_fields;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempDir dir_;
};

TEST_F(StoreValuesTest, UnknownFieldsAreRefusedNamingMapKeyAndField) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  for (const Item& value : {FromNewerSchema("a"), WithWrongWireType()}) {
    absl::StatusOr<WriteResult> set = items.Set("k", value);
    ASSERT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(set.status().message(), HasSubstr("map \"items\" key \"k\""));
    EXPECT_THAT(set.status().message(), HasSubstr("field number"));
    EXPECT_EQ(items.dynamic().CheckValue("k", value).code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(items.Set("k", FromNewerSchema("a")).status().message(),
              HasSubstr("field number 9"));
  // Through Update too: the value the function chooses is checked alike.
  absl::StatusOr<UpdateResult> updated = items.Update("k", [](const Item*) {
    return UpdateDecision<Item>::Set(
        std::make_shared<const Item>(FromNewerSchema("b")));
  });
  EXPECT_EQ(updated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(items.Get("k")->found());
  EXPECT_EQ(store->Stats().wal_records, 0u);
}

TEST_F(StoreValuesTest, IgnoredUnknownFieldsAreDroppedBeforeStoringAndCounted) {
  std::shared_ptr<const Item> read;
  {
    auto store = Open(/*ignore_unknown_fields=*/true);
    Map<Item> items = *store->GetMap<Item>("items");
    EXPECT_TRUE(items.dynamic().CheckValue("k", FromNewerSchema("a")).ok());
    ASSERT_TRUE(items.Set("k", FromNewerSchema("a")).ok());
    ASSERT_TRUE(items.Set("w", WithWrongWireType()).ok());
    read = items.Get("k")->value;
    EXPECT_EQ(read->name(), "a");
    EXPECT_TRUE(read->GetReflection()->GetUnknownFields(*read).empty());
    EXPECT_EQ(store->Stats().ignored_unknown_fields, 2);
  }
  // What the read returned is what the restart brings back.
  auto store = Open(/*ignore_unknown_fields=*/true);
  Map<Item> items = *store->GetMap<Item>("items");
  EXPECT_TRUE(MessageDifferencer::Equals(*items.Get("k")->value, *read));
  EXPECT_EQ(items.Get("w")->value->name(), "a");
  EXPECT_EQ(items.Get("w")->value->count(), 0);
}

TEST_F(StoreValuesTest, InvalidKeysAndMapNamesAreInvalidArgumentForReadsToo) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  for (const std::string& key :
       {std::string(""), std::string("bad\x01key"), std::string(5000, 'k')}) {
    EXPECT_EQ(items.Get(key).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(items.Delete(key).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(store->GetMap("bad:name").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetMap("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetMap("nope").status().code(), absl::StatusCode::kNotFound);
}

// Records every file's permission bits when it is renamed over another, the
// moment Shrink's temporary file becomes the WAL.
class RenameWatchingFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(
      const std::string& path) override {
    return base_->ReadFile(path);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(
      const std::string& path) override {
    return base_->OpenForAppend(path);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> CreateEmpty(
      const std::string& path, const std::string& permissions_of) override {
    return base_->CreateEmpty(path, permissions_of);
  }
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    return base_->FileSize(path);
  }
  absl::Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    struct stat st;
    renamed_mode = ::stat(from.c_str(), &st) == 0 ? st.st_mode & 0777 : 07777;
    return base_->Rename(from, to);
  }
  absl::Status SyncDir(const std::string& dir) override {
    return base_->SyncDir(dir);
  }
  absl::Status Remove(const std::string& path) override {
    return base_->Remove(path);
  }
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      const std::string& path) override {
    return base_->Lock(path);
  }

  mode_t renamed_mode = 0;

 private:
  FileSystem* const base_ = PosixFileSystem();
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(StoreFilesTest, TheWalItsLockAndShrinksFileAreOwnerOnly) {
  const mode_t old_umask = ::umask(022);  // the usual one, which keeps 0644
  TempDir dir;
  RenameWatchingFileSystem fs;
  {
    auto store = Store::Open(
        testing::QuietStoreOptions(dir, {{"items", Item::descriptor()}}, &fs));
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(ModeOf(dir.Path("data.wal")), 0600u);
    EXPECT_EQ(ModeOf(dir.Path("data.wal.lock")), 0600u);
    Map<Item> items = *(*store)->GetMap<Item>("items");
    Item item;
    item.set_name("v");
    ASSERT_TRUE(items.Set("k", item).ok());
    ASSERT_TRUE(items.Set("k", item).ok());
    ASSERT_TRUE((*store)->Shrink().ok());
    EXPECT_EQ(fs.renamed_mode, 0600u);
    EXPECT_EQ(ModeOf(dir.Path("data.wal")), 0600u);
  }
  ::umask(old_umask);
}

}  // namespace
}  // namespace persist
