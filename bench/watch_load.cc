// watch_load: what Watch costs a running persistd, side by side in one run.
//
// Each round runs the same writers (`--writers` threads, one unary Set in
// flight each, `--value_size` bytes, uniform over `--keys`) for
// `--duration` three times: with no watcher, with one, and with
// `--watchers` (each its own connection, watching the whole map; the first
// on a thread of its own, the others read by one thread through a
// completion queue). An untimed row first fills the key space. Rounds
// alternate `--rounds` times, each starting with another row; the table
// gives medians and the writers' throughput as a ratio to the row without
// watchers (the bound: at most 10% less). Events/s counts what
// every watcher received; latency is from a Set's answer reaching its
// writer to its event reaching watcher 0 (negative when the event came
// first: persistd sends an event once the change is visible, which for
// WRITE and FSYNC is before it is answered). persistd's CPU per Set is all
// of its CPU during a row over the row's Sets.
//
// Then the memory of idle watchers: persistd's resident memory before and
// after opening `--idle_watchers` streams (needs `--persistd_pid`).
//
//   watch_load --addr=127.0.0.1:50051 --persistd_pid=1234 --writers=16
//       --watchers=100 --duration=5s --rounds=3 --idle_watchers=5000
//
// bench/watch_load.sh starts persistd and runs it; results are in
// bench/README.md.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/run_header.h"
#include "example/v1/user.pb.h"
#include "grpcpp/grpcpp.h"
#include "persist/v1/persist.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "persistd's address");
ABSL_FLAG(std::string, map, "users", "a map of example.v1.User");
ABSL_FLAG(int, writers, 16, "writer threads, one Set in flight each");
ABSL_FLAG(int, watchers, 100, "watchers of the last row of each round");
ABSL_FLAG(std::string, durability, "write", "memory, async, write or fsync");
ABSL_FLAG(int, value_size, 100, "bytes in each value's name field");
ABSL_FLAG(int, keys, 10000, "key space");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "time per row");
ABSL_FLAG(int, rounds, 3, "rounds of the three rows, alternating");
ABSL_FLAG(int, idle_watchers, 5000, "idle streams for the memory row");
ABSL_FLAG(int, persistd_pid, 0, "persistd's pid, for its resident memory");

namespace persist::bench {
namespace {

using Clock = std::chrono::steady_clock;

int64_t Nanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& addr) {
  grpc::ChannelArguments args;
  // A connection of its own, not one shared with the other channels.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(),
                                   args);
}

struct Row {
  double sets_per_second = 0;
  double events_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int ended_early = 0;  // watchers whose stream ended before the row did
  double events_per_message = 0;
  int64_t sets = 0;
  double persistd_cpu = 0;  // persistd's CPU seconds per second of the row
  double persistd_cpu_per_set = 0;  // in seconds, the whole row's CPU
  double client_cpu = 0;            // this process's (writers and watchers)
};

// One watcher on its own connection and thread: counts events and, when
// `record`, the time each revision arrived.
class Watcher {
 public:
  Watcher(const std::string& addr, const std::string& map, bool record)
      : stub_(v1::Persist::NewStub(NewChannel(addr))), record_(record) {
    v1::WatchRequest request;
    request.set_map(map);
    reader_ = stub_->Watch(&context_, request);
    // The first message says the stream started: from then on no change
    // is missed.
    v1::WatchResponse first;
    started_ = reader_->Read(&first);
    thread_ = std::thread([this] { Run(); });
  }
  ~Watcher() { Stop(); }
  bool started() const { return started_; }
  int64_t events() const { return events_.load(std::memory_order_relaxed); }
  int64_t messages() const { return messages_.load(std::memory_order_relaxed); }
  int64_t last_revision() const {
    return last_revision_.load(std::memory_order_acquire);
  }
  bool ended() const { return ended_.load(std::memory_order_acquire); }
  // Ends the stream; then arrivals() may be read.
  void Stop() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }
  const std::vector<std::pair<int64_t, int64_t>>& arrivals() const {
    return arrivals_;
  }

 private:
  void Run() {
    v1::WatchResponse response;
    while (started_ && reader_->Read(&response)) {
      const int64_t now = Nanos(Clock::now());
      for (const v1::WatchEvent& event : response.events()) {
        if (record_) arrivals_.emplace_back(event.revision(), now);
      }
      events_.fetch_add(response.events_size(), std::memory_order_relaxed);
      messages_.fetch_add(1, std::memory_order_relaxed);
      last_revision_.store(response.header().revision(),
                           std::memory_order_release);
    }
    ended_.store(true, std::memory_order_release);
    reader_->Finish();
  }

  std::unique_ptr<v1::Persist::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader_;
  bool started_ = false;
  const bool record_;
  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> messages_{0};
  std::atomic<int64_t> last_revision_{0};
  std::atomic<bool> ended_{false};
  std::vector<std::pair<int64_t, int64_t>> arrivals_;  // revision, ns
  std::thread thread_;
};

