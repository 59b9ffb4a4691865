// grpc_load: a load generator for a running persistd, or for etcd with the
// same load (`--server=etcd`: KV.Put for Set, KV.Range of one key for Get).
// `--clients` loops each keep one unary call in flight (like
// redis-benchmark's clients), over `--connections` HTTP/2 connections, for
// `--duration` after `--warmup`; `--prefill` first writes every key once,
// untimed, so that reads find what they look for.
// The loops run on gRPC's completion-queue API, driven by `--threads`
// threads (default one, as redis-benchmark's event loop), so that the
// generator takes little of the CPU it shares with the server.
// It reports throughput and latency percentiles, then one JSON line for
// scripts (bench/compare_peers.sh).
//
//   grpc_load --addr=127.0.0.1:50051 --clients=50 --durability=write
//       --value_size=100 --read_percent=0 --duration=10s
//   grpc_load --server=etcd --addr=127.0.0.1:2379 --prefill --read_percent=100
//
// Values are example.v1.User with `name` holding --value_size bytes (etcd
// stores the same message, serialized); keys are "key:" and 12 digits,
// uniform over --keys (as redis-benchmark -r).
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
#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "bench/run_header.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "example/v1/user.pb.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/persist.grpc.pb.h"

ABSL_FLAG(std::string, server, "persist",
          "persist (persist.v1.Persist) or etcd (etcd's v3 KV service)");
ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "the server's address");
ABSL_FLAG(std::string, map, "users", "a map of example.v1.User");
ABSL_FLAG(int, clients, 50, "calls kept in flight, one per client loop");
ABSL_FLAG(int, connections, 0,
          "HTTP/2 connections shared by the clients (0: one per client)");
ABSL_FLAG(int, threads, 1,
          "client threads, each polling its own completion queue (one is "
          "like redis-benchmark's single event loop)");
ABSL_FLAG(std::string, durability, "write",
          "memory, async, write or fsync (persist only)");
ABSL_FLAG(int, value_size, 100, "bytes in each value's name field");
ABSL_FLAG(int, batch, 1,
          "records per write: above 1, each write is one atomic batch of "
          "this many keys (persist Write; etcd Txn of Puts)");
ABSL_FLAG(int, read_percent, 0, "share of calls that are Get, not Set");
ABSL_FLAG(int, keys, 100000, "key space");
ABSL_FLAG(bool, prefill, false,
          "before the run, write every key of the key space once (untimed)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured time");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "time before measuring (connections, allocator, page cache)");

namespace persist::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Shared {
  std::string map;
  v1::Durability durability = v1::WRITE;
  example::v1::User value;
  int read_percent = 0;
  int keys = 0;
  int batch = 1;  // records per write
  // While true, every call is a write of the next key not written yet, and
  // a loop is done once there is none left.
  bool prefilling = false;
  std::atomic<int> next_prefill_key{0};
  Clock::time_point measure_from;
  Clock::time_point stop_at;
  std::atomic<int64_t> errors{0};
  Mutex first_error_mu;
  std::string first_error;
};

// What the APIs below share: every request names one key in `key`. A
// write takes its keys from `next_key`, one per record.
struct KeyedApi {
  template <typename Request>
  static void SetKey(const std::string& key, Request* request) {
    request->set_key(key);
  }
  template <typename Request>
  static void SetWriteKeys(absl::FunctionRef<std::string()> next_key,
                           Request* request) {
    request->set_key(next_key());
  }
};

// The calls of persist.v1.Persist that a client loop makes.
struct PersistApi : KeyedApi {
  using Stub = v1::Persist::Stub;
  using WriteRequest = v1::SetRequest;
  using WriteResponse = v1::SetResponse;
  using ReadRequest = v1::GetRequest;
  using ReadResponse = v1::GetResponse;

