// The C++ client against a real persistd over TLS, mutual TLS and bearer
// tokens, and its refusals of settings it cannot use.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/cpp/persist_client.h"
#include "example/v1/user.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/persistd_fixture.h"

namespace persist {
namespace {

using client::Client;
using client::ConnectOptions;
using example::v1::User;
using ::testing::HasSubstr;
using testing::PersistdTest;

TEST_F(PersistdTest, CppClientSpeaksMutualTlsWithAToken) {
  testing::WriteFileOrDie(dir_.Path("tokens"), "reader read\nwriter write\n");
  auto persistd =
      StartWithMutualTls({absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  ASSERT_FALSE(persistd->address().empty()) << persistd->banner();
  // persistd's certificate names localhost (and 127.0.0.1): the name is
  // checked against the override.
  const std::string address = persistd->address();
  ConnectOptions options;
  options.tls_server_name = "localhost";
  options.tls_ca_file = dir_.Path("ca.pem");
  options.tls_cert_file = dir_.Path("client.pem");
  options.tls_key_file = dir_.Path("client.key");
  options.token = "writer";
  absl::StatusOr<std::unique_ptr<Client>> writer =
      Client::Connect(address, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  User ada;
  ada.set_name("Ada");
  ASSERT_TRUE((*writer)->Map<User>("users").Set("ada", ada).ok());

  options.token = "reader";
  auto reader = Client::Connect(address, options);
  ASSERT_TRUE(reader.ok());
  auto got = (*reader)->Map<User>("users").Get("ada");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ((*got)->value.name(), "Ada");
  EXPECT_EQ((*reader)->Map<User>("users").Set("b", ada).status().code(),
            absl::StatusCode::kPermissionDenied);

  options.token = "";
  auto anonymous = Client::Connect(address, options);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ((*anonymous)->Map<User>("users").Get("ada").status().code(),
            absl::StatusCode::kUnauthenticated);
  // Without a client certificate the handshake fails: no call gets through.
  options.token = "writer";
  options.tls_cert_file.clear();
  options.tls_key_file.clear();
  auto no_certificate = Client::Connect(address, options);
  ASSERT_TRUE(no_certificate.ok());
  client::CallOptions quick;
  quick.deadline = absl::Seconds(5);
  EXPECT_FALSE((*no_certificate)->Map<User>("users").Get("ada", quick).ok());
}

TEST_F(PersistdTest, CppClientRefusesTlsSettingsItCannotUse) {
  ConnectOptions options;
  options.tls_ca_file = dir_.Path("missing.pem");
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect("localhost:1", options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("cannot read"));
  EXPECT_THAT(client.status().message(), HasSubstr("missing.pem"));
  testing::WriteFileOrDie(dir_.Path("empty.pem"), "");
  options.tls_ca_file = dir_.Path("empty.pem");
  EXPECT_THAT(Client::Connect("localhost:1", options).status().message(),
              HasSubstr("is empty"));
  options.tls_ca_file.clear();
  options.tls_cert_file = dir_.Path("client.pem");
  EXPECT_THAT(Client::Connect("localhost:1", options).status().message(),
              HasSubstr("need the CA file"));
}

}  // namespace
}  // namespace persist
