// JsonCodec is documented as safe for concurrent use: one codec shared by
// many threads, encoding and decoding different message types (so that the
// field-name index is filled concurrently) must give every thread the same
// answers as a single thread gets. Runs under ThreadSanitizer in CI.
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "json/json_codec.h"
#include "persist/test/v1/all_types.pb.h"
#include "tests/json/random_message.h"

namespace persist {
namespace {

using persist::test::v1::AllTypes;

TEST(JsonCodecConcurrencyTest, SharedCodecGivesEveryThreadTheSameResults) {
  constexpr int kThreads = 8;
  constexpr int kMessages = 40;
  // Expected encodings, computed by a separate codec on this thread.
  std::vector<AllTypes> messages(kMessages);
  std::vector<std::string> expected(kMessages);
  JsonCodec reference;
  for (int i = 0; i < kMessages; ++i) {
    testing::RandomMessageFiller(1000 + i, /*max_depth=*/3).Fill(&messages[i]);
    expected[i] = *reference.Encode(messages[i]);
  }

  JsonCodec shared;  // cold: its caches fill while the threads race
  persist::Notification start;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::string> first_mismatch(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.WaitForNotification();
      for (int round = 0; round < 5; ++round) {
        for (int i = (t * 7) % kMessages, n = 0; n < kMessages;
             ++n, i = (i + 1) % kMessages) {
          auto mismatch = [&](const std::string& what) {
            if (mismatches[t]++ == 0) first_mismatch[t] = what;
          };
          absl::StatusOr<std::string> json = shared.Encode(messages[i]);
          if (!json.ok()) mismatch(json.status().ToString());
          if (json.ok() && *json != expected[i]) mismatch("encoded " + *json);
          AllTypes decoded;
          absl::Status status = shared.Decode(expected[i], &decoded);
          if (!status.ok()) mismatch(status.ToString());
          google::protobuf::Value value;
          status = shared.Decode(R"({"a":[1,"x",null]})", &value);
          if (!status.ok()) mismatch(status.ToString());
        }
      }
    });
  }
  start.Notify();
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(mismatches[t], 0) << "thread " << t << ": " << first_mismatch[t];
  }
}

}  // namespace
}  // namespace persist