  static void Init(const Shared& shared, WriteRequest* write,
                   ReadRequest* read) {
    write->set_map(shared.map);
    write->mutable_value()->PackFrom(shared.value);
    write->set_durability(shared.durability);
    read->set_map(shared.map);
  }
  static auto Start(Stub* stub, grpc::ClientContext* context,
                    const WriteRequest& write, grpc::CompletionQueue* queue) {
    return stub->PrepareAsyncSet(context, write, queue);
  }
  static auto Start(Stub* stub, grpc::ClientContext* context,
                    const ReadRequest& read, grpc::CompletionQueue* queue) {
    return stub->PrepareAsyncGet(context, read, queue);
  }
  // A Get that did not find its key failed with NOT_FOUND.
  static bool Found(const ReadResponse& /*read*/) { return true; }
};

// Writes as atomic batches of `batch` Sets (Write) of distinct keys;
// reads as PersistApi's.
struct PersistBatchApi : PersistApi {
  using WriteRequest = v1::WriteRequest;
  using WriteResponse = v1::WriteResponse;
  using KeyedApi::SetKey;

  static void Init(const Shared& shared, WriteRequest* write,
                   ReadRequest* read) {
    for (int i = 0; i < shared.batch; ++i) {
      v1::SetRequest* set = write->add_operations()->mutable_set();
      set->set_map(shared.map);
      set->mutable_value()->PackFrom(shared.value);
    }
    write->set_durability(shared.durability);
    read->set_map(shared.map);
  }
  static void SetWriteKeys(absl::FunctionRef<std::string()> next_key,
                           WriteRequest* write) {
    for (int i = 0; i < write->operations_size(); ++i) {
      write->mutable_operations(i)->mutable_set()->set_key(next_key());
    }
  }
  using PersistApi::Start;
  static auto Start(Stub* stub, grpc::ClientContext* context,
                    const WriteRequest& write, grpc::CompletionQueue* queue) {
    return stub->PrepareAsyncWrite(context, write, queue);
  }
};

// The same load on etcd's KV service: the value is the same User message,
// serialized. Range is etcd's default, linearizable read (what its clients
// do unless told otherwise), of one key.
struct EtcdApi : KeyedApi {
  using Stub = etcdserverpb::KV::Stub;
  using WriteRequest = etcdserverpb::PutRequest;
  using WriteResponse = etcdserverpb::PutResponse;
  using ReadRequest = etcdserverpb::RangeRequest;
  using ReadResponse = etcdserverpb::RangeResponse;

  static void Init(const Shared& shared, WriteRequest* write,
                   ReadRequest* /*read*/) {
    write->set_value(shared.value.SerializeAsString());
  }
  static auto Start(Stub* stub, grpc::ClientContext* context,
                    const WriteRequest& write, grpc::CompletionQueue* queue) {
    return stub->PrepareAsyncPut(context, write, queue);
  }
  static auto Start(Stub* stub, grpc::ClientContext* context,
                    const ReadRequest& read, grpc::CompletionQueue* queue) {
    return stub->PrepareAsyncRange(context, read, queue);
  }
  static bool Found(const ReadResponse& read) { return read.kvs_size() == 1; }
};

// etcd's batch: a Txn with no compares whose success branch Puts
// `batch` keys.
struct EtcdTxnApi : EtcdApi {
  using WriteRequest = etcdserverpb::TxnRequest;
  using WriteResponse = etcdserverpb::TxnResponse;
  using KeyedApi::SetKey;

  static void Init(const Shared& shared, WriteRequest* write,
                   ReadRequest* /*read*/) {
    for (int i = 0; i < shared.batch; ++i) {
      write->add_success()->mutable_request_put()->set_value(
          shared.value.SerializeAsString());
    }
  }
  static void SetWriteKeys(absl::FunctionRef<std::string()> next_key,
                           WriteRequest* write) {
    for (int i = 0; i < write->success_size(); ++i) {
      write->mutable_success(i)->mutable_request_put()->set_key(next_key());
    }
  }
  using EtcdApi::Start;
  static auto Start(Stub* stub, grpc::ClientContext* context,
                    const WriteRequest& write, grpc::CompletionQueue* queue) {
    return stub->PrepareAsyncTxn(context, write, queue);
  }
};

