// LogicalWorkers: many logical workers run on a few OS threads, the way
// goroutines run on GOMAXPROCS threads, so that a harness can be as fair to
// C++ as go-persist's is to Go (seed_scenario --workers).
//
// Each worker is a sequence of steps (one operation each). Thread t runs
// the workers w with w % threads == t in turn, one step at a time. A step
// either finishes at once (the worker goes to the back of its thread's
// queue), finishes the worker, or waits: then the step has handed its
// Resume to something that calls it exactly once, from any thread (a write's
// completion callback), and the thread runs its other workers meanwhile, as
// Go's scheduler runs other goroutines while one waits. A thread with no
// worker ready sleeps until one resumes.
//
// With `threads` equal to the number of workers, every worker has a thread
// of its own and a waiting step blocks its thread: one OS thread per worker.
#ifndef PERSIST_BENCH_LOGICAL_WORKERS_H_
#define PERSIST_BENCH_LOGICAL_WORKERS_H_

#include <functional>

namespace persist::bench {

class LogicalWorkers {
 public:
  enum class Step { kReady, kWaiting, kFinished };
  class ThreadQueue;
  // Makes a waiting worker ready again; call exactly once per kWaiting.
  class Resume {
   public:
    void operator()() const;

   private:
    friend class LogicalWorkers;
    Resume(ThreadQueue* queue, int worker) : queue_(queue), worker_(worker) {}
    ThreadQueue* queue_;
    int worker_;
  };
  // Runs one step of `worker`; returns what became of it.
  using StepFunction = std::function<Step(int worker, Resume resume)>;

  // Runs `workers` workers on `threads` threads (at most `workers`) until
  // every worker finished. `started` runs once every thread is up, just
  // before the first step, on the calling thread (to start a clock).
  static void Run(int workers, int threads, const StepFunction& step,
                  const std::function<void()>& started);
};

}  // namespace persist::bench

#endif  // PERSIST_BENCH_LOGICAL_WORKERS_H_
