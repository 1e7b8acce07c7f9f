// Runs the real `triad serve` (the CLI binary at TRIAD_CLI_PATH) as a child process for
// end-to-end tests: data in a folder the test owns, `--listen 127.0.0.1:0`, the port read from
// the "triad: listening on http://HOST:PORT" line it prints. Its stderr (the logs) goes to a file.
//
// Thread-safety: one thread drives a ServerProcess.
#pragma once

#include "triad/result.h"

#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace triad::server::testing {

struct ServerProcessOptions {
  // The store path (passed as --data).
  std::string data;
  // Extra arguments after `serve`, e.g. {"--config", path}.
  std::vector<std::string> args;
  // Extra environment variables.
  std::vector<std::pair<std::string, std::string>> env;
  // Where stderr goes.
  std::string log_file;
  // Pass `--listen 127.0.0.1:0` (false: the test gives --listen itself or through config/env).
  bool listen_on_free_port = true;
  // > 0: the child's RLIMIT_NOFILE (soft and hard), to test running out of file descriptors.
  int max_open_files = 0;
};

class ServerProcess {
 public:
  // Starts the server and waits (up to 30 s) for its "listening" line. Errors: kUnavailable
  // when it exits first (its log is in the message) or never prints it.
  static Result<std::unique_ptr<ServerProcess>> Start(const ServerProcessOptions& options);

  // Starts the process without waiting for it to listen, for tests of start-up failures; then
  // WaitExit().
  static Result<std::unique_ptr<ServerProcess>> Spawn(const ServerProcessOptions& options);

  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  // Kills (SIGKILL) and reaps the process when still running.
  ~ServerProcess();

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The URL printed in the listening line.
  const std::string& printed_url() const { return printed_url_; }
  pid_t pid() const { return pid_; }

  // Sends `signal` (SIGTERM, SIGKILL).
  void Signal(int signal) const;
  // Waits up to `timeout_ms` for the process to exit. Returns its exit code, or 128+signal when
  // killed. Errors: kDeadlineExceeded.
  Result<int> WaitExit(int64_t timeout_ms);
  // Everything written to stdout so far after the listening line, plus stderr's log file.
  std::string Output() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool exited_ = false;
  uint16_t port_ = 0;
  std::string printed_url_;
  std::string stdout_text_;
  std::string log_file_;
};

}  // namespace triad::server::testing
