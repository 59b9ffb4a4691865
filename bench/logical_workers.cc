#include "bench/logical_workers.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "base/mutex.h"

namespace persist::bench {

// A thread's inbox of resumed workers. Apart from its neighbours' cache
// lines: resumes come from other threads.
class alignas(64) LogicalWorkers::ThreadQueue {
 public:
  void Push(int worker) {
    MutexLock lock(&mu_);
    inbox_.push_back(worker);
    has_inbox_.store(true, std::memory_order_release);
    arrived_.Signal();
  }
  // Moves the inbox to `ready`; waits for one if `ready` is empty.
  void Drain(std::deque<int>* ready) {
    if (!ready->empty() && !has_inbox_.load(std::memory_order_acquire)) return;
    MutexLock lock(&mu_);
    while (ready->empty() && inbox_.empty()) arrived_.Wait(&mu_);
    ready->insert(ready->end(), inbox_.begin(), inbox_.end());
    inbox_.clear();
    has_inbox_.store(false, std::memory_order_relaxed);
  }

 private:
  Mutex mu_;
  CondVar arrived_;
  std::vector<int> inbox_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_inbox_{false};
};

void LogicalWorkers::Resume::operator()() const { queue_->Push(worker_); }

void LogicalWorkers::Run(int workers, int threads, const StepFunction& step,
                         const std::function<void()>& started) {
  threads = std::clamp(threads, 1, workers);
  std::vector<ThreadQueue> queues(static_cast<size_t>(threads));
  Notification go;
  std::atomic<int> up{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ThreadQueue& queue = queues[static_cast<size_t>(t)];
      std::deque<int> ready;
      for (int w = t; w < workers; w += threads) ready.push_back(w);
      int live = static_cast<int>(ready.size());
      up.fetch_add(1);
      go.WaitForNotification();
      while (live > 0) {
        queue.Drain(&ready);
        const int worker = ready.front();
        ready.pop_front();
        switch (step(worker, Resume(&queue, worker))) {
          case Step::kReady:
            ready.push_back(worker);
            break;
          case Step::kWaiting:
            break;
          case Step::kFinished:
            --live;
            break;
        }
      }
    });
  }
  // Every thread is up before the clock starts: thread creation is not
  // what the harness measures.
  while (up.load() < threads) std::this_thread::yield();
  started();
  go.Notify();
  for (std::thread& thread : pool) thread.join();
}

}  // namespace persist::bench