// One client: a call, its completion, the next call, driven by the thread
// that polls its completion queue. Only one call is in flight per client.
class ClientLoopBase {
 public:
  virtual ~ClientLoopBase() = default;
  // Starts the next call; false once the time is up.
  virtual bool Issue() = 0;
  // The call finished: records it, and starts the next (false: this client
  // is done).
  virtual bool Done() = 0;
  const std::vector<uint32_t>& latencies_us() const { return latencies_us_; }
  int64_t completed() const { return completed_; }

 protected:
  std::vector<uint32_t> latencies_us_;
  int64_t completed_ = 0;
};

template <typename Api>
class ClientLoop final : public ClientLoopBase {
 public:
  ClientLoop(Shared* shared, typename Api::Stub* stub,
             grpc::CompletionQueue* queue, uint64_t seed)
      : shared_(shared), stub_(stub), queue_(queue), random_(seed) {
    Api::Init(*shared, &set_, &get_);
    latencies_us_.reserve(1 << 16);
  }

  bool Issue() override {
    started_ = Clock::now();
    int key_number;
    bool read;
    if (shared_->prefilling) {
      key_number = shared_->next_prefill_key.fetch_add(shared_->batch);
      if (key_number >= shared_->keys) return false;
      read = false;
    } else {
      if (started_ >= shared_->stop_at) return false;
      key_number =
          std::uniform_int_distribution<int>(0, shared_->keys - 1)(random_);
      read = std::uniform_int_distribution<int>(0, 99)(random_) <
             shared_->read_percent;
    }
    // The previous call's readers live in its context's arena: drop them
    // before the context.
    set_call_.reset();
    get_call_.reset();
    context_ = std::make_unique<grpc::ClientContext>();
    // A stalled server fails the run instead of hanging it.
    context_->set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(30));
    const std::string key = absl::StrFormat("key:%012d", key_number);
    reading_ = read;
    if (read) {
      Api::SetKey(key, &get_);
      get_call_ = Api::Start(stub_, context_.get(), get_, queue_);
      get_call_->StartCall();
      get_call_->Finish(&get_response_, &status_, this);
    } else {
      Api::SetWriteKeys([&] { return NextWriteKey(key_number); }, &set_);
      set_call_ = Api::Start(stub_, context_.get(), set_, queue_);
      set_call_->StartCall();
      set_call_->Finish(&set_response_, &status_, this);
    }
    return true;
  }

  // The keys of a write: `first`, then for a batch distinct others, each
  // uniform over the key space as the first is (redis-benchmark -P picks
  // each command's key alike; persist and etcd refuse a key twice in one
  // batch); while prefilling, the numbers after `first`, wrapping.
  std::string NextWriteKey(int first) {
    if (write_keys_.size() >= static_cast<size_t>(shared_->batch)) {
      write_keys_.clear();
    }
    int number = first;
    if (!write_keys_.empty() && shared_->prefilling) {
      number = (first + static_cast<int>(write_keys_.size())) % shared_->keys;
    } else if (!write_keys_.empty()) {
      do {
        number =
            std::uniform_int_distribution<int>(0, shared_->keys - 1)(random_);
      } while (std::find(write_keys_.begin(), write_keys_.end(), number) !=
               write_keys_.end());
    }
    write_keys_.push_back(number);
    return absl::StrFormat("key:%012d", number);
  }

  bool Done() override {
    const Clock::time_point now = Clock::now();
    // etcd answers a Range of a missing key with no entry, where persist
    // answers NOT_FOUND: either is an error here, since a read that finds
    // nothing costs less than one that does.
    if (!status_.ok() || (reading_ && !Api::Found(get_response_))) {
      ++shared_->errors;
      MutexLock lock(&shared_->first_error_mu);
      if (shared_->first_error.empty()) {
        shared_->first_error =
            status_.ok() ? "a key read was not there (run with --prefill)"
                         : status_.error_message();
      }
      // Stop this client: a failing server would otherwise be hammered,
      // and the numbers mean nothing anyway.
      return false;
    }
    if (!shared_->prefilling && started_ >= shared_->measure_from) {
      latencies_us_.push_back(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - started_)
              .count()));
      ++completed_;
    }
    return Issue();
  }

 private:
  Shared* const shared_;
  typename Api::Stub* const stub_;
  grpc::CompletionQueue* const queue_;
  std::mt19937_64 random_;
  std::unique_ptr<grpc::ClientContext> context_;
  typename Api::WriteRequest set_;
  typename Api::WriteResponse set_response_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<typename Api::WriteResponse>>
      set_call_;
  typename Api::ReadRequest get_;
  typename Api::ReadResponse get_response_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<typename Api::ReadResponse>>
      get_call_;
  bool reading_ = false;
  std::vector<int> write_keys_;  // of the write being built
  grpc::Status status_;
  Clock::time_point started_;
};

