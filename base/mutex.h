// persist::Mutex: absl::Mutex that ThreadSanitizer can see.
//
// Debian's abseil is built without TSan, so absl::Mutex's locking happens in
// uninstrumented code and TSan would report races on everything it guards.
// In TSan builds (PERSIST_TSAN, set by cmake/Sanitizers.cmake) this wrapper
// tells TSan about each lock and unlock through its mutex annotations; in
// every other build the annotations compile to nothing and the wrapper is
// absl::Mutex. Same for CondVar, whose waits unlock and relock the mutex.
//
// Use these instead of absl::Mutex, absl::MutexLock, absl::CondVar and
// absl::Notification in persist's code. The clang thread-safety annotations
// (ABSL_GUARDED_BY and friends) work on them as on absl's.
#ifndef PERSIST_BASE_MUTEX_H_
#define PERSIST_BASE_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

#if defined(PERSIST_TSAN)
#include <sanitizer/tsan_interface.h>
#define PERSIST_TSAN_ANNOTATE(call) call
#else
#define PERSIST_TSAN_ANNOTATE(call) \
  do {                              \
  } while (0)
#endif

namespace persist {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() { PERSIST_TSAN_ANNOTATE(__tsan_mutex_create(this, 0)); }
  ~Mutex() { PERSIST_TSAN_ANNOTATE(__tsan_mutex_destroy(this, 0)); }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_pre_lock(this, 0));
    mu_.Lock();
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_post_lock(this, 0, 0));
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_pre_unlock(this, 0));
    mu_.Unlock();
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_post_unlock(this, 0));
  }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() {
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_pre_lock(this, __tsan_mutex_read_lock));
    mu_.ReaderLock();
    PERSIST_TSAN_ANNOTATE(
        __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0));
  }
  // Takes the lock shared if no writer holds or waits for it; never blocks.
  bool ReaderTryLock() ABSL_SHARED_TRYLOCK_FUNCTION(true) {
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_pre_lock(
        this, __tsan_mutex_read_lock | __tsan_mutex_try_lock));
    const bool locked = mu_.ReaderTryLock();
    PERSIST_TSAN_ANNOTATE(
        __tsan_mutex_post_lock(this,
                               __tsan_mutex_read_lock | __tsan_mutex_try_lock |
                                   (locked ? 0 : __tsan_mutex_try_lock_failed),
                               0));
    return locked;
  }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() {
    PERSIST_TSAN_ANNOTATE(
        __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock));
    mu_.ReaderUnlock();
    PERSIST_TSAN_ANNOTATE(
        __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock));
  }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() { mu_.AssertHeld(); }

 private:
  friend class CondVar;
  absl::Mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
  }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable for persist::Mutex. Waits must hold the mutex
// exclusively; as with any condition variable, callers loop on their
// condition because wake-ups may be spurious.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_pre_unlock(mu, 0));
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_post_unlock(mu, 0));
    cv_.Wait(&mu->mu_);
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_pre_lock(mu, 0));
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_post_lock(mu, 0, 0));
  }
  // Returns true if the wait timed out.
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_pre_unlock(mu, 0));
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_post_unlock(mu, 0));
    const bool timed_out = cv_.WaitWithTimeout(&mu->mu_, timeout);
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_pre_lock(mu, 0));
    PERSIST_TSAN_ANNOTATE(__tsan_mutex_post_lock(mu, 0, 0));
    return timed_out;
  }
  void Signal() { cv_.Signal(); }
  void SignalAll() { cv_.SignalAll(); }

 private:
  absl::CondVar cv_;
};

// A one-shot event: Notify once, then every WaitForNotification returns.
class Notification {
 public:
  Notification() = default;
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;

  void Notify() {
    MutexLock lock(&mu_);
    notified_ = true;
    cv_.SignalAll();
  }
  void WaitForNotification() {
    MutexLock lock(&mu_);
    while (!notified_) cv_.Wait(&mu_);
  }
  bool HasBeenNotified() {
    MutexLock lock(&mu_);
    return notified_;
  }
  // True once notified; false if `timeout` passed first.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    MutexLock lock(&mu_);
    while (!notified_) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      cv_.WaitWithTimeout(&mu_, left);
    }
    return true;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace persist

#endif  // PERSIST_BASE_MUTEX_H_
