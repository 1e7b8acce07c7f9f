// Runs the real `triad` binary (TRIAD_CLI_PATH) as a child process for the CLI tests: arguments,
// stdin, environment and working directory in; exit code, stdout, stderr and CPU time out.
// Also a CliTest fixture with a fresh temporary directory and store per test.
#pragma once

#include "testing/temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/types.h>
#include <vector>

namespace triad::testing {

struct CliResult {
  // The exit status, or -1 if the process was killed by a signal or timed out.
  int exit_code = -1;
  std::string out;
  std::string err;
  // User plus system CPU time the process used.
  std::chrono::microseconds cpu_time{0};
  // Wall time from start to exit.
  std::chrono::milliseconds elapsed{0};
  // Stdout split at newlines (without them; no empty last element).
  std::vector<std::string> OutLines() const;
};

struct CliSpec {
  std::vector<std::string> args;
  std::string stdin_data;
  // Added to the environment, which is otherwise the test's own minus TRIAD_DATA and NO_COLOR.
  std::map<std::string, std::string> env;
  // Working directory of the child; empty: the test's.
  std::string cwd;
};

// A running `triad` process. Its stdin receives CliSpec::stdin_data and is then closed.
class CliProcess {
 public:
  // Starts the process. Fails the test (and returns nullptr) if it cannot be started.
  static std::unique_ptr<CliProcess> Start(const CliSpec& spec);
  ~CliProcess();

  // Waits up to `timeout` for a whole line on stdout and returns it without the newline;
  // nullopt on timeout or end of output. Lines read here are not in Wait()'s `out`.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);

  // True iff the process has not exited yet.
  bool Running();

  // Sends `signal` to the process.
  void Signal(int signal);

  // The CPU time (user + system) the running process has used so far, from /proc; nullopt once it
  // has exited or when /proc cannot be read.
  std::optional<std::chrono::milliseconds> CpuTimeSoFar();

  // Collects the remaining output and waits for the exit, at most `timeout`; then kills the
  // process, fails the test and returns exit_code -1.
  CliResult Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  CliProcess() = default;
  // Moves data between the pipes until `done()` or the deadline; returns false on timeout.
  template <typename Done>
  bool Pump(std::chrono::steady_clock::time_point deadline, Done done);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string to_write_;
  size_t written_ = 0;
  std::string out_;
  std::string err_;
  std::chrono::steady_clock::time_point started_;
  bool reaped_ = false;
  // The exit status when Running() saw the exit (the process is then reaped).
  int status_ = 0;
  rusage usage_{};
};

// Parses NDJSON: one JSON value per line. Adds a test failure for a line that is not JSON.
std::vector<nlohmann::json> JsonLines(const std::string& ndjson);

// Starts `spec` and waits for it.
CliResult RunCli(const CliSpec& spec, std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A fresh temporary directory per test; Cli() runs the binary with TRIAD_DATA set to a store in
// it, so tests need not pass --data.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Runs `triad args...` with TRIAD_DATA=store_path() and the test directory as cwd.
  CliResult Cli(std::vector<std::string> args, std::string stdin_data = "");
  // The spec Cli() would use, to adjust before running.
  CliSpec Spec(std::vector<std::string> args, std::string stdin_data = "") const;

  const std::string& dir() const { return dir_; }
  const std::string& store_path() const { return store_path_; }

 private:
  TempDir temp_dir_{"triad-cli"};
  std::string dir_;
  std::string store_path_;
};

// Runs a verb and fails the test unless it exits 0 with nothing on stderr.
#define ASSERT_CLI_OK(result)                                                \
  do {                                                                       \
    const ::triad::testing::CliResult& cli_result_ = (result);               \
    ASSERT_EQ(cli_result_.exit_code, 0)                                      \
        << "stderr: " << cli_result_.err << "\nstdout: " << cli_result_.out; \
    ASSERT_EQ(cli_result_.err, "");                                          \
  } while (false)

}  // namespace triad::testing
