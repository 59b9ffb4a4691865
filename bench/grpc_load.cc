// grpc_load: a load generator for a running persistd. `--clients` loops
// each keep one unary call in flight (like redis-benchmark's clients), over
// `--connections` HTTP/2 connections, for `--duration` after `--warmup`.
// The loops run on gRPC's completion-queue API, driven by `--threads`
// threads (default one, as redis-benchmark's event loop), so that the
// generator takes little of the CPU it shares with the server.
// It reports throughput and latency percentiles, then one JSON line for
// scripts (bench/compare_redis.sh).
//
//   grpc_load --addr=127.0.0.1:50051 --clients=50 --durability=write
//       --value_size=100 --read_percent=0 --duration=10s
//
// Values are example.v1.User with `name` holding --value_size bytes; keys
// are "key:" and 12 digits, uniform over --keys (as redis-benchmark -r).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "bench/run_header.h"
#include "example/v1/user.pb.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/persist.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "persistd's address");
ABSL_FLAG(std::string, map, "users", "a map of example.v1.User");
ABSL_FLAG(int, clients, 50, "calls kept in flight, one per client loop");
ABSL_FLAG(int, connections, 0,
          "HTTP/2 connections shared by the clients (0: one per client)");
ABSL_FLAG(int, threads, 1,
          "client threads, each polling its own completion queue (one is "
          "like redis-benchmark's single event loop)");
ABSL_FLAG(std::string, durability, "write", "memory, async, write or fsync");
ABSL_FLAG(int, value_size, 100, "bytes in each value's name field");
ABSL_FLAG(int, read_percent, 0, "share of calls that are Get, not Set");
ABSL_FLAG(int, keys, 100000, "key space");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured time");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "time before measuring (connections, allocator, page cache)");

namespace persist::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Shared {
  std::string map;
  v1::Durability durability = v1::WRITE;
  google::protobuf::Any value;
  int read_percent = 0;
  int keys = 0;
  Clock::time_point measure_from;
  Clock::time_point stop_at;
  std::atomic<int64_t> errors{0};
  Mutex first_error_mu;
  std::string first_error;
};

// One client: a call, its completion, the next call, driven by the thread
// that polls its completion queue. Only one call is in flight per client.
class ClientLoop {
 public:
  ClientLoop(Shared* shared, v1::Persist::Stub* stub,
             grpc::CompletionQueue* queue, uint64_t seed)
      : shared_(shared), stub_(stub), queue_(queue), random_(seed) {
    set_.set_map(shared->map);
    *set_.mutable_value() = shared->value;
    set_.set_durability(shared->durability);
    get_.set_map(shared->map);
    latencies_us_.reserve(1 << 16);
  }

  // Starts the next call; false once the time is up.
  bool Issue() {
    started_ = Clock::now();
    if (started_ >= shared_->stop_at) return false;
    // The previous call's readers live in its context's arena: drop them
    // before the context.
    set_call_.reset();
    get_call_.reset();
    context_ = std::make_unique<grpc::ClientContext>();
    // A stalled server fails the run instead of hanging it.
    context_->set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(30));
    const std::string key = absl::StrFormat(
        "key:%012d",
        std::uniform_int_distribution<int>(0, shared_->keys - 1)(random_));
    if (std::uniform_int_distribution<int>(0, 99)(random_) <
        shared_->read_percent) {
      get_.set_key(key);
      get_call_ = stub_->PrepareAsyncGet(context_.get(), get_, queue_);
      get_call_->StartCall();
      get_call_->Finish(&get_response_, &status_, this);
    } else {
      set_.set_key(key);
      set_call_ = stub_->PrepareAsyncSet(context_.get(), set_, queue_);
      set_call_->StartCall();
      set_call_->Finish(&set_response_, &status_, this);
    }
    return true;
  }

  // The call finished: records it, and starts the next (false: this client
  // is done).
  bool Done() {
    const Clock::time_point now = Clock::now();
    if (!status_.ok()) {
      ++shared_->errors;
      MutexLock lock(&shared_->first_error_mu);
      if (shared_->first_error.empty()) {
        shared_->first_error = status_.error_message();
      }
      // Stop this client: a failing server would otherwise be hammered,
      // and the numbers mean nothing anyway.
      return false;
    }
    if (started_ >= shared_->measure_from) {
      latencies_us_.push_back(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - started_)
              .count()));
      ++completed_;
    }
    return Issue();
  }

  const std::vector<uint32_t>& latencies_us() const { return latencies_us_; }
  int64_t completed() const { return completed_; }

 private:
  Shared* const shared_;
  v1::Persist::Stub* const stub_;
  grpc::CompletionQueue* const queue_;
  std::mt19937_64 random_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::SetRequest set_;
  v1::SetResponse set_response_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::SetResponse>> set_call_;
  v1::GetRequest get_;
  v1::GetResponse get_response_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::GetResponse>> get_call_;
  grpc::Status status_;
  Clock::time_point started_;
  std::vector<uint32_t> latencies_us_;
  int64_t completed_ = 0;
};

