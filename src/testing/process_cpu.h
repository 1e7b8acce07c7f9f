// The CPU time a running child process has used so far, for tests that check a process waits
// rather than spins (measured over a window, so start-up costs under sanitizers do not count).
//
// Thread-safety: a plain function.
#pragma once

#include <chrono>
#include <optional>
#include <sys/types.h>

namespace triad::testing {

// utime + stime of `pid` from /proc/PID/stat (fields 14 and 15); nullopt when it cannot be read
// (the process is gone, or no /proc).
std::optional<std::chrono::milliseconds> ProcessCpuTime(pid_t pid);

}  // namespace triad::testing
