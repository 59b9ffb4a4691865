// Differential tests: persist's JsonCodec against protobuf's own JSON
// functions on thousands of random messages. For each message, (a) our
// encoding parsed by protobuf, (b) protobuf's encoding parsed by us and
// (c) our encoding parsed by us must all equal the original, and (d) what
// (c) read must encode to exactly the same text (the written form is
// canonical).
#include <memory>
#include <string>

#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "gtest/gtest.h"
#include "json/json_codec.h"
#include "persist/test/v1/all_types.pb.h"
#include "tests/json/protobuf_oracle.h"
#include "tests/json/random_message.h"

namespace persist {
namespace {

using google::protobuf::Message;
using persist::test::v1::AllTypes;
using testing::Equivalent;
using testing::ProtobufFromJson;
using testing::ProtobufToJson;
using testing::RandomMessageFiller;

// Checks (a), (b), (c) and (d) for `original`; `context` names the seed so that
// a failure can be reproduced.
void ExpectAgreesWithProtobuf(const JsonCodec& codec, const Message& original,
                              const std::string& context) {
  SCOPED_TRACE(context);
  std::string diff, error;

  absl::StatusOr<std::string> ours = codec.Encode(original);
  ASSERT_TRUE(ours.ok()) << ours.status() << "\n" << original.DebugString();

  std::unique_ptr<Message> by_protobuf(original.New());
  ASSERT_TRUE(ProtobufFromJson(*ours, by_protobuf.get(), &error))
      << "protobuf cannot read our JSON: " << error << "\n"
      << *ours;
  EXPECT_TRUE(Equivalent(original, *by_protobuf, &diff))
      << "(a) protobuf reads our JSON differently:\n"
      << diff << *ours;

  std::string theirs;
  ASSERT_TRUE(ProtobufToJson(original, &theirs, &error)) << error;
  std::unique_ptr<Message> by_us(original.New());
  absl::Status status = codec.Decode(theirs, by_us.get());
  ASSERT_TRUE(status.ok()) << status << "\n" << theirs;
  diff.clear();
  EXPECT_TRUE(Equivalent(original, *by_us, &diff))
      << "(b) we read protobuf's JSON differently:\n"
      << diff << theirs;

  std::unique_ptr<Message> round_trip(original.New());
  status = codec.Decode(*ours, round_trip.get());
  ASSERT_TRUE(status.ok()) << status << "\n" << *ours;
  diff.clear();
  EXPECT_TRUE(Equivalent(original, *round_trip, &diff))
      << "(c) our JSON does not read back the same:\n"
      << diff << *ours;

  absl::StatusOr<std::string> again = codec.Encode(*round_trip);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *ours) << "(d) the same value encodes differently";
}

TEST(JsonCodecDifferentialTest, AgreesWithProtobufOnRandomMessages) {
  JsonCodec codec;
  constexpr int kMessages = 3000;
  for (int seed = 1; seed <= kMessages; ++seed) {
    AllTypes original;
    RandomMessageFiller(seed, /*max_depth=*/3).Fill(&original);
    ExpectAgreesWithProtobuf(codec, original,
                             "AllTypes from seed " + std::to_string(seed));
    if (::testing::Test::HasFailure()) break;  // one reproducer is enough
  }
}

TEST(JsonCodecDifferentialTest, AgreesWithProtobufOnDynamicMessages) {
  // The engine holds DynamicMessages for schemas loaded at run time; the
  // codec must treat them exactly like generated classes.
  google::protobuf::DynamicMessageFactory factory;
  const Message* prototype = factory.GetPrototype(AllTypes::descriptor());
  JsonCodec codec;
  constexpr int kMessages = 500;
  for (int seed = 1; seed <= kMessages; ++seed) {
    std::unique_ptr<Message> original(prototype->New());
    RandomMessageFiller(seed, /*max_depth=*/3).Fill(original.get());
    ExpectAgreesWithProtobuf(
        codec, *original, "dynamic AllTypes from seed " + std::to_string(seed));
    if (::testing::Test::HasFailure()) break;
  }
}

// Copies `file` and its dependencies into `pool`, dependencies first.
void AddFileWithDependencies(const google::protobuf::FileDescriptor* file,
                             google::protobuf::DescriptorPool* pool) {
  if (pool->FindFileByName(file->name()) != nullptr) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFileWithDependencies(file->dependency(i), pool);
  }
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  ASSERT_NE(pool->BuildFile(proto), nullptr) << file->name();
}

TEST(JsonCodecDifferentialTest, AgreesWithProtobufOutsideTheGeneratedPool) {
  // Schemas read from .proto files at run time live in their own pool, with
  // their own copies of the well-known types; Any resolves through it.
  google::protobuf::DescriptorPool pool;
  AddFileWithDependencies(AllTypes::descriptor()->file(), &pool);
  const auto* type = pool.FindMessageTypeByName("persist.test.v1.AllTypes");
  ASSERT_NE(type, nullptr);
  ASSERT_NE(type, AllTypes::descriptor());
  ASSERT_EQ(pool.FindMessageTypeByName("google.protobuf.Timestamp")
                ->well_known_type(),
            google::protobuf::Descriptor::WELLKNOWNTYPE_TIMESTAMP);
  google::protobuf::DynamicMessageFactory factory(&pool);
  JsonCodecOptions options;
  options.any_type_pool = &pool;
  JsonCodec codec(options);
  constexpr int kMessages = 500;
  for (int seed = 1; seed <= kMessages; ++seed) {
    std::unique_ptr<Message> original(factory.GetPrototype(type)->New());
    RandomMessageFiller(seed, /*max_depth=*/3).Fill(original.get());
    ExpectAgreesWithProtobuf(
        codec, *original,
        "AllTypes in a run-time pool from seed " + std::to_string(seed));
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace persist
