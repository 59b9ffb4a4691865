// What a new user and an operator meet first, on the real programs: --help
// and --version, the log lines, config files kept beside their data,
// tokens, the metrics port's limits, persistctl's conveniences and exit
// codes, and check agreeing with persistd on the files people bring.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/e2e/persistd_fixture.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using ::testing::HasSubstr;
using testing::Persistd;
using testing::PersistdTest;
using testing::RunCapturing;

constexpr int kUsage = 64;
constexpr int kDeadlineExceeded = 4;

int Persistctl(const std::string& args, std::string* output) {
  return RunCapturing(absl::StrCat(PERSISTCTL_PATH, " ", args), output);
}

TEST_F(PersistdTest, HelpListsEveryFlagWithItsDefaultAndVersionSaysPersists) {
  std::string out;
  ASSERT_EQ(RunCapturing(absl::StrCat(PERSISTD_PATH, " --help"), &out), 0)
      << out;
  for (const char* flag :
       {"--listen", "--data", "--config", "--maps", "--tls_cert",
        "--tokens_file", "--sync_interval", "--drain_timeout",
        "--metrics_listen", "--log_format [text]"}) {
    EXPECT_THAT(out, HasSubstr(flag));
  }
  EXPECT_THAT(out, ::testing::Not(HasSubstr("No flags matched")));
  ASSERT_EQ(RunCapturing(absl::StrCat(PERSISTD_PATH, " --version"), &out), 0);
  EXPECT_THAT(out, ::testing::StartsWith("persistd 0."));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("NDEBUG")));
  ASSERT_EQ(Persistctl("--version", &out), 0);
  EXPECT_THAT(out, ::testing::StartsWith("persistctl 0."));
  ASSERT_EQ(Persistctl("--help", &out), 0);
  EXPECT_THAT(out, HasSubstr("--addr [127.0.0.1:50051]"));
  EXPECT_THAT(out, HasSubstr("(10s if not given;"));
  EXPECT_THAT(out, HasSubstr("check [--config"));
}

