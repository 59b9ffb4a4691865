// Watch against persistd as a real process over TCP: a watcher that stops
// reading is ended while it can resume (writers never wait for it), SIGTERM
// ends open streams with where to resume, and tokens apply.
#include <signal.h>
#include <sys/wait.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "example/v1/user.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/v1/persist.grpc.pb.h"
#include "tests/e2e/persistd_fixture.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using example::v1::User;
using ::testing::HasSubstr;
using testing::PersistdTest;

v1::WatchRequest Users(int64_t start = 0, const std::string& epoch = "") {
  v1::WatchRequest request;
  request.set_map("users");
  request.set_start_revision(start);
  request.set_epoch(epoch);
  return request;
}

// The N of "resume with start_revision N" in `message`, or -1.
int64_t ResumeRevision(const std::string& message) {
  const std::string marker = "resume with start_revision ";
  const size_t at = message.find(marker);
  if (at == std::string::npos) return -1;
  const size_t begin = at + marker.size();
  const size_t end = message.find(' ', begin);
  int64_t revision = -1;
  if (!absl::SimpleAtoi(message.substr(begin, end - begin), &revision)) {
    return -1;
  }
  return revision;
}

TEST_F(PersistdTest, AWatcherThatStopsReadingIsEndedAndResumesWithNoGap) {
  // Half of 300: ended once 150 revisions behind. The history keeps every
  // change written here, so that the watcher can resume after them all.
  auto persistd = Start(
      {"--watch_history_changes=300", "--watch_history_bytes=1000000000"});
  auto stub = persistd->Stub();
  grpc::ClientContext context;
  auto reader = stub->Watch(&context, Users());
  v1::WatchResponse first;
  ASSERT_TRUE(reader->Read(&first));
  const std::string epoch = first.header().epoch();

  // 70 MB, far more than the connection's windows and socket buffers hold
  // (a few MB), while the watcher reads nothing: every Set still succeeds.
  constexpr int kWrites = 280;
  std::set<int64_t> written;
  for (int i = 0; i < kWrites; ++i) {
    User user;
    user.set_name(std::string(256 << 10, 'a' + i % 26));
    v1::SetRequest request;
    request.set_map("users");
    request.set_key(absl::StrCat("user", i));
    request.mutable_value()->PackFrom(user);
    request.set_durability(v1::MEMORY);
    v1::SetResponse response;
    grpc::ClientContext set_context;
    ASSERT_TRUE(stub->Set(&set_context, request, &response).ok());
    written.insert(response.header().revision());
  }

  std::set<int64_t> seen;
  int64_t last_header = first.header().revision();
  v1::WatchResponse response;
  while (reader->Read(&response)) {
    for (const v1::WatchEvent& event : response.events()) {
      seen.insert(event.revision());
    }
    last_header = response.header().revision();
  }
  const grpc::Status ended = reader->Finish();
  ASSERT_EQ(ended.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << ended.error_message();
  EXPECT_THAT(ended.error_message(), HasSubstr("reads the stream too slowly"));
  const int64_t resume = ResumeRevision(ended.error_message());
  EXPECT_EQ(resume, last_header + 1);
  EXPECT_LT(seen.size(), written.size()) << "it was ended before the end";

  grpc::ClientContext again_context;
  auto again = stub->Watch(&again_context, Users(resume, epoch));
  while (seen.size() < written.size() && again->Read(&response)) {
    for (const v1::WatchEvent& event : response.events()) {
      EXPECT_TRUE(seen.insert(event.revision()).second)
          << "revision " << event.revision() << " sent twice";
    }
  }
  if (seen != written) {
    ADD_FAILURE() << "the resumed stream ended: "
                  << again->Finish().error_message();
    return;
  }
  again_context.TryCancel();
  while (again->Read(&response)) {
  }
  EXPECT_EQ(again->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(PersistdTest, SigtermEndsOpenWatchStreamsWithWhereToResume) {
  auto persistd = Start();
  ASSERT_TRUE(SetUser(*persistd->Stub(), "kept", 1, v1::WRITE).ok());
  auto stub = persistd->Stub();
  constexpr int kWatchers = 20;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchResponse>>> readers;
  int64_t revision = 0;
  for (int i = 0; i < kWatchers; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub->Watch(contexts.back().get(), Users()));
    v1::WatchResponse first;
    ASSERT_TRUE(readers.back()->Read(&first));
    revision = first.header().revision();
  }
  const int status = persistd->Kill(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (auto& reader : readers) {
    v1::WatchResponse response;
    while (reader->Read(&response)) {
    }
    const grpc::Status ended = reader->Finish();
    EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(ended.error_message(), HasSubstr("shutting down"));
    EXPECT_EQ(ResumeRevision(ended.error_message()), revision + 1);
  }
}

TEST_F(PersistdTest, ReadOnlyTokensMayWatch) {
  testing::WriteFileOrDie(dir_.Path("tokens"),
                          "reader-token read\nwriter-token write\n");
  auto persistd = Start({absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  auto stub = persistd->Stub();
  auto first_message = [&](const char* token) {
    grpc::ClientContext context;
    if (token != nullptr) {
      context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
    auto reader = stub->Watch(&context, Users());
    v1::WatchResponse response;
    const bool read = reader->Read(&response);
    if (read) context.TryCancel();
    while (reader->Read(&response)) {
    }
    const grpc::Status status = reader->Finish();
    return read ? grpc::StatusCode::OK : status.error_code();
  };
  EXPECT_EQ(first_message(nullptr), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(first_message("wrong"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(first_message("reader-token"), grpc::StatusCode::OK);
  EXPECT_EQ(first_message("writer-token"), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace persist
