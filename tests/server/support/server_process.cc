#include "support/server_process.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace triad::server::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::unique_ptr<ServerProcess>> ServerProcess::Spawn(const ServerProcessOptions& options) {
  std::vector<std::string> args = {TRIAD_CLI_PATH, "serve", "--data", options.data};
  if (options.listen_on_free_port) {
    args.emplace_back("--listen");
    args.emplace_back("127.0.0.1:0");
  }
  args.insert(args.end(), options.args.begin(), options.args.end());
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return UnavailableError("pipe failed");
  std::unique_ptr<ServerProcess> process(new ServerProcess());
  process->log_file_ = options.log_file.empty() ? options.data + ".log" : options.log_file;
  const pid_t pid = fork();
  if (pid < 0) return UnavailableError("fork failed");
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    dup2(out_pipe[1], STDOUT_FILENO);
    const int log = open(process->log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) dup2(log, STDERR_FILENO);
    for (const auto& [name, value] : options.env) setenv(name.c_str(), value.c_str(), 1);
    if (options.max_open_files > 0) {
      const rlimit files{.rlim_cur = static_cast<rlim_t>(options.max_open_files),
                         .rlim_max = static_cast<rlim_t>(options.max_open_files)};
      setrlimit(RLIMIT_NOFILE, &files);
    }
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  process->pid_ = pid;
  process->stdout_fd_ = out_pipe[0];
  return process;
}

Result<std::unique_ptr<ServerProcess>> ServerProcess::Start(const ServerProcessOptions& options) {
  auto spawned = Spawn(options);
  if (!spawned.ok()) return spawned;
  std::unique_ptr<ServerProcess> process = std::move(*spawned);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  constexpr std::string_view kPrefix = "triad: listening on ";
  while (true) {
    const size_t newline = process->stdout_text_.find('\n');
    if (newline != std::string::npos) {
      std::string line = process->stdout_text_.substr(0, newline);
      process->stdout_text_.erase(0, newline + 1);
      if (line.starts_with(kPrefix)) {
        process->printed_url_ = line.substr(kPrefix.size());
        process->port_ = static_cast<uint16_t>(
            std::atoi(process->printed_url_.c_str() + process->printed_url_.rfind(':') + 1));
        return process;
      }
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return UnavailableError("triad serve did not start: " + process->Output());
    pollfd poll_fd{.fd = process->stdout_fd_, .events = POLLIN, .revents = 0};
    const int ready = poll(&poll_fd, 1, static_cast<int>(left.count()));
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(process->stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) {
      auto code = process->WaitExit(5000);
      return UnavailableError("triad serve exited (" +
                              (code.ok() ? std::to_string(*code) : std::string("?")) +
                              ") before listening: " + process->Output());
    }
    process->stdout_text_.append(buffer, static_cast<size_t>(n));
  }
}

ServerProcess::~ServerProcess() {
  if (!exited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void ServerProcess::Signal(int signal) const {
  if (!exited_) kill(pid_, signal);
}

Result<int> ServerProcess::WaitExit(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exited_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceededError("triad serve did not exit within " + std::to_string(timeout_ms) +
                                   " ms");
    }
    // No portable way to wait for a child with a timeout; this is test support only.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ServerProcess::Output() const {
  std::string text = stdout_text_;
  if (stdout_fd_ >= 0) {
    const int flags = fcntl(stdout_fd_, F_GETFL);
    fcntl(stdout_fd_, F_SETFL, flags | O_NONBLOCK);
    char buffer[4096];
    ssize_t n = 0;
    while ((n = read(stdout_fd_, buffer, sizeof buffer)) > 0) text.append(buffer, n);
    fcntl(stdout_fd_, F_SETFL, flags);
  }
  return "stdout: " + text + "\nlog: " + ReadFile(log_file_);
}

}  // namespace triad::server::testing
