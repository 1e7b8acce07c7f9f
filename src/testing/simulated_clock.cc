#include "testing/simulated_clock.h"

#include <vector>

namespace triad::testing {

int64_t SimulatedClock::NowMicros() {
  std::lock_guard lock(mu_);
  return now_;
}

void SimulatedClock::SleepForMicros(int64_t micros) { Advance(micros); }

bool SimulatedClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                               int64_t deadline_micros) {
  const std::pair<std::mutex*, std::condition_variable*> key(lock.mutex(), &cv);
  {
    std::lock_guard guard(mu_);
    if (now_ >= deadline_micros) return false;
    waiters_.insert(key);
  }
  cv.wait(lock);
  std::lock_guard guard(mu_);
  waiters_.erase(waiters_.find(key));  // one entry: other threads may wait on the same pair
  return now_ < deadline_micros;
}

void SimulatedClock::Advance(int64_t micros) {
  std::vector<std::pair<std::mutex*, std::condition_variable*>> to_wake;
  {
    std::lock_guard guard(mu_);
    now_ += micros;
    to_wake.assign(waiters_.begin(), waiters_.end());
  }
  for (auto& [mu, cv] : to_wake) {
    // Taking the waiter's mutex orders this notify after the waiter has started waiting.
    std::lock_guard waiter_lock(*mu);
    cv->notify_all();
  }
}

int SimulatedClock::waiters() {
  std::lock_guard guard(mu_);
  return static_cast<int>(waiters_.size());
}

}  // namespace triad::testing