// Watchers 1..N-1: each on its own connection, all read by one thread
// through a completion queue (as grpc_load drives its clients), so that
// the benchmark's own reading takes as little of the CPU it shares with
// persistd and the writers as it can.
class QueuedWatchers {
 public:
  QueuedWatchers(const std::string& addr, const std::string& map, int count) {
    v1::WatchRequest request;
    request.set_map(map);
    for (int i = 0; i < count; ++i) {
      auto stream = std::make_unique<Stream>();
      stream->stub = v1::Persist::NewStub(NewChannel(addr));
      stream->reader =
          stream->stub->PrepareAsyncWatch(&stream->context, request, &queue_);
      stream->reader->StartCall(&stream->started);
      streams_.push_back(std::move(stream));
    }
    thread_ = std::thread([this] { Run(); });
    // Every stream has read its first message: no change is missed.
    while (first_messages_.load(std::memory_order_acquire) +
               ended_.load(std::memory_order_acquire) <
           count) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~QueuedWatchers() { Stop(); }

  int ended() const { return ended_.load(std::memory_order_acquire); }
  // The lowest revision every stream has reached.
  int64_t last_revision() const {
    int64_t lowest = std::numeric_limits<int64_t>::max();
    for (const auto& stream : streams_) {
      if (stream->ended.load(std::memory_order_acquire)) continue;
      lowest = std::min(lowest,
                        stream->last_revision.load(std::memory_order_acquire));
    }
    return lowest;
  }
  int64_t events() const { return events_.load(std::memory_order_relaxed); }
  int64_t messages() const { return messages_.load(std::memory_order_relaxed); }
  // Cancels every stream and waits for their ends.
  void Stop() {
    if (!thread_.joinable()) return;
    for (auto& stream : streams_) stream->context.TryCancel();
    thread_.join();
  }

 private:
  struct Stream;
  // A completion-queue tag: which stream, and which of its operations.
  struct Op {
    Stream* stream;
    enum Kind { kStart, kRead, kFinish } kind;
  };
  struct Stream {
    std::unique_ptr<v1::Persist::Stub> stub;
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientAsyncReader<v1::WatchResponse>> reader;
    v1::WatchResponse response;
    grpc::Status status;
    bool first = true;
    std::atomic<int64_t> last_revision{0};
    std::atomic<bool> ended{false};
    Op started{this, Op::kStart};
    Op read{this, Op::kRead};
    Op finished{this, Op::kFinish};
  };

  void Run() {
    size_t finished = 0;
    void* tag = nullptr;
    bool ok = false;
    while (finished < streams_.size() && queue_.Next(&tag, &ok)) {
      Op* op = static_cast<Op*>(tag);
      Stream& stream = *op->stream;
      if (op->kind == Op::kFinish) {
        ++finished;
        continue;
      }
      if (!ok) {  // the stream ended (cancelled, or by persistd)
        if (!stream.ended.exchange(true)) {
          ended_.fetch_add(1, std::memory_order_acq_rel);
        }
        stream.reader->Finish(&stream.status, &stream.finished);
        continue;
      }
      if (op->kind == Op::kRead) {
        stream.last_revision.store(stream.response.header().revision(),
                                   std::memory_order_release);
        if (stream.first) {  // the start, not counted (as in Watcher)
          stream.first = false;
          first_messages_.fetch_add(1, std::memory_order_acq_rel);
        } else {
          events_.fetch_add(stream.response.events_size(),
                            std::memory_order_relaxed);
          messages_.fetch_add(1, std::memory_order_relaxed);
        }
      }
      stream.reader->Read(&stream.response, &stream.read);
    }
    queue_.Shutdown();
    while (queue_.Next(&tag, &ok)) {
    }
  }

  grpc::CompletionQueue queue_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::atomic<int> first_messages_{0};
  std::atomic<int> ended_{0};
  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> messages_{0};
  std::thread thread_;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t at =
      std::min(values.size() - 1, static_cast<size_t>(p * (values.size() - 1)));
  return values[at];
}

Row RunRow(int watchers) {
  const std::string addr = absl::GetFlag(FLAGS_addr);
  const std::string map = absl::GetFlag(FLAGS_map);
  v1::Durability durability = v1::WRITE;
  if (!v1::Durability_Parse(
          absl::AsciiStrToUpper(absl::GetFlag(FLAGS_durability)),
          &durability)) {
    std::fprintf(stderr,
                 "watch_load: --durability is not memory, async, "
                 "write or fsync\n");
    std::exit(64);
  }
  // Watcher 0 on a thread of its own, timing each event; the others
  // through one completion queue.
  std::vector<std::unique_ptr<Watcher>> watching;
  if (watchers > 0) {
    watching.push_back(std::make_unique<Watcher>(addr, map, true));
    if (!watching.back()->started()) {
      std::fprintf(stderr, "watch_load: a watch did not start\n");
      std::exit(1);
    }
  }
  QueuedWatchers queued(addr, map, std::max(0, watchers - 1));
  if (queued.ended() > 0) {
    std::fprintf(stderr, "watch_load: %d watches did not start\n",
                 queued.ended());
    std::exit(1);
  }

  const int writers = absl::GetFlag(FLAGS_writers);
  const Clock::time_point end =
      Clock::now() + absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  std::vector<std::vector<std::pair<int64_t, int64_t>>> answers(writers);
  std::vector<std::thread> threads;
  std::atomic<int64_t> failed{0};
  auto channel = NewChannel(addr);
  const Clock::time_point start = Clock::now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = v1::Persist::NewStub(channel);
      std::mt19937_64 random(w + 1);
      std::uniform_int_distribution<int> key(0, absl::GetFlag(FLAGS_keys) - 1);
      v1::SetRequest request;
      request.set_map(map);
      request.set_durability(durability);
      example::v1::User user;
      user.set_name(std::string(absl::GetFlag(FLAGS_value_size), 'v'));
      request.mutable_value()->PackFrom(user);
      while (Clock::now() < end) {
        request.set_key(absl::StrFormat("key:%012d", key(random)));
        v1::SetResponse response;
        grpc::ClientContext context;
        if (!stub->Set(&context, request, &response).ok()) {
          failed.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        answers[w].emplace_back(response.header().revision(),
                                Nanos(Clock::now()));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  int64_t sets = 0;
  int64_t last = 0;
  for (const auto& list : answers) {
    sets += static_cast<int64_t>(list.size());
    for (const auto& [revision, at] : list) last = std::max(last, revision);
  }
  // Let the watchers take the rest (bounded: a watcher that was ended
  // stays behind), then stop them.
  const Clock::time_point drain_until = Clock::now() + std::chrono::seconds(30);
  // Polling, not yielding: a spinning thread would take a core from the
  // watchers it waits for.
  for (auto& watcher : watching) {
    while (watcher->last_revision() < last && !watcher->ended() &&
           Clock::now() < drain_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  while (queued.last_revision() < last && Clock::now() < drain_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double drained_seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  if (failed.load() > 0) {
    std::fprintf(stderr, "watch_load: %lld Sets failed\n",
                 static_cast<long long>(failed.load()));
    std::exit(1);
  }
  Row row;
  row.sets = sets;
  row.sets_per_second = sets / seconds;
  int64_t events = 0;
  int64_t messages = 0;
  for (auto& watcher : watching) {
    row.ended_early += watcher->ended() ? 1 : 0;
    watcher->Stop();
    events += watcher->events();
    messages += watcher->messages();
  }
  row.ended_early += queued.ended();
  queued.Stop();
  events += queued.events();
  messages += queued.messages();
  row.events_per_message = messages > 0 ? 1.0 * events / messages : 0;
  row.events_per_second = events / drained_seconds;
  if (!watching.empty()) {
    std::unordered_map<int64_t, int64_t> answered;
    for (const auto& list : answers) {
      for (const auto& [revision, at] : list) answered[revision] = at;
    }
    std::vector<double> latencies;
    for (const auto& [revision, at] : watching[0]->arrivals()) {
      auto it = answered.find(revision);
      if (it != answered.end()) latencies.push_back((at - it->second) / 1e6);
    }
    row.p50_ms = Percentile(latencies, 0.5);
    row.p99_ms = Percentile(latencies, 0.99);
  }
  return row;
}

int64_t ResidentKb(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// persistd's resident memory per idle stream, in bytes: `count` streams
// over 16 connections, each read up to its first message.
double IdleBytesPerWatcher(int pid, int count) {
  const std::string addr = absl::GetFlag(FLAGS_addr);
  v1::WatchRequest request;
  request.set_map(absl::GetFlag(FLAGS_map));
  std::vector<std::unique_ptr<v1::Persist::Stub>> stubs;
  for (int i = 0; i < 16; ++i) {
    stubs.push_back(v1::Persist::NewStub(NewChannel(addr)));
  }
  // Connections first, so that their cost is not counted per stream.
  for (auto& stub : stubs) {
    v1::StatsResponse stats;
    grpc::ClientContext context;
    stub->Stats(&context, v1::StatsRequest(), &stats);
  }
  const int64_t before = ResidentKb(pid);
  grpc::CompletionQueue queue;
  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientAsyncReader<v1::WatchResponse>> reader;
    v1::WatchResponse first;
  };
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < count; ++i) {
    auto stream = std::make_unique<Stream>();
    stream->reader = stubs[i % stubs.size()]->PrepareAsyncWatch(
        &stream->context, request, &queue);
    stream->reader->StartCall(stream.get());
    streams.push_back(std::move(stream));
  }
  // Each stream: started, then its first message read.
  int started = 0;
  int read = 0;
  void* tag = nullptr;
  bool ok = false;
  std::unordered_map<void*, int> seen;
  while (read < count && queue.Next(&tag, &ok)) {
    if (!ok) {
      std::fprintf(stderr, "watch_load: an idle watch failed\n");
      std::exit(1);
    }
    auto* stream = static_cast<Stream*>(tag);
    if (seen[tag]++ == 0) {
      ++started;
      stream->reader->Read(&stream->first, tag);
    } else {
      ++read;
    }
  }
  const int64_t after = ResidentKb(pid);
  for (auto& stream : streams) stream->context.TryCancel();
  for (auto& stream : streams) {
    grpc::Status status;
    stream->reader->Finish(&status, stream.get());
  }
  for (int i = 0; i < count; ++i) queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return (after - before) * 1024.0 / count;
}

double Median(std::vector<double> values) { return Percentile(values, 0.5); }

// A process's CPU time so far (user and system), in seconds; 0 without it.
double CpuSeconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  // Fields after the command's closing parenthesis; utime and stime are
  // the 12th and 13th of them.
  std::vector<std::string> fields =
      absl::StrSplit(text.substr(text.rfind(')') + 2), ' ');
  if (fields.size() < 13) return 0;
  return (std::stod(fields[11]) + std::stod(fields[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  PrintRunHeader(argc, argv);
  const int watchers = absl::GetFlag(FLAGS_watchers);
  const int pid = absl::GetFlag(FLAGS_persistd_pid);
  const std::vector<int> shapes = {0, 1, watchers};
  std::vector<std::vector<Row>> rows(shapes.size());
  // Untimed: fills the key space, so that every row replaces values.
  const Row warmup = RunRow(0);
  std::printf("warm-up, no watcher: %.0f Sets/s (not counted)\n",
              warmup.sets_per_second);
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    // Each round starts with another row, so that no row always follows
    // the same one.
    for (size_t j = 0; j < shapes.size(); ++j) {
      const size_t i = (j + round) % shapes.size();
      const double cpu_before = CpuSeconds(pid);
      const double client_before = CpuSeconds(getpid());
      const auto started = Clock::now();
      rows[i].push_back(RunRow(shapes[i]));
      Row& row = rows[i].back();
      const double seconds =
          std::chrono::duration<double>(Clock::now() - started).count();
      row.persistd_cpu = (CpuSeconds(pid) - cpu_before) / seconds;
      // All of persistd's CPU in the row (watchers connecting, the Sets,
      // the events they make, the drain) over the row's Sets.
      row.persistd_cpu_per_set =
          row.sets > 0 ? (CpuSeconds(pid) - cpu_before) / row.sets : 0;
      row.client_cpu = (CpuSeconds(getpid()) - client_before) / seconds;
      std::printf(
          "round %d, %d watchers: %.0f Sets/s, %.0f events/s (%.1f per "
          "message), latency p50 %.3f ms p99 %.3f ms, %d ended early, "
          "persistd used %.2f cores, the clients %.2f\n",
          round + 1, shapes[i], row.sets_per_second, row.events_per_second,
          row.events_per_message, row.p50_ms, row.p99_ms, row.ended_early,
          row.persistd_cpu, row.client_cpu);
      std::fflush(stdout);
    }
  }
  auto median = [&](size_t i, double Row::*field) {
    std::vector<double> values;
    for (const Row& row : rows[i]) values.push_back(row.*field);
    return Median(values);
  };
  const double base = median(0, &Row::sets_per_second);
  std::printf(
      "\n| watchers | Sets/s | ratio to no watcher | events/s (all "
      "watchers) | events per message | Set answer -> event p50 | p99 | "
      "persistd CPU per Set |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < shapes.size(); ++i) {
    const double sets = median(i, &Row::sets_per_second);
    std::printf(
        "| %d | %.0f | %.2fx | %.0f | %.1f | %.3f ms | %.3f ms | %.0f us |\n",
        shapes[i], sets, sets / base, median(i, &Row::events_per_second),
        median(i, &Row::events_per_message), median(i, &Row::p50_ms),
        median(i, &Row::p99_ms), median(i, &Row::persistd_cpu_per_set) * 1e6);
  }
  const int idle = absl::GetFlag(FLAGS_idle_watchers);
  if (pid > 0 && idle > 0) {
    std::printf(
        "\npersistd's resident memory per idle watcher (%d streams): "
        "%.0f bytes\n",
        idle, IdleBytesPerWatcher(pid, idle));
  }
  return 0;
}

}  // namespace
}  // namespace persist::bench

int main(int argc, char** argv) { return persist::bench::Main(argc, argv); }
