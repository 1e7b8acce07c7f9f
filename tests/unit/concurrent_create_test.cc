// Several processes creating the same new store at once (two CLI invocations, a server and a
// CLI): every one of them succeeds and they all end up with one valid store, read model and
// consumer-group file. Each round forks the openers, holds them at a start line, and releases
// them together so that their creations overlap.
#include "testing/test_util.h"

#include "triad/consumer_groups.h"
#include "triad/event_store.h"
#include "triad/read_model_backend.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace triad {
namespace {

constexpr int kRounds = 12;
constexpr int kProcesses = 6;

// What one opener does, in the child: open (creating) the store, its read model and its
// consumer groups, and append one event. Returns "" or the first error.
std::string OpenEverything(const std::string& path) {
  Options options;
  options.create_if_missing = true;
  auto store = EventStore::Open(options, "sqlite:" + path);
  if (!store.ok()) return "store: " + store.status().ToString();
  ReadModelOptions rm_options;
  rm_options.create_if_missing = true;
  auto read_model = OpenReadModelBackend(rm_options, DefaultReadModelUri("sqlite:" + path));
  if (!read_model.ok()) return "read model: " + read_model.status().ToString();
  auto groups = ConsumerGroups::Open(store->get(), ConsumerGroupsOptions{});
  if (!groups.ok()) return "groups: " + groups.status().ToString();
  NewEvent event{.type = "Opened"};
  auto appended = (*store)->Append("opener-1", ExpectedVersion::Any(), {&event, 1});
  if (!appended.ok()) return "append: " + appended.status().ToString();
  return "";
}

// Forks kProcesses openers of `path`, releases them at once, and returns their errors.
std::vector<std::string> RaceOpeners(const std::string& path) {
  int start[2];
  if (::pipe(start) != 0) return {"pipe failed"};
  struct Child {
    pid_t pid;
    int report;  // read end of the pipe the child writes its error to
  };
  std::vector<Child> children;
  for (int i = 0; i < kProcesses; ++i) {
    int report[2];
    if (::pipe(report) != 0) return {"pipe failed"};
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(start[1]);
      ::close(report[0]);
      char byte;
      while (::read(start[0], &byte, 1) < 0 && errno == EINTR) {
      }  // EOF: the parent closed the start line
      const std::string error = OpenEverything(path);
      if (!error.empty()) (void)!::write(report[1], error.data(), error.size());
      ::_exit(error.empty() ? 0 : 1);
    }
    ::close(report[1]);
    children.push_back(Child{pid, report[0]});
  }
  ::close(start[0]);
  ::close(start[1]);  // go
  std::vector<std::string> errors;
  for (const Child& child : children) {
    std::string text;
    char buf[512];
    ssize_t n;
    while ((n = ::read(child.report, buf, sizeof buf)) > 0)
      text.append(buf, static_cast<size_t>(n));
    ::close(child.report);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      errors.push_back(text.empty() ? "exit status " + std::to_string(status) : text);
    }
  }
  return errors;
}

TEST(ConcurrentCreateTest, ProcessesCreatingTheSameNewStoreAllSucceed) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("triad-concurrent-create-" + std::to_string(::getpid()));
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "store.db").string();
    for (const std::string& error : RaceOpeners(path)) ADD_FAILURE() << error;

    // One store holding every opener's event, and it checks clean.
    Options options;
    options.create_if_missing = false;
    auto store = EventStore::Open(options, "sqlite:" + path);
    ASSERT_OK(store);
    auto head = (*store)->HeadPosition();
    ASSERT_OK(head);
    EXPECT_EQ(*head, kProcesses);
    auto report = (*store)->Check();
    ASSERT_OK(report);
    EXPECT_TRUE(report->ok());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace triad
