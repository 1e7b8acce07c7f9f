#include "cli_runner.h"

#include "testing/process_cpu.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace triad::testing {
namespace {

using Clock = std::chrono::steady_clock;

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

std::vector<std::string> ChildEnvironment(const CliSpec& spec) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.starts_with("TRIAD_DATA=") || entry.starts_with("NO_COLOR=")) continue;
    env.push_back(entry);
  }
  for (const auto& [name, value] : spec.env) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::vector<std::string> CliResult::OutLines() const {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    lines.push_back(out.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::vector<nlohmann::json> JsonLines(const std::string& ndjson) {
  std::vector<nlohmann::json> values;
  CliResult lines{.out = ndjson};
  for (const std::string& line : lines.OutLines()) {
    nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      ADD_FAILURE() << "not a JSON line: " << line;
      continue;
    }
    values.push_back(std::move(value));
  }
  return values;
}

std::unique_ptr<CliProcess> CliProcess::Start(const CliSpec& spec) {
  // A child that exits without reading its stdin must not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  // O_CLOEXEC: children started concurrently by other threads must not inherit these ends, or
  // this child's stdin would never see end-of-file.
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return nullptr;
  }
  std::vector<std::string> args = {TRIAD_CLI_PATH};
  args.insert(args.end(), spec.args.begin(), spec.args.end());
  std::vector<std::string> env = ChildEnvironment(spec);
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  const char* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();

  const pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return nullptr;
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    if (cwd != nullptr && chdir(cwd) != 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  std::unique_ptr<CliProcess> process(new CliProcess());
  process->pid_ = pid;
  process->stdin_fd_ = in[1];
  process->stdout_fd_ = out[0];
  process->stderr_fd_ = err[0];
  process->to_write_ = spec.stdin_data;
  process->started_ = Clock::now();
  for (int fd : {in[1], out[0], err[0]}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (process->to_write_.empty()) CloseFd(process->stdin_fd_);
  return process;
}

CliProcess::~CliProcess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  CloseFd(stdin_fd_);
  CloseFd(stdout_fd_);
  CloseFd(stderr_fd_);
}

template <typename Done>
bool CliProcess::Pump(Clock::time_point deadline, Done done) {
  while (!done()) {
    if (stdout_fd_ < 0 && stderr_fd_ < 0 && stdin_fd_ < 0) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::vector<pollfd> fds;
    if (stdin_fd_ >= 0) fds.push_back({stdin_fd_, POLLOUT, 0});
    if (stdout_fd_ >= 0) fds.push_back({stdout_fd_, POLLIN, 0});
    if (stderr_fd_ >= 0) fds.push_back({stderr_fd_, POLLIN, 0});
    const auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    if (poll(fds.data(), fds.size(), static_cast<int>(wait_ms)) < 0 && errno != EINTR) {
      return false;
    }
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == stdin_fd_) {
        const ssize_t n =
            write(stdin_fd_, to_write_.data() + written_, to_write_.size() - written_);
        if (n > 0) written_ += static_cast<size_t>(n);
        // EPIPE: the child exited or closed stdin without reading everything.
        if ((n < 0 && errno != EAGAIN) || written_ == to_write_.size()) CloseFd(stdin_fd_);
        continue;
      }
      char buf[65536];
      const ssize_t n = read(p.fd, buf, sizeof buf);
      if (n > 0) {
        (p.fd == stdout_fd_ ? out_ : err_).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        CloseFd(p.fd == stdout_fd_ ? stdout_fd_ : stderr_fd_);
      }
    }
  }
  return true;
}

std::optional<std::string> CliProcess::ReadLine(std::chrono::milliseconds timeout) {
  Pump(Clock::now() + timeout,
       [&] { return out_.find('\n') != std::string::npos || stdout_fd_ < 0; });
  const size_t newline = out_.find('\n');
  if (newline == std::string::npos) return std::nullopt;
  std::string line = out_.substr(0, newline);
  out_.erase(0, newline + 1);
  return line;
}

bool CliProcess::Running() {
  if (reaped_) return false;
  if (wait4(pid_, &status_, WNOHANG, &usage_) == pid_) reaped_ = true;
  return !reaped_;
}

std::optional<std::chrono::milliseconds> CliProcess::CpuTimeSoFar() {
  if (!Running()) return std::nullopt;
  return ProcessCpuTime(pid_);
}

void CliProcess::Signal(int signal) {
  if (!reaped_) kill(pid_, signal);
}

CliResult CliProcess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  CliResult result;
  bool in_time = Pump(deadline, [&] { return stdout_fd_ < 0 && stderr_fd_ < 0; });
  while (in_time && !reaped_) {
    if (wait4(pid_, &status_, WNOHANG, &usage_) == pid_) {
      reaped_ = true;
      break;
    }
    if (Clock::now() >= deadline) in_time = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!in_time) {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      wait4(pid_, &status_, 0, &usage_);
    }
    ADD_FAILURE() << "triad did not exit within " << timeout.count()
                  << " ms; stdout so far: " << out_ << "\nstderr so far: " << err_;
  }
  reaped_ = true;
  const int status = status_;
  const rusage& usage = usage_;
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
  result.cpu_time = std::chrono::seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                    std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  result.exit_code = in_time && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = std::move(out_);
  result.err = std::move(err_);
  return result;
}

CliResult RunCli(const CliSpec& spec, std::chrono::milliseconds timeout) {
  auto process = CliProcess::Start(spec);
  if (process == nullptr) return CliResult{};
  return process->Wait(timeout);
}

void CliTest::SetUp() {
  dir_ = temp_dir_.path().string();
  store_path_ = dir_ + "/store.db";
}

CliSpec CliTest::Spec(std::vector<std::string> args, std::string stdin_data) const {
  return CliSpec{.args = std::move(args),
                 .stdin_data = std::move(stdin_data),
                 .env = {{"TRIAD_DATA", store_path_}},
                 .cwd = dir_};
}

CliResult CliTest::Cli(std::vector<std::string> args, std::string stdin_data) {
  return RunCli(Spec(std::move(args), std::move(stdin_data)));
}

}  // namespace triad::testing