// Drives `loops` on `queue` until every one is done.
void Drive(grpc::CompletionQueue* queue,
           const std::vector<ClientLoopBase*>& loops) {
  size_t running = 0;
  for (ClientLoopBase* loop : loops) running += loop->Issue() ? 1 : 0;
  void* tag = nullptr;
  bool ok = false;
  while (running > 0 && queue->Next(&tag, &ok)) {
    if (!static_cast<ClientLoopBase*>(tag)->Done()) --running;
  }
}

// Runs every loop to its end, each queue polled by a thread of its own.
void RunLoops(const std::vector<std::unique_ptr<grpc::CompletionQueue>>& queues,
              const std::vector<std::vector<ClientLoopBase*>>& per_queue) {
  std::vector<std::thread> drivers;
  for (size_t i = 0; i < queues.size(); ++i) {
    drivers.emplace_back(Drive, queues[i].get(), per_queue[i]);
  }
  for (std::thread& driver : drivers) driver.join();
}

// One client loop per client, over `connections` channels to `addr`.
template <typename Api>
std::vector<std::unique_ptr<ClientLoopBase>> MakeLoops(
    Shared* shared, const std::string& addr, int clients, int connections,
    const std::vector<std::unique_ptr<grpc::CompletionQueue>>& queues,
    std::vector<std::unique_ptr<typename Api::Stub>>* stubs) {
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(
        addr, grpc::InsecureChannelCredentials(), arguments);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      std::fprintf(stderr, "cannot connect to %s\n", addr.c_str());
      return {};
    }
    stubs->push_back(std::make_unique<typename Api::Stub>(channel));
  }
  std::vector<std::unique_ptr<ClientLoopBase>> loops;
  for (int i = 0; i < clients; ++i) {
    loops.push_back(std::make_unique<ClientLoop<Api>>(
        shared, (*stubs)[i % connections].get(),
        queues[i % queues.size()].get(), 1000 + i));
  }
  return loops;
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
  shared.value.set_name(std::string(absl::GetFlag(FLAGS_value_size), 'x'));
  shared.batch = absl::GetFlag(FLAGS_batch);
  if (shared.batch < 1 || (shared.batch > 1 && shared.read_percent != 0)) {
    std::fprintf(stderr,
                 "--batch: %d; give 1, or more with --read_percent=0 (a "
                 "batch is of writes)\n",
                 shared.batch);
    return 2;
  }
  if (shared.keys < shared.batch) {
    std::fprintf(stderr,
                 "--keys: %d; a batch of %d takes distinct keys: give at "
                 "least as many keys\n",
                 shared.keys, shared.batch);
    return 2;
  }
  const std::string server = absl::GetFlag(FLAGS_server);
  if (server != "persist" && server != "etcd") {
    std::fprintf(stderr, "--server: \"%s\" is not persist or etcd\n",
                 server.c_str());
    return 2;
  }

  const int clients = absl::GetFlag(FLAGS_clients);
  int connections = absl::GetFlag(FLAGS_connections);
  if (connections <= 0 || connections > clients) connections = clients;
  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (int i = 0; i < threads; ++i) {
    queues.push_back(std::make_unique<grpc::CompletionQueue>());
  }
  // The stubs outlive the loops that call through them.
  std::vector<std::unique_ptr<PersistApi::Stub>> persist_stubs;
  std::vector<std::unique_ptr<EtcdApi::Stub>> etcd_stubs;
  const std::string addr = absl::GetFlag(FLAGS_addr);
  std::vector<std::unique_ptr<ClientLoopBase>> loops;
  if (server == "etcd") {
    loops = shared.batch > 1
                ? MakeLoops<EtcdTxnApi>(&shared, addr, clients, connections,
                                        queues, &etcd_stubs)
                : MakeLoops<EtcdApi>(&shared, addr, clients, connections,
                                     queues, &etcd_stubs);
  } else {
    loops =
        shared.batch > 1
            ? MakeLoops<PersistBatchApi>(&shared, addr, clients, connections,
                                         queues, &persist_stubs)
            : MakeLoops<PersistApi>(&shared, addr, clients, connections, queues,
                                    &persist_stubs);
  }
  if (loops.empty()) return 14;
  std::vector<std::vector<ClientLoopBase*>> per_thread(threads);
  for (int i = 0; i < clients; ++i) {
    per_thread[i % threads].push_back(loops[i].get());
  }

  if (absl::GetFlag(FLAGS_prefill)) {
    shared.prefilling = true;
    const Clock::time_point prefill_start = Clock::now();
    RunLoops(queues, per_thread);
    shared.prefilling = false;
    std::fprintf(
        stderr, "grpc_load: prefilled %d keys in %.1f s\n", shared.keys,
        std::chrono::duration<double>(Clock::now() - prefill_start).count());
    if (shared.errors.load() > 0) {
      std::fprintf(stderr, "grpc_load: the prefill failed: %s\n",
                   shared.first_error.c_str());
      return 1;
    }
  }
  const Clock::time_point start = Clock::now();
  shared.measure_from =
      start + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_warmup));
  shared.stop_at = shared.measure_from +
                   absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  RunLoops(queues, per_thread);
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
  const bool reads = shared.read_percent == 100;
  std::string what = server == "etcd"
                         ? std::string(reads ? "etcd Range" : "etcd Put")
                         : absl::StrFormat("persist %s at %s",
                                           reads ? "Get" : "Set", durability);
  if (shared.batch > 1) {
    what = server == "etcd"
               ? absl::StrFormat("etcd Txn of %d Puts", shared.batch)
               : absl::StrFormat("persist Write of %d Sets at %s", shared.batch,
                                 durability);
  }
  const double records = ops * shared.batch;
  std::printf(
      "%s: %d clients on %d connections, %d-byte values, "
      "%d%% reads, %d client threads: %.0f calls/s (%.0f records/s); "
      "latency p50 %.3f ms, p99 %.3f ms, p999 %.3f ms; %lld errors%s%s\n",
      what.c_str(), clients, connections, absl::GetFlag(FLAGS_value_size),
      shared.read_percent, threads, ops, records, p50, p99, p999,
      static_cast<long long>(shared.errors.load()),
      shared.first_error.empty() ? "" : ", first: ",
      shared.first_error.c_str());
  std::printf(
      "{\"server\":\"%s\",\"durability\":\"%s\",\"clients\":%d,\"connections\":"
      "%d,"
      "\"value_size\":%d,\"read_percent\":%d,\"batch\":%d,"
      "\"calls_per_second\":%.0f,\"records_per_second\":%.0f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"errors\":%lld}\n",
      server.c_str(), durability.c_str(), clients, connections,
      absl::GetFlag(FLAGS_value_size), shared.read_percent, shared.batch, ops,
      records, p50, p99, p999, static_cast<long long>(shared.errors.load()));
  return shared.errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace persist::bench

int main(int argc, char** argv) { return persist::bench::Main(argc, argv); }
