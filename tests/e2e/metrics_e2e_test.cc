// persistd's monitoring, end to end: the Prometheus page scraped over HTTP
// from a real persistd while calls move its figures, and the plaintext
// health port of a persistd that serves mutual TLS.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "persist/v1/persist.grpc.pb.h"
#include "tests/e2e/persistd_fixture.h"

namespace persist {
namespace {

using ::testing::HasSubstr;
using testing::Persistd;
using testing::PersistdTest;

// A scraped page: every sample by its series ("name{labels}"), and each
// family's TYPE. Lines that break the text format are listed in `problems`.
struct Page {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> problems;

  // The sample's value; a missing one fails the test.
  double Value(const std::string& series) const {
    auto it = samples.find(series);
    if (it == samples.end()) {
      ADD_FAILURE() << "no sample " << series;
      return -1;
    }
    return it->second;
  }
};

// The family a sample belongs to: histograms add _bucket, _sum and _count.
std::string FamilyOf(const std::string& name, const Page& page) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (absl::EndsWith(name, suffix)) {
      std::string base = name.substr(0, name.size() - strlen(suffix));
      auto it = page.types.find(base);
      if (it != page.types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

Page Parse(const std::string& text) {
  Page page;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "# HELP ")) continue;
    if (absl::StartsWith(line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() != 4) page.problems.emplace_back(line);
      if (parts.size() == 4) page.types[parts[2]] = parts[3];
      continue;
    }
    const size_t space = line.rfind(' ');
    double value = 0;
    const std::string series(line.substr(0, space));
    const std::string value_text(line.substr(space + 1));
    if (space == absl::string_view::npos ||
        (!absl::SimpleAtod(value_text, &value) && value_text != "+Inf")) {
      page.problems.emplace_back(line);
      continue;
    }
    const std::string name = series.substr(0, series.find('{'));
    if (page.types.count(FamilyOf(name, page)) == 0) {
      page.problems.push_back(absl::StrCat("no TYPE before: ", line));
    }
    page.samples[series] = value;
  }
  return page;
}

// An HTTP client of `address` (host:port).
std::unique_ptr<httplib::Client> HttpClient(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  EXPECT_TRUE(colon != std::string::npos &&
              absl::SimpleAtoi(address.substr(colon + 1), &port))
      << "not host:port: \"" << address << "\"";
  return std::make_unique<httplib::Client>(address.substr(0, colon), port);
}

// GET /metrics from `address` (host:port).
Page Scrape(const std::string& address) {
  httplib::Result result = HttpClient(address)->Get("/metrics");
  if (!result) {
    ADD_FAILURE() << "cannot scrape " << address;
    return {};
  }
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  Page page = Parse(result->body);
  EXPECT_THAT(page.problems, ::testing::IsEmpty()) << result->body;
  return page;
}

// Every histogram's buckets are cumulative and end at its count.
void ExpectHistogramsConsistent(const Page& page) {
  for (const auto& [family, type] : page.types) {
    if (type != "histogram") continue;
    // By the labels other than le: the bucket values, in the page's order
    // of bounds (std::map orders series by text, so bounds are compared
    // by value).
    std::map<std::string, std::map<double, double>> histograms;
    const std::string prefix = family + "_bucket{";
    for (const auto& [series, value] : page.samples) {
      if (!absl::StartsWith(series, prefix)) continue;
      const size_t le = series.find("le=\"");
      ASSERT_NE(le, std::string::npos) << series;
      std::string labels = series.substr(prefix.size(), le - prefix.size());
      if (!labels.empty()) labels.pop_back();  // its comma
      const std::string bound = series.substr(le + 4, series.size() - le - 6);
      double upper = 0;
      if (bound == "+Inf") {
        upper = HUGE_VAL;
      } else {
        ASSERT_TRUE(absl::SimpleAtod(bound, &upper)) << series;
      }
      histograms[labels][upper] = value;
    }
    EXPECT_FALSE(histograms.empty()) << family;
    for (const auto& [labels, buckets] : histograms) {
      double previous = 0;
      for (const auto& [upper, count] : buckets) {
        EXPECT_GE(count, previous) << family << "{" << labels << "} " << upper;
        previous = count;
      }
      const std::string count_series =
          labels.empty() ? family + "_count"
                         : absl::StrCat(family, "_count{", labels, "}");
      EXPECT_EQ(buckets.rbegin()->first, HUGE_VAL) << family;
      EXPECT_EQ(buckets.rbegin()->second, page.Value(count_series)) << family;
    }
  }
}

std::string Method(absl::string_view method, absl::string_view code = "") {
  std::string labels =
      absl::StrCat("{grpc_service=\"persist.v1.Persist\",grpc_method=\"",
                   method, "\",grpc_type=\"unary\"");
  if (!code.empty()) absl::StrAppend(&labels, ",grpc_code=\"", code, "\"");
  return labels + "}";
}

std::string Writes(absl::string_view durability) {
  return absl::StrCat("persist_writes_total{durability=\"", durability, "\"}");
}

TEST_F(PersistdTest, MetricsCountCallsWritesWalAndShrinks) {
  // No background flush: the batches below are the test's own.
  auto persistd = Start({"--metrics_listen=127.0.0.1:0",
                         "--auto_shrink_disabled", "--sync_interval=1h"});
  const std::string metrics = persistd->LoggedAddress("metrics on http://");
  ASSERT_FALSE(metrics.empty()) << persistd->banner();
  const Page before = Scrape(metrics);
  EXPECT_EQ(before.Value("persist_store_loaded"), 1);
  EXPECT_EQ(before.Value("persist_store_writable"), 1);
  EXPECT_EQ(before.Value(Writes("FSYNC")), 0);
  EXPECT_GT(before.Value("persist_load_duration_seconds"), 0);
  EXPECT_EQ(before.types.at("grpc_server_handling_seconds"), "histogram");

  auto stub = persistd->Stub();
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_TRUE(SetUser(*stub, key, 1, v1::FSYNC).ok());
  }
  for (const char* key : {"a", "d"}) {
    ASSERT_TRUE(SetUser(*stub, key, 2, v1::WRITE).ok());
  }
  ASSERT_TRUE(SetUser(*stub, "e", 3, v1::ASYNC).ok());
  ASSERT_TRUE(SetUser(*stub, "f", 4, v1::MEMORY).ok());
  {
    v1::DeleteRequest request;
    request.set_map("users");
    request.set_key("b");
    request.set_durability(v1::WRITE);
    v1::DeleteResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Delete(&context, request, &response).ok());
  }
  {
    v1::GetRequest request;
    request.set_map("no-such-map");
    request.set_key("a");
    v1::GetResponse response;
    grpc::ClientContext context;
    ASSERT_EQ(stub->Get(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    v1::ShrinkResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Shrink(&context, {}, &response).ok());
  }
  {
    // Nothing is left to write after it, so the file size holds still.
    v1::FlushResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Flush(&context, {}, &response).ok());
  }

  const Page after = Scrape(metrics);
  EXPECT_EQ(after.Value(Writes("FSYNC")), 3);
  EXPECT_EQ(after.Value(Writes("WRITE")), 3);  // the delete too
  EXPECT_EQ(after.Value(Writes("ASYNC")), 1);
  EXPECT_EQ(after.Value(Writes("MEMORY")), 1);
  // Seven sets and a delete of a key that existed: eight changes.
  EXPECT_EQ(after.Value("persist_revision") - before.Value("persist_revision"),
            8);
  EXPECT_EQ(after.Value("grpc_server_started_total" + Method("Set")), 7);
  EXPECT_EQ(after.Value("grpc_server_handled_total" + Method("Set", "OK")), 7);
  EXPECT_EQ(after.Value("grpc_server_handled_total" + Method("Delete", "OK")),
            1);
  EXPECT_EQ(
      after.Value("grpc_server_handled_total" + Method("Get", "NotFound")), 1);
  EXPECT_EQ(after.Value("grpc_server_handled_total" + Method("Get", "OK")), 0);
  EXPECT_EQ(after.Value("grpc_server_handling_seconds_count" + Method("Set")),
            7);
  EXPECT_GT(after.Value("grpc_server_handling_seconds_sum" + Method("Set")), 0);
  EXPECT_EQ(
      after.Value(
          "persist_map_live_keys{map=\"users\",type=\"example.v1.User\"}"),
      5);
  // Each FSYNC set waited for its own fdatasync; each set or delete at
  // WRITE or FSYNC was a batch of its own.
  EXPECT_GE(after.Value("persist_wal_fsync_duration_seconds_count"), 3);
  EXPECT_GE(after.Value("persist_wal_batch_records_count"), 6);
  EXPECT_GE(after.Value("persist_wal_batch_records_bucket{le=\"1\"}"), 6);
  EXPECT_GT(after.Value("persist_wal_written_bytes_total"),
            before.Value("persist_wal_written_bytes_total"));
  EXPECT_EQ(after.Value("persist_shrinks_total"), 1);
  EXPECT_EQ(after.Value("persist_shrink_duration_seconds_count"), 1);
  EXPECT_EQ(after.Value("persist_shrink_failures_total"), 0);
  EXPECT_GE(after.Value("persist_wal_records"), 5);
  struct stat file;
  ASSERT_EQ(::stat(data_.c_str(), &file), 0);
  EXPECT_EQ(after.Value("persist_wal_file_bytes"),
            static_cast<double>(file.st_size));
  ExpectHistogramsConsistent(after);

  std::unique_ptr<httplib::Client> client = HttpClient(metrics);
  httplib::Result other = client->Get("/keys");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  // Only GET and HEAD. (persistd may answer before it has read the body:
  // a write to the closed socket must fail, not kill the test.)
  std::signal(SIGPIPE, SIG_IGN);
  httplib::Result post =
      client->Post("/metrics", std::string(4096, 'x'), "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(PersistdTest, HealthPortAnswersPlaintextProbesOfAMutualTlsServer) {
  auto persistd = StartWithMutualTls(
      {"--health_listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0"});
  const std::string health_address = persistd->LoggedAddress("health on ");
  ASSERT_FALSE(health_address.empty()) << persistd->banner();
  auto plaintext =
      grpc::CreateChannel(health_address, grpc::InsecureChannelCredentials());

  auto health = grpc::health::v1::Health::NewStub(plaintext);
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(health->Check(&context, {}, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // By service name too, as load balancers ask.
  grpc::health::v1::HealthCheckRequest by_name;
  by_name.set_service("persist.v1.Persist");
  grpc::ClientContext by_name_context;
  ASSERT_TRUE(health->Check(&by_name_context, by_name, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // Nothing else is served there without TLS.
  v1::GetRequest get;
  get.set_map("users");
  get.set_key("a");
  v1::GetResponse got;
  grpc::ClientContext get_context;
  const grpc::Status refused =
      v1::Persist::NewStub(plaintext)->Get(&get_context, get, &got);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("only grpc.health.v1"));
  // The main port still wants a client certificate.
  grpc::ClientContext main_context;
  main_context.set_deadline(std::chrono::system_clock::now() +
                            std::chrono::seconds(5));
  EXPECT_FALSE(persistd->Stub()->Get(&main_context, get, &got).ok());
  EXPECT_TRUE(
      SetUser(*persistd->Stub(TlsCredentials(true)), "a", 1, v1::WRITE).ok());

  // The refused call is not counted as a Get of the main port.
  const Page page = Scrape(persistd->LoggedAddress("metrics on http://"));
  EXPECT_EQ(page.Value("grpc_server_handled_total{grpc_service=\"grpc.health."
                       "v1.Health\",grpc_method=\"Check\",grpc_type=\"unary\","
                       "grpc_code=\"OK\"}"),
            2);
  EXPECT_EQ(page.Value("grpc_server_started_total" + Method("Get")), 0);
  EXPECT_EQ(page.Value("grpc_server_handled_total" + Method("Set", "OK")), 1);
}

TEST_F(PersistdTest, MetricsCountWatchStreamsEventsAndHowStreamsEnded) {
  auto persistd = Start({"--metrics_listen=127.0.0.1:0"});
  const std::string metrics = persistd->LoggedAddress("metrics on http://");
  ASSERT_FALSE(metrics.empty()) << persistd->banner();
  auto stub = persistd->Stub();
  grpc::ClientContext context;
  v1::WatchRequest request;
  request.set_map("users");
  auto reader = stub->Watch(&context, request);
  v1::WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));  // the start
  ASSERT_TRUE(SetUser(*stub, "ada", 36, v1::WRITE).ok());
  ASSERT_TRUE(SetUser(*stub, "bob", 41, v1::WRITE).ok());
  int events = 0;
  while (events < 2 && reader->Read(&response)) {
    events += response.events_size();
  }
  ASSERT_EQ(events, 2);
  // Streams are calls of grpc_type server_stream.
  auto watch = [](absl::string_view code) {
    std::string labels =
        "{grpc_service=\"persist.v1.Persist\",grpc_method=\"Watch\","
        "grpc_type=\"server_stream\"";
    if (!code.empty()) absl::StrAppend(&labels, ",grpc_code=\"", code, "\"");
    return labels + "}";
  };
  const Page open = Scrape(metrics);
  EXPECT_EQ(open.Value("persist_watch_streams"), 1);
  EXPECT_EQ(open.Value("grpc_server_started_total" + watch("")), 1);
  EXPECT_EQ(open.Value("persist_watch_events_sent_total"), 2);
  EXPECT_GE(open.Value("persist_watch_messages_sent_total"), 2);
  EXPECT_EQ(open.types.at("persist_watch_streams"), "gauge");

  // A start of another epoch ends OUT_OF_RANGE, counted before it is
  // sent.
  grpc::ClientContext foreign_context;
  request.set_start_revision(2);
  request.set_epoch("0123456789abcdef");
  auto foreign = stub->Watch(&foreign_context, request);
  while (foreign->Read(&response)) {
  }
  EXPECT_EQ(foreign->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
  const Page after = Scrape(metrics);
  EXPECT_EQ(after.Value("grpc_server_started_total" + watch("")), 2);
  EXPECT_EQ(after.Value("grpc_server_handled_total" + watch("OutOfRange")), 1);
  context.TryCancel();
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(PersistdTest, RefusesAMetricsAddressItCannotServe) {
  auto first = Start({"--metrics_listen=127.0.0.1:0"});
  const std::string taken = first->LoggedAddress("metrics on http://");
  ASSERT_FALSE(taken.empty());
  for (const std::string& address : {taken, std::string("no-port")}) {
    Persistd persistd({"--listen=127.0.0.1:0",
                       absl::StrCat("--data=", dir_.Path("other.wal")),
                       "--log_format=json",
                       absl::StrCat("--metrics_listen=", address)});
    EXPECT_TRUE(persistd.address().empty()) << address;
    const int status = persistd.ExitStatus();
    ASSERT_TRUE(WIFEXITED(status)) << address;
    EXPECT_EQ(WEXITSTATUS(status), 1) << address;
    EXPECT_THAT(persistd.Output(), HasSubstr(address)) << address;
  }
}

}  // namespace
}  // namespace persist
