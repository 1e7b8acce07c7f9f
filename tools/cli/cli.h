// The `triad` command-line tool as a library: Run() parses a command line and executes one verb
// against an embedded store. main.cc is a thin wrapper; tests drive Run() in-process with string
// streams, or run the real binary.
//
//   triad::cli::CliIo io{.in = std::cin, .out = std::cout, .err = std::cerr};
//   return triad::cli::Run(argc, argv, io);
//
// The verbs, their options, output formats and exit codes are specified in docs/cli.md.
//
// Thread-safety: Run() may be called from several threads at once with distinct CliIo objects
// (it keeps no global state).
#pragma once

#include <atomic>
#include <cstdlib>
#include <functional>
#include <iosfwd>

namespace triad::cli {

// Where a run of the CLI reads and writes, and what it knows about its surroundings.
struct CliIo {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  // Whether stdin is a terminal: `append STREAM` without TYPE reads NDJSON from stdin only when
  // it is not (a person at a terminal gets a usage error instead of a silent wait).
  bool stdin_is_tty = false;
  // Whether stdout is a terminal: tables get a bold header then (unless NO_COLOR is set).
  bool stdout_is_tty = false;
  // Whether stderr is a terminal: long waits (`projection reset --wait`) draw a progress bar
  // there only then.
  bool stderr_is_tty = false;
  // Looks up an environment variable (TRIAD_DATA, NO_COLOR); nullptr when unset. Tests replace
  // it to run without touching the process environment. Default: std::getenv.
  std::function<const char*(const char*)> getenv = [](const char* name) {
    return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): nothing sets the environment
  };
  // Set (by a signal handler in main.cc, or by a test) to ask a long-running verb
  // (`events --follow`) to stop; it then finishes its output and returns 0. Non-owning; may be
  // nullptr.
  const std::atomic<bool>* stop_requested = nullptr;
};

// Parses `argv` (argv[0] is the program name) and runs the verb it names.
// Returns the process exit code: 0 ok, 1 failure, 2 usage or invalid input, 3 conflict,
// 4 not found (ExitCodeFor() in exit_codes.h). Errors are written to io.err as one line
// "triad: <what went wrong>"; results go to io.out. Never throws.
int Run(int argc, const char* const* argv, CliIo& io);

}  // namespace triad::cli