// Drives `loops` on `queue` until every one is done.
void Drive(grpc::CompletionQueue* queue, std::vector<ClientLoop*> loops) {
  size_t running = 0;
  for (ClientLoop* loop : loops) running += loop->Issue() ? 1 : 0;
  void* tag = nullptr;
  bool ok = false;
  while (running > 0 && queue->Next(&tag, &ok)) {
    if (!static_cast<ClientLoop*>(tag)->Done()) --running;
  }
}

double Percentile(std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t at =
      std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[at] / 1000.0;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As persistd does: Debian's abseil leaves Mutex deadlock detection on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  PrintRunHeader(argc, argv);
  Shared shared;
  shared.map = absl::GetFlag(FLAGS_map);
  shared.read_percent = absl::GetFlag(FLAGS_read_percent);
  shared.keys = absl::GetFlag(FLAGS_keys);
  const std::string durability = absl::GetFlag(FLAGS_durability);
  if (!v1::Durability_Parse(absl::AsciiStrToUpper(durability),
                            &shared.durability)) {
    std::fprintf(stderr,
                 "--durability: \"%s\" is not memory, async, write "
                 "or fsync\n",
                 durability.c_str());
    return 2;
  }
  example::v1::User user;
  user.set_name(std::string(absl::GetFlag(FLAGS_value_size), 'x'));
  shared.value.PackFrom(user);

  const int clients = absl::GetFlag(FLAGS_clients);
  int connections = absl::GetFlag(FLAGS_connections);
  if (connections <= 0 || connections > clients) connections = clients;
  std::vector<std::unique_ptr<v1::Persist::Stub>> stubs;
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(absl::GetFlag(FLAGS_addr),
                                             grpc::InsecureChannelCredentials(),
                                             arguments);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      std::fprintf(stderr, "cannot connect to %s\n",
                   absl::GetFlag(FLAGS_addr).c_str());
      return 14;
    }
    stubs.push_back(v1::Persist::NewStub(channel));
  }

  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (int i = 0; i < threads; ++i) {
    queues.push_back(std::make_unique<grpc::CompletionQueue>());
  }
  const Clock::time_point start = Clock::now();
  shared.measure_from =
      start + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_warmup));
  shared.stop_at = shared.measure_from +
                   absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  std::vector<std::unique_ptr<ClientLoop>> loops;
  std::vector<std::vector<ClientLoop*>> per_thread(threads);
  for (int i = 0; i < clients; ++i) {
    loops.push_back(
        std::make_unique<ClientLoop>(&shared, stubs[i % connections].get(),
                                     queues[i % threads].get(), 1000 + i));
    per_thread[i % threads].push_back(loops.back().get());
  }
  std::vector<std::thread> drivers;
  for (int i = 0; i < threads; ++i) {
    drivers.emplace_back(Drive, queues[i].get(), per_thread[i]);
  }
  for (std::thread& driver : drivers) driver.join();
  const double seconds =
      std::chrono::duration<double>(Clock::now() - shared.measure_from).count();
  for (auto& queue : queues) {
    queue->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue->Next(&tag, &ok)) {
    }
  }

  std::vector<uint32_t> latencies;
  int64_t completed = 0;
  for (const auto& loop : loops) {
    latencies.insert(latencies.end(), loop->latencies_us().begin(),
                     loop->latencies_us().end());
    completed += loop->completed();
  }
  std::sort(latencies.begin(), latencies.end());
  const double ops = completed / seconds;
  const double p50 = Percentile(latencies, 0.50);
  const double p99 = Percentile(latencies, 0.99);
  const double p999 = Percentile(latencies, 0.999);
  std::printf(
      "persist %s at %s: %d clients on %d connections, %d-byte values, "
      "%d%% reads, %d client threads: %.0f calls/s; latency p50 %.3f ms, p99 "
      "%.3f ms, p999 "
      "%.3f ms; %lld errors%s%s\n",
      shared.read_percent == 100 ? "Get" : "Set", durability.c_str(), clients,
      connections, absl::GetFlag(FLAGS_value_size), shared.read_percent,
      threads, ops, p50, p99, p999,
      static_cast<long long>(shared.errors.load()),
      shared.first_error.empty() ? "" : ", first: ",
      shared.first_error.c_str());
  std::printf(
      "{\"durability\":\"%s\",\"clients\":%d,\"connections\":%d,"
      "\"value_size\":%d,\"read_percent\":%d,\"calls_per_second\":%.0f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"errors\":%lld}\n",
      durability.c_str(), clients, connections, absl::GetFlag(FLAGS_value_size),
      shared.read_percent, ops, p50, p99, p999,
      static_cast<long long>(shared.errors.load()));
  return shared.errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace persist::bench

int main(int argc, char** argv) { return persist::bench::Main(argc, argv); }
