// persistctl against a real persistd: maps read and written as JSON through
// the types persistd's reflection service reports, the administrative
// commands, exit codes that follow the gRPC status, and the offline file
// tools.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "example/v1/user.pb.h"
#include "gmock/gmock.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "persist/v1/persist.grpc.pb.h"
#include "tests/e2e/persistd_fixture.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using ::testing::HasSubstr;
using testing::PersistdTest;
using ::testing::StartsWith;

// Runs persistctl with `args`; returns its exit code and fills `output`.
int Persistctl(const std::string& args, std::string* output) {
  return testing::RunCapturing(absl::StrCat(PERSISTCTL_PATH, " ", args),
                               output);
}

// gRPC status codes, which are persistctl's exit codes.
constexpr int kInvalidArgument = 3;
constexpr int kNotFound = 5;
constexpr int kPermissionDenied = 7;
constexpr int kFailedPrecondition = 9;
constexpr int kAborted = 10;
constexpr int kOutOfRange = 11;
constexpr int kUnavailable = 14;
constexpr int kUnauthenticated = 16;
// Usage mistakes: EX_USAGE, which no gRPC code has.
constexpr int kUsage = 64;

TEST_F(PersistdTest, ReadsAndWritesTheExampleMapAsJson) {
  auto persistd = Start();
  auto stub = persistd->Stub();
  const std::string ctl = absl::StrCat("--addr=", persistd->address(), " ");
  std::string out;

  ASSERT_EQ(
      Persistctl(
          ctl +
              R"(set users ada '{"name":"Ada","email":"ada@example.org","age":36}')",
          &out),
      0)
      << out;
  EXPECT_THAT(out, HasSubstr("\"existed\":false"));
  // What persistctl wrote is a typed User for every other client.
  ASSERT_TRUE(GetUser(*stub, "ada").has_value());
  EXPECT_EQ(GetUser(*stub, "ada")->email(), "ada@example.org");
  EXPECT_EQ(GetUser(*stub, "ada")->age(), 36);

  ASSERT_EQ(Persistctl(ctl + "get users ada", &out), 0) << out;
  EXPECT_THAT(
      out,
      StartsWith(
          R"({"key":"ada","value":{"name":"Ada","email":"ada@example.org","age":36},"etag":")"));
  const size_t etag_at = out.find("\"etag\":\"") + 8;
  const std::string etag =
      out.substr(etag_at, out.find('"', etag_at) - etag_at);
  // The etag names the entry's revision, which the line gives as a number.
  const std::string revision = etag.substr(etag.find('-') + 1);
  EXPECT_THAT(out, HasSubstr(absl::StrCat("\"mod_revision\":", revision)));

  // update changes only the masked fields.
  ASSERT_EQ(
      Persistctl(
          ctl + R"(update users ada '{"age":37,"email":"ignored"}' --mask=age)",
          &out),
      0)
      << out;
  EXPECT_THAT(
      out, HasSubstr(
               R"("value":{"name":"Ada","email":"ada@example.org","age":37})"));
  EXPECT_EQ(GetUser(*stub, "ada")->age(), 37);
  EXPECT_THAT(
      out, HasSubstr(absl::StrCat("\"revision\":", std::stoll(revision) + 1)));

  // Preconditions: a stale etag is ABORTED, a create of an existing key
  // FAILED_PRECONDITION; neither changes anything.
  EXPECT_EQ(
      Persistctl(ctl + R"(set users ada '{"age":1}' --etag=)" + etag, &out),
      kAborted)
      << out;
  EXPECT_EQ(
      Persistctl(ctl + R"(set users ada '{"age":1}' --must_not_exist)", &out),
      kFailedPrecondition)
      << out;
  EXPECT_EQ(GetUser(*stub, "ada")->age(), 37);

  // Input errors name what is wrong, and change nothing.
  EXPECT_EQ(
      Persistctl(ctl + R"(set users bob '{"name":"Bob","shoe":44}')", &out),
      kInvalidArgument);
  EXPECT_THAT(out, HasSubstr("unknown field \"shoe\" in example.v1.User"));
  EXPECT_EQ(Persistctl(ctl + R"(set users bob '{"name":')", &out),
            kInvalidArgument)
      << out;
  EXPECT_EQ(
      Persistctl(ctl + R"(set users bob '{}' --durability=sometimes)", &out),
      kInvalidArgument)
      << out;
  EXPECT_EQ(Persistctl(ctl + "update users ada '{}'", &out), kInvalidArgument);
  EXPECT_THAT(out, HasSubstr("--mask"));
  EXPECT_FALSE(GetUser(*stub, "bob").has_value());
  EXPECT_EQ(Persistctl(ctl + "get users bob", &out), kNotFound);
  EXPECT_THAT(out, HasSubstr("no key \"bob\" in map \"users\""));
  EXPECT_EQ(Persistctl(ctl + "get orders 1", &out), kNotFound);
  EXPECT_THAT(out, HasSubstr("it has: users"));
  EXPECT_EQ(Persistctl(ctl + "get users", &out), kUsage);

  // list: every page, in key order, with a prefix and a limit.
  for (const char* key : {"ann", "bea", "abe", "cid"}) {
    ASSERT_EQ(Persistctl(ctl + "set users " + key + " '{\"name\":\"" + key +
                             "\"}' --durability=fsync",
                         &out),
              0)
        << out;
  }
  ASSERT_EQ(Persistctl(ctl + "list users --page_size=2", &out), 0) << out;
  std::vector<std::string> keys;
  for (size_t at = out.find("{\"key\":\""); at != std::string::npos;
       at = out.find("{\"key\":\"", at + 1)) {
    keys.push_back(out.substr(at + 8, out.find('"', at + 8) - at - 8));
  }
  EXPECT_EQ(keys,
            (std::vector<std::string>{"abe", "ada", "ann", "bea", "cid"}));
  ASSERT_EQ(Persistctl(ctl + "list users --prefix=a --limit=2", &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("\"key\":\"abe\""));
  EXPECT_THAT(out, HasSubstr("\"key\":\"ada\""));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("\"key\":\"ann\"")));

  ASSERT_EQ(Persistctl(ctl + "delete users ada --durability=write", &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("\"existed\":true"));
  EXPECT_FALSE(GetUser(*stub, "ada").has_value());
  ASSERT_EQ(Persistctl(ctl + "delete users ada", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("\"existed\":false"));
  EXPECT_EQ(Persistctl(ctl + "delete users ann --must_exist --etag=x", &out),
            kInvalidArgument)
      << out;
}

TEST_F(PersistdTest, BatchAppliesAFileOfOperationsAllOrNothing) {
  auto persistd = Start();
  auto stub = persistd->Stub();
  const std::string ctl = absl::StrCat("--addr=", persistd->address(), " ");
  std::string out;
  ASSERT_EQ(Persistctl(ctl + R"(set users bob '{"name":"Bob"}')", &out), 0)
      << out;
  const std::string batch = dir_.Path("batch.jsonl");
  testing::WriteFileOrDie(
      batch,
      R"({"set": {"map": "users", "key": "ada", "value": {"name": "Ada", "age": 36}, "precondition": {"mustNotExist": true}}}

{"delete": {"map": "users", "key": "bob"}}
{"update": {"map": "users", "key": "cy", "value": {"age": 40, "name": "kept out"}, "updateMask": "age", "allowMissing": true}}
)");
  ASSERT_EQ(Persistctl(ctl + "batch --durability=fsync " + batch, &out), 0)
      << out;
  const std::vector<std::string> lines =
      absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << out;
  EXPECT_THAT(lines[0], StartsWith(R"({"map":"users","key":"ada","etag":")"));
  EXPECT_THAT(lines[0], HasSubstr(R"("existed":false,"revision":3})"));
  EXPECT_EQ(lines[1],
            R"({"map":"users","key":"bob","existed":true,"revision":4})");
  EXPECT_THAT(
      lines[2],
      StartsWith(R"({"map":"users","key":"cy","value":{"age":40},"etag":")"));
  EXPECT_THAT(lines[2], HasSubstr(R"("existed":false,"revision":5})"));
  EXPECT_EQ(GetUser(*stub, "ada")->age(), 36);
  EXPECT_FALSE(GetUser(*stub, "bob").has_value());
  EXPECT_EQ(GetUser(*stub, "cy")->name(), "");

  // Again: ada exists now, so the first operation fails and the batch
  // changes nothing; the error names the operation and its line.
  EXPECT_EQ(Persistctl(ctl + "batch " + batch, &out), kFailedPrecondition);
  EXPECT_THAT(out, HasSubstr("operations[0]"));
  EXPECT_THAT(out, HasSubstr("batch.jsonl line 1)"));
  EXPECT_FALSE(GetUser(*stub, "bob").has_value());

  // From stdin; input errors name the line and send nothing.
  const std::string bad = dir_.Path("bad.jsonl");
  testing::WriteFileOrDie(
      bad, R"({"set": {"map": "users", "key": "dee", "value": {"name": "Dee"}}}
{"set": {"map": "users", "key": "eve", "value": {"shoe": 44}}}
)");
  EXPECT_EQ(Persistctl(ctl + "batch - < " + bad, &out), kInvalidArgument);
  EXPECT_THAT(out, HasSubstr("stdin line 2: the value is not JSON of "
                             "example.v1.User"));
  EXPECT_FALSE(GetUser(*stub, "dee").has_value());
  testing::WriteFileOrDie(
      bad, R"({"delete": {"map": "users", "key": "ada", "value": {}}})");
  EXPECT_EQ(Persistctl(ctl + "batch " + bad, &out), kInvalidArgument);
  EXPECT_THAT(out, HasSubstr("line 1: a delete takes no \"value\""));
  testing::WriteFileOrDie(bad, "\n");
  EXPECT_EQ(Persistctl(ctl + "batch " + bad, &out), kInvalidArgument);
  EXPECT_THAT(out, HasSubstr("holds no operation"));
  EXPECT_EQ(Persistctl(ctl + "batch", &out), kUsage);
  // The server's answers keep their codes: no persistd there is UNAVAILABLE.
  EXPECT_EQ(Persistctl("--addr=127.0.0.1:1 --timeout=2s batch " + batch, &out),
            kUnavailable)
      << out;
  EXPECT_EQ(GetUser(*stub, "ada")->age(), 36);
}

// A map whose type persistd loaded from .proto files at start-up, which
// persistctl has never been compiled with: nested messages, enums, maps,
// repeated fields and an imported well-known type.
TEST_F(PersistdTest, UsesTheTypesOfTheServersSchema) {
  testing::WriteFileOrDie(dir_.Path("order.proto"), R"(
syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";
message Order {
  enum State { STATE_UNSPECIFIED = 0; OPEN = 1; SHIPPED = 2; }
  message Line { string sku = 1; int64 quantity = 2; }
  string id = 1;
  State state = 2;
  repeated Line lines = 3;
  map<string, string> labels = 4;
  google.protobuf.Timestamp placed = 5;
}
)");
  auto persistd =
      Start({absl::StrCat("--proto_path=", dir_.dir()),
             "--proto_files=order.proto", "--maps=orders=shop.v1.Order"});
  const std::string ctl = absl::StrCat("--addr=", persistd->address(), " ");
  const std::string order =
      R"({"id":"o-1","state":"OPEN","lines":[{"sku":"tea","quantity":"3"}],)"
      R"("labels":{"gift":"yes"},"placed":"2026-11-25T10:00:00Z"})";
  // 64-bit integers are written as JSON numbers (DESIGN.md 3), and read
  // from strings too.
  const std::string stored = absl::StrReplaceAll(order, {{R"("3")", "3"}});
  std::string out;
  ASSERT_EQ(Persistctl(ctl + "set orders o-1 '" + order + "'", &out), 0) << out;
  ASSERT_EQ(Persistctl(ctl + "get orders o-1", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("\"value\":" + stored + ","));
  ASSERT_EQ(Persistctl(
                ctl + R"(update orders o-1 '{"state":"SHIPPED"}' --mask=state)",
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr(R"("state":"SHIPPED")"));
  EXPECT_THAT(out, HasSubstr(R"("placed":"2026-11-25T10:00:00Z")"));
  EXPECT_EQ(Persistctl(ctl + R"(set orders o-2 '{"state":"LOST"}')", &out),
            kInvalidArgument)
      << out;
  // The map survives a restart in the same type.
  persistd.reset();
  persistd =
      Start({absl::StrCat("--proto_path=", dir_.dir()),
             "--proto_files=order.proto", "--maps=orders=shop.v1.Order"});
  ASSERT_EQ(Persistctl(
                absl::StrCat("--addr=", persistd->address(), " get orders o-1"),
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr(R"("state":"SHIPPED")"));

  // A batch keeps 64-bit integers exact (2^53 + 1 is no double).
  const std::string batch = dir_.Path("big.jsonl");
  testing::WriteFileOrDie(
      batch,
      R"({"set": {"map": "orders", "key": "o-3", "value": {"lines": [{"quantity": 9007199254740993}]}}})");
  ASSERT_EQ(
      Persistctl(absl::StrCat("--addr=", persistd->address(), " batch ", batch),
                 &out),
      0)
      << out;
  ASSERT_EQ(Persistctl(
                absl::StrCat("--addr=", persistd->address(), " get orders o-3"),
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr(R"("quantity":9007199254740993)"));
}

TEST_F(PersistdTest, ConnectsWithMutualTls) {
  auto persistd = StartWithMutualTls();
  // The certificate names localhost; the address is 127.0.0.1:PORT.
  const std::string ctl = absl::StrCat("--addr=", persistd->address(),
                                       " --tls_ca=", dir_.Path("ca.pem"),
                                       " --tls_server_name=localhost ");
  const std::string client_cert =
      absl::StrCat("--tls_cert=", dir_.Path("client.pem"),
                   " --tls_key=", dir_.Path("client.key"), " ");
  std::string out;
  EXPECT_EQ(Persistctl(ctl + client_cert + "health", &out), 0) << out;
  EXPECT_EQ(Persistctl(ctl + client_cert + R"(set users t '{"age":3}')", &out),
            0)
      << out;
  EXPECT_EQ(Persistctl(ctl + client_cert + "get users t", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr(R"("value":{"age":3})"));
  // Without a client certificate, or without TLS: refused.
  EXPECT_EQ(Persistctl(ctl + "health", &out), kUnavailable) << out;
  EXPECT_EQ(
      Persistctl(absl::StrCat("--addr=", persistd->address(), " health"), &out),
      kUnavailable)
      << out;
  EXPECT_EQ(
      Persistctl(ctl + "--tls_cert=/nonexistent --tls_key=x health", &out),
      kUsage);
  EXPECT_THAT(out,
              HasSubstr("cannot read the client certificate /nonexistent"));
  // An empty CA file is refused (gRPC would trust public roots instead), and
  // TLS flags without --tls_ca are not silently plaintext.
  testing::WriteFileOrDie(dir_.Path("empty.pem"), "");
  EXPECT_EQ(
      Persistctl(absl::StrCat("--addr=", persistd->address(),
                              " --tls_ca=", dir_.Path("empty.pem"), " health"),
                 &out),
      kUsage);
  EXPECT_THAT(out, HasSubstr("is empty"));
  EXPECT_EQ(Persistctl(absl::StrCat("--addr=", persistd->address(), " ",
                                    client_cert, "health"),
                       &out),
            kUsage);
  EXPECT_THAT(out, HasSubstr("need the CA file"));
}

TEST_F(PersistdTest, SendsTheTokenAndExitsWithTheRefusal) {
  testing::WriteFileOrDie(dir_.Path("tokens"), "r-token read\nw-token write\n");
  auto persistd = Start({absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  const std::string ctl = absl::StrCat("--addr=", persistd->address(), " ");
  std::string out;
  EXPECT_EQ(Persistctl(ctl + "get users a", &out), kUnauthenticated) << out;
  EXPECT_EQ(Persistctl(ctl + "--token=r-token set users a '{}'", &out),
            kPermissionDenied)
      << out;
  EXPECT_EQ(Persistctl(ctl + "--token=w-token set users a '{\"age\":5}'", &out),
            0)
      << out;
  EXPECT_EQ(Persistctl(ctl + "--token=r-token get users a", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr(R"("value":{"age":5})"));
}

// Newer grpcurl and buf curl ask grpc.reflection.v1 first.
TEST_F(PersistdTest, ReflectionAnswersVersionOneToo) {
  using grpc::reflection::v1::ServerReflection;
  using grpc::reflection::v1::ServerReflectionRequest;
  using grpc::reflection::v1::ServerReflectionResponse;
  auto persistd = Start();
  auto reflection = ServerReflection::NewStub(persistd->Channel());
  grpc::ClientContext context;
  auto stream = reflection->ServerReflectionInfo(&context);
  ServerReflectionRequest request;
  request.set_list_services("");
  ServerReflectionResponse response;
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.original_request().list_services(), "");
  EXPECT_GE(response.list_services_response().service_size(), 4);
  request.set_file_containing_symbol("example.v1.User");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_GT(response.file_descriptor_response().file_descriptor_proto_size(), 0)
      << response.error_response().error_message();
  request.set_file_containing_symbol("no.such.Type");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

// Any reflection client (grpcurl, Postman) sees the API and the map types.
TEST_F(PersistdTest, ReflectionListsTheServicesAndServesTheirFiles) {
  using grpc::reflection::v1alpha::ServerReflection;
  using grpc::reflection::v1alpha::ServerReflectionRequest;
  using grpc::reflection::v1alpha::ServerReflectionResponse;
  auto persistd = Start();
  auto reflection = ServerReflection::NewStub(persistd->Channel());
  grpc::ClientContext context;
  auto stream = reflection->ServerReflectionInfo(&context);
  auto ask = [&](const ServerReflectionRequest& request) {
    ServerReflectionResponse response;
    EXPECT_TRUE(stream->Write(request));
    EXPECT_TRUE(stream->Read(&response));
    return response;
  };

  ServerReflectionRequest request;
  request.set_list_services("");
  const ServerReflectionResponse listed = ask(request);
  std::vector<std::string> services;
  for (const auto& service : listed.list_services_response().service()) {
    services.push_back(service.name());
  }
  EXPECT_THAT(services, ::testing::UnorderedElementsAre(
                            "persist.v1.Persist", "grpc.health.v1.Health",
                            "grpc.reflection.v1.ServerReflection",
                            "grpc.reflection.v1alpha.ServerReflection"));

  // Each service's file, and the map type's, with their imports.
  for (const char* symbol : {"persist.v1.Persist", "grpc.health.v1.Health",
                             "grpc.reflection.v1alpha.ServerReflection",
                             "persist.v1.Persist.Update", "example.v1.User"}) {
    request.set_file_containing_symbol(symbol);
    const ServerReflectionResponse response = ask(request);
    ASSERT_GT(response.file_descriptor_response().file_descriptor_proto_size(),
              0)
        << symbol << ": " << response.error_response().error_message();
  }
  request.set_file_containing_symbol("persist.v1.Persist");
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(
      ask(request).file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.package(), "persist.v1");
  EXPECT_EQ(file.service(0).name(), "Persist");

  // By file name; a file asked for again comes again, but its imports,
  // already sent on this stream, do not.
  request.set_file_by_filename("example/v1/user.proto");
  EXPECT_EQ(
      ask(request).file_descriptor_response().file_descriptor_proto_size(), 1);

  // Only what persistd serves and its imports: a file protobuf has
  // compiled in, but no served file imports, is not found.
  request.set_file_by_filename("google/protobuf/descriptor.proto");
  EXPECT_EQ(ask(request).error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);

  request.set_file_containing_symbol("no.such.Type");
  const ServerReflectionResponse missing = ask(request);
  EXPECT_EQ(missing.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_response().error_message(),
              HasSubstr("no.such.Type"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(PersistdTest, AdministersPersistd) {
  auto persistd = Start();
  auto stub = persistd->Stub();
  ASSERT_TRUE(SetUser(*stub, "a", 1, v1::WRITE).ok());
  ASSERT_TRUE(SetUser(*stub, "a", 2, v1::WRITE).ok());
  const std::string addr = absl::StrCat("--addr=", persistd->address());
  std::string output;
  EXPECT_EQ(Persistctl(addr + " health", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("SERVING"));
  EXPECT_EQ(Persistctl(addr + " maps", &output), 0) << output;
  EXPECT_THAT(output,
              HasSubstr("\"name\":\"users\",\"type\":\"example.v1.User\""));
  EXPECT_EQ(Persistctl(addr + " shrink", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("\"recordsAfter\":1"));
  EXPECT_EQ(Persistctl(addr + " stats", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("\"walRecords\":1"));
  EXPECT_EQ(Persistctl(addr + " bogus", &output), kUsage);
  persistd.reset();
  // Nobody listens any more: UNAVAILABLE is gRPC code 14.
  EXPECT_EQ(Persistctl(addr + " stats", &output), kUnavailable) << output;
}

TEST_F(PersistdTest, ChecksAndRepairsFilesOffline) {
  const std::string damaged = dir_.Path("damaged.wal");
  testing::WriteFileOrDie(damaged,
                          "go-persist 1\n"
                          "S users:a\n{\"name\":\"A\"}\n"
                          "S users:b\n{\"name\":\n"
                          "S users:c\n{\"name\":\"C\"}\n"
                          "S users:d\n{\"na");
  std::string output;
  EXPECT_EQ(Persistctl("check --file=" + damaged, &output), 1) << output;
  // The first problem as persistd reports it: the value line of "b".
  EXPECT_THAT(output, HasSubstr("\"line\":5,\"offset\":46"));
  EXPECT_THAT(output, HasSubstr("\"opens\":false"));
  EXPECT_THAT(output, HasSubstr("\"torn_tail_bytes\":14"));
  EXPECT_THAT(output, HasSubstr("\"users\":2"));

  const std::string repaired = dir_.Path("repaired.wal");
  EXPECT_EQ(
      Persistctl(absl::StrCat("repair --file=", damaged, " --out=", repaired),
                 &output),
      0)
      << output;
  EXPECT_EQ(testing::ReadFileOrDie(repaired),
            "go-persist 1\nS users:a\n{\"name\":\"A\"}\n");
  const std::string salvaged = dir_.Path("salvaged.wal");
  // Flag names may be typed with hyphens.
  EXPECT_EQ(Persistctl(absl::StrCat("repair --skip-corrupt --file=", damaged,
                                    " --out=", salvaged),
                       &output),
            0)
      << output;
  EXPECT_EQ(testing::ReadFileOrDie(salvaged),
            "go-persist 1\nS users:a\n{\"name\":\"A\"}\n"
            "S users:c\n{\"name\":\"C\"}\n");
  EXPECT_EQ(Persistctl("check --file=" + salvaged, &output), 0) << output;
  // The original is untouched, and repair never overwrites.
  EXPECT_THAT(testing::ReadFileOrDie(damaged), HasSubstr("S users:d"));
  EXPECT_EQ(
      Persistctl(absl::StrCat("repair --file=", damaged, " --out=", salvaged),
                 &output),
      1);
}

TEST_F(PersistdTest, CheckWithASchemaDecodesTypedMapsAndCountsOrphans) {
  testing::WriteFileOrDie(dir_.Path("t.proto"),
                          "syntax = \"proto3\";\npackage t;\n"
                          "message User { string name = 1; }\n");
  const std::string wal = dir_.Path("two_maps.wal");
  testing::WriteFileOrDie(wal,
                          "go-persist 1\n"
                          "S users:a\n{\"name\":\"A\"}\n"
                          "S old:x\n{\"anything\":1}\n"
                          "S old:y\n{\"anything\":2}\n");
  const std::string schema =
      absl::StrCat("--proto_path=", dir_.dir(),
                   " --proto_files=t.proto --maps=users=t.User");
  std::string out;
  ASSERT_EQ(Persistctl(absl::StrCat("check --file=", wal, " ", schema), &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr(R"("live_keys":{"old":2,"users":1})"));
  EXPECT_THAT(out, HasSubstr(R"("orphan_keys":{"old":2})"));
  // A value that is not of its map's type is a problem, with its line.
  testing::WriteFileOrDie(wal, "go-persist 1\nS users:a\n{\"nome\":\"A\"}\n");
  EXPECT_EQ(Persistctl(absl::StrCat("check --file=", wal, " ", schema), &out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr(R"("line":3)"));  // the value's line
  EXPECT_THAT(out, HasSubstr("nome"));
}

// The value of "name":"..." in a JSON line, or "".
std::string Field(const std::string& line, const std::string& name) {
  const std::string marker = absl::StrCat("\"", name, "\":\"");
  const size_t at = line.find(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  return line.substr(begin, line.find('"', begin) - begin);
}

TEST_F(PersistdTest, WatchPrintsEntriesAndEventsAsJsonLines) {
  auto persistd = Start();
  const std::string ctl = absl::StrCat("--addr=", persistd->address(), " ");
  std::string out;
  ASSERT_EQ(Persistctl(ctl + R"(set users ada '{"name":"Ada"}')", &out), 0)
      << out;
  // An etag is <epoch>-<revision>.
  const std::string etag = Field(out, "etag");
  const std::string epoch = etag.substr(0, etag.find('-'));
  const std::string first = etag.substr(etag.find('-') + 1);
  ASSERT_EQ(Persistctl(ctl + R"(set users bob '{"name":"Bob"}')", &out), 0);
  ASSERT_EQ(Persistctl(ctl + "delete users ada", &out), 0) << out;

  ASSERT_EQ(Persistctl(absl::StrCat(ctl, "watch users --from=", first,
                                    " --epoch=", epoch, " --limit=3"),
                       &out),
            0)
      << out;
  // The events, after a PROGRESS line if the first message carries none.
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, R"("type":"PROGRESS")")) {
      EXPECT_THAT(std::string(line),
                  HasSubstr(absl::StrCat(R"("epoch":")", epoch, "\"")));
      continue;
    }
    lines.emplace_back(line);
  }
  ASSERT_EQ(lines.size(), 3u) << out;
  EXPECT_THAT(
      lines[0],
      StartsWith(R"({"type":"PUT","key":"ada","value":{"name":"Ada"})"));
  EXPECT_THAT(lines[0], HasSubstr(absl::StrCat(R"("revision":)", first)));
  EXPECT_THAT(lines[1], StartsWith(R"({"type":"PUT","key":"bob")"));
  EXPECT_THAT(lines[2], StartsWith(R"({"type":"DELETE","key":"ada")"));

  // --initial lists first: the one entry left, then where changes go on.
  ASSERT_EQ(Persistctl(ctl + "watch users --initial --limit=1", &out), 0)
      << out;
  EXPECT_THAT(
      out,
      StartsWith(R"({"type":"INITIAL","key":"bob","value":{"name":"Bob"})"));

  // A revision the server no longer has, or of another epoch: list again.
  EXPECT_EQ(
      Persistctl(ctl + "watch users --from=1 --epoch=0123456789abcdef", &out),
      kOutOfRange)
      << out;
  EXPECT_THAT(out, HasSubstr("list again"));
  EXPECT_EQ(Persistctl(ctl + "watch users --from=3", &out), kUsage) << out;
  EXPECT_THAT(out, HasSubstr("--from and --epoch together"));
  EXPECT_EQ(Persistctl(ctl + "watch nope", &out), kNotFound) << out;
}

}  // namespace
}  // namespace persist
