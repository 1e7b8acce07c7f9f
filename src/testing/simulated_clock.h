// SimulatedClock: a Clock whose time moves only when a test calls Advance().
//
// Waiters in WaitUntil() are woken by every Advance(), so timeouts and intervals run without
// real sleeps. SleepForMicros() advances the clock itself (a sleeping thread is the only actor).
//
// Thread-safety: all methods are thread-safe. Advance() must not be called while holding a mutex
// that a waiter passed to WaitUntil().
#pragma once

#include "triad/clock.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <utility>

namespace triad::testing {

class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(int64_t start_micros = 1'767'225'600'000'000)  // 2026-01-01
      : now_(start_micros) {}

  int64_t NowMicros() override;
  void SleepForMicros(int64_t micros) override;
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 int64_t deadline_micros) override;

  // Moves time forward by `micros` and wakes every waiter.
  void Advance(int64_t micros);

  // The number of threads currently inside WaitUntil().
  int waiters();

 private:
  std::mutex mu_;
  int64_t now_;
  // A multiset: several threads may wait on the same (mutex, condition variable) pair.
  std::multiset<std::pair<std::mutex*, std::condition_variable*>> waiters_;
};

}  // namespace triad::testing
