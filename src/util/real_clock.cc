// The only file in src/ allowed to read the system clock or sleep (see .ci/forbidden-calls).
#include "triad/clock.h"

#include <chrono>
#include <thread>

namespace triad {
namespace {

class RealClockImpl final : public Clock {
 public:
  int64_t NowMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void SleepForMicros(int64_t micros) override {
    if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }

  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 int64_t deadline_micros) override {
    const auto deadline = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::microseconds(deadline_micros)));
    cv.wait_until(lock, deadline);
    return NowMicros() < deadline_micros;
  }
};

}  // namespace

Clock* RealClock() {
  static RealClockImpl* clock = new RealClockImpl();  // never destroyed: safe at exit
  return clock;
}

}  // namespace triad