TEST_F(PersistdTest, TextLogLinesCarryTimeLevelAndSourceOnOneStream) {
  auto persistd = Start({"--metrics_listen=127.0.0.1:0"});
  ASSERT_TRUE(SetUser(*persistd->Stub(), "a", 1, v1::WRITE).ok());
  const int status = persistd->Kill(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::vector<std::string> lines =
      absl::StrSplit(persistd->Output(), '\n', absl::SkipEmpty());
  ASSERT_GT(lines.size(), 5u);
  bool engine = false;
  bool server = false;
  for (const std::string& line : lines) {
    EXPECT_THAT(line,
                ::testing::MatchesRegex("(persistd|persist|grpc) [IWE] "
                                        "[0-9]+-[0-9]+-[0-9]+T[0-9:.]+Z .+"));
    engine |= absl::StartsWith(line, "persist I") &&
              absl::StrContains(line, "opened ");
    server |= absl::StartsWith(line, "persistd I") &&
              absl::StrContains(line, "serving ");
  }
  EXPECT_TRUE(engine && server);
}

TEST_F(PersistdTest, AConfigFileNamesFilesFromItsOwnFolderAndTakesGoDurations) {
  const std::string folder = dir_.Path("conf");
  ASSERT_EQ(::system(absl::StrCat("mkdir -p ", folder, "/data").c_str()), 0);
  testing::WriteFileOrDie(
      folder + "/persistd.json",
      R"({"listen":"127.0.0.1:0","dataFile":"data/store.wal",)"
      R"("syncInterval":"500ms","drainTimeout":"1m30s",)"
      R"("autoShrink":{"checkInterval":"0.5s"}})");
  // Started from another folder: the data file is the config's neighbour.
  Persistd persistd({absl::StrCat("--config=", folder, "/persistd.json")});
  ASSERT_FALSE(persistd.address().empty()) << persistd.banner();
  ASSERT_TRUE(SetUser(*persistd.Stub(), "a", 1, v1::WRITE).ok());
  EXPECT_THAT(testing::ReadFileOrDie(folder + "/data/store.wal"),
              HasSubstr("S users:a\n"));

  testing::WriteFileOrDie(dir_.Path("bad.json"), R"({"syncInterval":"soon"})");
  Persistd refused({absl::StrCat("--config=", dir_.Path("bad.json"))});
  EXPECT_TRUE(refused.address().empty());
  const int status = refused.ExitStatus();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_THAT(refused.Output(), HasSubstr("\"soon\" is not a duration"));
}

TEST_F(PersistdTest, ATokenListedTwiceIsRefusedNamingBothLines) {
  testing::WriteFileOrDie(dir_.Path("tokens"),
                          "a-token read\nb-token write\n\na-token write\n");
  Persistd persistd({"--listen=127.0.0.1:0", absl::StrCat("--data=", data_),
                     absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  EXPECT_TRUE(persistd.address().empty());
  const int status = persistd.ExitStatus();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_THAT(persistd.Output(), HasSubstr("lines 1 and 4"));
}

TEST_F(PersistdTest, TokensOverPlaintextOnANetworkAddressAreWarnedOf) {
  testing::WriteFileOrDie(dir_.Path("tokens"), "a-token write\n");
  Persistd persistd({"--listen=0.0.0.0:0", absl::StrCat("--data=", data_),
                     absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  ASSERT_FALSE(persistd.address().empty()) << persistd.banner();
  persistd.Kill(SIGTERM);
  EXPECT_THAT(persistd.Output(), HasSubstr("accepted over plaintext"));
  // On loopback, no warning.
  Persistd local({"--listen=127.0.0.1:0", absl::StrCat("--data=", data_),
                  absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  ASSERT_FALSE(local.address().empty());
  local.Kill(SIGTERM);
  EXPECT_THAT(local.Output(), ::testing::Not(HasSubstr("plaintext")));
}

TEST_F(PersistdTest, TheMetricsPortRefusesRequestsOverOneKibibyte) {
  auto persistd = Start({"--metrics_listen=127.0.0.1:0"});
  const std::string metrics = persistd->LoggedAddress("metrics on http://");
  const size_t colon = metrics.rfind(':');
  httplib::Client client(metrics.substr(0, colon),
                         std::stoi(metrics.substr(colon + 1)));
  httplib::Result small = client.Get("/metrics");
  ASSERT_TRUE(small) << httplib::to_string(small.error());
  EXPECT_EQ(small->status, 200);
  httplib::Result big = client.Get(
      "/metrics", httplib::Headers{{"X-Padding", std::string(2000, 'p')}});
  ASSERT_TRUE(big) << httplib::to_string(big.error());
  EXPECT_EQ(big->status, 431);
  httplib::Result long_target =
      client.Get(absl::StrCat("/metrics?", std::string(1500, 'q')));
  ASSERT_TRUE(long_target);
  EXPECT_EQ(long_target->status, 431);
}

// A port that accepts connections (the kernel does, from its backlog) and
// never answers.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t size = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~SilentPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(PersistdTest, PersistctlUsageMistakesAndDeadlines) {
  std::string out;
  EXPECT_EQ(Persistctl("--addr=127.0.0.1 stats", &out), kUsage) << out;
  EXPECT_THAT(out, HasSubstr("is not host:port"));
  EXPECT_EQ(Persistctl("--no_such_flag stats", &out), kUsage) << out;
  EXPECT_EQ(Persistctl("--page_size=many list users", &out), kUsage) << out;
  EXPECT_EQ(Persistctl("--timeout=soon stats", &out), kUsage) << out;
  SilentPort silent;
  EXPECT_EQ(Persistctl(absl::StrCat("--addr=127.0.0.1:", silent.port(),
                                    " --timeout=500ms stats"),
                       &out),
            kDeadlineExceeded)
      << out;
}

TEST_F(PersistdTest, PersistctlTakesValuesFromStdinOrFilesAndTokensFromEnv) {
  testing::WriteFileOrDie(dir_.Path("tokens"), "env-token write\n");
  auto persistd = Start({absl::StrCat("--tokens_file=", dir_.Path("tokens"))});
  const std::string ctl =
      absl::StrCat(PERSISTCTL_PATH, " --addr=", persistd->address(), " ");
  std::string out;
  EXPECT_EQ(RunCapturing(ctl + "get users ada", &out), 16) << out;  // UNAUTH
  const std::string env = "PERSIST_TOKEN=env-token ";
  ASSERT_EQ(RunCapturing(absl::StrCat("echo '{\"name\":\"Ada\",\"age\":36}' | ",
                                      env, ctl, "set users ada -"),
                         &out),
            0)
      << out;
  testing::WriteFileOrDie(dir_.Path("grace.json"),
                          R"({"name":"Grace","age":45})");
  ASSERT_EQ(RunCapturing(absl::StrCat(env, ctl, "set users grace @",
                                      dir_.Path("grace.json")),
                         &out),
            0)
      << out;
  // A mask by JSON name.
  ASSERT_EQ(
      RunCapturing(absl::StrCat(env, ctl,
                                "update users ada "
                                "'{\"createdAt\":\"2024-05-01T00:00:00Z\"}'"
                                " --mask=createdAt"),
                   &out),
      0)
      << out;
  ASSERT_EQ(RunCapturing(absl::StrCat(env, ctl, "get users ada"), &out), 0);
  EXPECT_THAT(out, HasSubstr("\"createdAt\":\"2024-05-01T00:00:00Z\""));
  EXPECT_THAT(out, HasSubstr("\"age\":36"));
  ASSERT_EQ(RunCapturing(absl::StrCat(env, ctl, "get users grace"), &out), 0);
  EXPECT_THAT(out, HasSubstr("\"name\":\"Grace\""));
}

TEST_F(PersistdTest, CheckAndRepairAgreeWithPersistdOnTheFilesPeopleBring) {
  // A good record, an orphan whose JSON is invalid, another good record:
  // persistd keeps the orphan verbatim and serves both good keys.
  const std::string orphans = dir_.Path("orphans.wal");
  testing::WriteFileOrDie(orphans,
                          "go-persist 1\n"
                          "S users:a\n{\"name\":\"A\"}\n"
                          "S legacy:x\n{not json\n"
                          "S users:b\n{\"name\":\"B\"}\n");
  std::string out;
  EXPECT_EQ(Persistctl("check --file=" + orphans, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr(R"("live_keys":{"legacy":1,"users":2})"));
  EXPECT_EQ(Persistctl(absl::StrCat("repair --file=", orphans,
                                    " --out=", dir_.Path("copy.wal")),
                       &out),
            0)
      << out;
  EXPECT_EQ(testing::ReadFileOrDie(dir_.Path("copy.wal")),
            testing::ReadFileOrDie(orphans));
  {
    Persistd persistd(
        {"--listen=127.0.0.1:0", absl::StrCat("--data=", orphans)});
    ASSERT_FALSE(persistd.address().empty()) << persistd.banner();
  }
  // Files persistd refuses, with no --maps: check refuses them too, for it
  // decodes with persistd's embedded default (map "users").
  for (const std::string& record :
       {std::string("S users:c\n{\"nickname\":\"C\"}\n"),
        std::string("S users:bad\x01key\n{}\n"),
        std::string("S users:c\r\n{\"name\":\"C\"}\r\n")}) {
    const std::string file = dir_.Path("refused.wal");
    testing::WriteFileOrDie(
        file, absl::StrCat("go-persist 1\n", record, "S users:d\n{}\n"));
    EXPECT_EQ(Persistctl("check --file=" + file, &out), 1) << out;
    EXPECT_THAT(out, HasSubstr("\"opens\":false"));
    Persistd persistd({"--listen=127.0.0.1:0", absl::StrCat("--data=", file)});
    EXPECT_TRUE(persistd.address().empty());
  }
  // With persistd's config: its data file and its maps.
  testing::WriteFileOrDie(
      dir_.Path("persistd.json"),
      R"({"dataFile":"orphans.wal","maps":[{"name":"users","type":"example.v1.User"}]})");
  EXPECT_EQ(Persistctl("check --config=" + dir_.Path("persistd.json"), &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr(R"("users":2)"));
}

}  // namespace
}  // namespace persist
