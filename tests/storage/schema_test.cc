// Schema: message types from .proto files and descriptor sets, used by a
// DynamicMap end to end.
#include "storage/schema.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFileOrDie;

constexpr char kOrderProto[] = R"(syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
message Order {
  string id = 1;
  int64 cents = 2;
  google.protobuf.Timestamp placed_at = 3;
}
)";

TEST(SchemaTest, LoadsProtoFilesWithWellKnownImports) {
  TempDir dir;
  WriteFileOrDie(dir.Path("order.proto"), kOrderProto);
  absl::StatusOr<std::unique_ptr<Schema>> schema =
      Schema::FromProtoFiles({"order.proto"}, {dir.dir()});
  ASSERT_TRUE(schema.ok()) << schema.status();
  absl::StatusOr<const google::protobuf::Descriptor*> order =
      (*schema)->FindMessage("shop.v1.Order");
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ((*order)->field_count(), 3);

  absl::StatusOr<const google::protobuf::Descriptor*> missing =
      (*schema)->FindMessage("shop.v1.Nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("order.proto"));
}

TEST(SchemaTest, ProtoErrorsNameFileLineAndColumn) {
  TempDir dir;
  WriteFileOrDie(dir.Path("bad.proto"),
                 "syntax = \"proto3\";\nmessage Bad {\n  strin id = 1;\n}\n");
  absl::StatusOr<std::unique_ptr<Schema>> schema =
      Schema::FromProtoFiles({"bad.proto"}, {dir.dir()});
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.status().message(), HasSubstr("bad.proto:3:"));
  EXPECT_THAT(schema.status().message(), HasSubstr("strin"));

  WriteFileOrDie(dir.Path("imports.proto"),
                 "syntax = \"proto3\";\nimport \"missing.proto\";\n");
  schema = Schema::FromProtoFiles({"imports.proto"}, {dir.dir()});
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.status().message(), HasSubstr("missing.proto"));

  schema = Schema::FromProtoFiles({"absent.proto"}, {dir.dir()});
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.status().message(), HasSubstr("absent.proto"));
}

TEST(SchemaTest, LoadsDescriptorSetsAndServesADynamicMap) {
  google::protobuf::FileDescriptorSet set;
  persist::test::v1::Item::descriptor()->file()->CopyTo(set.add_file());
  absl::StatusOr<std::unique_ptr<Schema>> schema =
      Schema::FromDescriptorSet(set.SerializeAsString(), "engine.pb");
  ASSERT_TRUE(schema.ok()) << schema.status();
  const google::protobuf::Descriptor* item =
      *(*schema)->FindMessage("persist.test.v1.Item");
  EXPECT_NE(item, persist::test::v1::Item::descriptor());  // its own pool

  TempDir dir;
  StoreOptions options;
  options.path = dir.Path("data.wal");
  options.maps = {{"items", item}};
  options.log = [](LogLevel, absl::string_view) {};
  auto store = *Store::Open(options);
  DynamicMap* items = *store->GetMap("items");
  std::unique_ptr<google::protobuf::Message> value = items->NewValue();
  value->GetReflection()->SetString(value.get(), item->FindFieldByName("name"),
                                    "dynamic");
  ASSERT_TRUE(items->Set("k", std::move(value)).ok());
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(ReadFileOrDie(options.path),
            "go-persist 1\nS items:k\n{\"name\":\"dynamic\"}\n");
}

TEST(SchemaTest, BadDescriptorSetsAreRefused) {
  EXPECT_EQ(Schema::FromDescriptorSet("not a proto", "x.pb").status().code(),
            absl::StatusCode::kInvalidArgument);
  google::protobuf::FileDescriptorSet set;
  google::protobuf::FileDescriptorProto* file = set.add_file();
  file->set_name("needs.proto");
  file->add_dependency("missing.proto");
  absl::StatusOr<std::unique_ptr<Schema>> schema =
      Schema::FromDescriptorSet(set.SerializeAsString(), "set.pb");
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.status().message(), HasSubstr("--include_imports"));
  EXPECT_EQ(Schema::FromDescriptorSetFile("/nonexistent.pb").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace persist
