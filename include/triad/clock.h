// Clock: the seam for time, so that tests run deterministically without sleeps.
//
// Triad never reads the system clock or sleeps except through a Clock. The default is the real
// clock (RealClock()); tests inject testing::SimulatedClock, whose Advance() wakes every waiter.
//
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace triad {

class Clock {
 public:
  virtual ~Clock() = default;

  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() = 0;

  // Blocks the calling thread for `micros`.
  virtual void SleepForMicros(int64_t micros) = 0;

  // Waits on `cv` (with `lock` held, as std::condition_variable::wait does) until it is notified
  // or NowMicros() reaches `deadline_micros`. Spurious returns are allowed: callers re-check their
  // condition in a loop. Returns false iff the deadline has passed.
  // REQUIRES: `lock` owns the mutex that guards the awaited condition.
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         int64_t deadline_micros) = 0;
};

// The process-wide real clock. Never null; never destroyed.
Clock* RealClock();

}  // namespace triad
