// The `triad` executable: wires the process (stdio, terminals, signals, environment) to Run().
#include "cli/cli.h"

#include <atomic>
#include <csignal>
#include <iostream>
#include <unistd.h>

namespace {

// Lock-free, hence safe to store from a signal handler.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void HandleStopSignal(int) { g_stop.store(true, std::memory_order_relaxed); }

// SIGINT and SIGTERM set the stop flag instead of killing the process: `events --follow` then
// ends cleanly with exit 0, paging verbs stop between pages, and an NDJSON append whose producer
// was interrupted with it appends nothing. SA_RESETHAND restores the default action, so a second
// signal kills a verb that is stuck in a call that does not look at the flag.
void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = HandleStopSignal;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  InstallStopHandlers();
  std::ios::sync_with_stdio(false);
  triad::cli::CliIo io{.in = std::cin, .out = std::cout, .err = std::cerr};
  io.stdin_is_tty = isatty(STDIN_FILENO) == 1;
  io.stdout_is_tty = isatty(STDOUT_FILENO) == 1;
  io.stderr_is_tty = isatty(STDERR_FILENO) == 1;
  io.stop_requested = &g_stop;
  return triad::cli::Run(argc, argv, io);
}
