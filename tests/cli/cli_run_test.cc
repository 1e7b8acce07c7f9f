// triad::cli::Run() in-process, for what the binary's pipes cannot show: a terminal on stdout or
// stdin, NO_COLOR, and the stop flag that SIGINT sets.
#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "testing/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <stdlib.h>
#include <string>
#include <thread>
#include <vector>

namespace triad::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class CliRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir_.path().string();
    data_ = dir_ + "/store.db";
  }

  struct Outcome {
    int exit_code;
    std::string out;
    std::string err;
  };

  // Runs `triad --data <store> args...`; `configure` may adjust the CliIo first.
  template <typename Configure>
  Outcome RunCli(std::vector<std::string> args, const std::string& input, Configure configure) {
    std::istringstream in(input);
    std::ostringstream out, err;
    CliIo io{.in = in, .out = out, .err = err};
    io.getenv = [this](const char* name) -> const char* {
      return std::string(name) == "NO_COLOR" && no_color_ ? "1" : nullptr;
    };
    configure(io);
    std::vector<std::string> full = {"triad", "--data", data_};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const std::string& a : full) argv.push_back(a.c_str());
    const int code = ::triad::cli::Run(static_cast<int>(argv.size()), argv.data(), io);
    return {code, out.str(), err.str()};
  }
  Outcome RunCli(std::vector<std::string> args, const std::string& input = "") {
    return RunCli(std::move(args), input, [](CliIo&) {});
  }

  triad::testing::TempDir temp_dir_{"triad-cli-run"};
  std::string dir_;
  std::string data_;
  bool no_color_ = false;
};

TEST_F(CliRunTest, BoldHeaderOnlyOnATerminalWithoutNoColor) {
  ASSERT_EQ(RunCli({"append", "s-1", "A"}).exit_code, kExitOk);
  auto tty = [](CliIo& io) { io.stdout_is_tty = true; };
  Outcome on_tty = RunCli({"read", "s-1"}, "", tty);
  EXPECT_EQ(on_tty.exit_code, kExitOk);
  EXPECT_THAT(on_tty.out, StartsWith("\033[1mVERSION  POSITION  TYPE"));
  EXPECT_THAT(RunCli({"streams"}, "", tty).out, StartsWith("\033[1mSTREAM"));

  EXPECT_THAT(RunCli({"read", "s-1"}).out, StartsWith("VERSION  POSITION  TYPE"));
  EXPECT_THAT(RunCli({"read", "s-1", "--json"}, "", tty).out, Not(HasSubstr("\033")));
  no_color_ = true;
  EXPECT_THAT(RunCli({"read", "s-1"}, "", tty).out, StartsWith("VERSION  POSITION  TYPE"));
}

TEST_F(CliRunTest, MultiLineDataStaysOnOneLine) {
  // Pretty-printed JSON is stored as received, line breaks included; a table row and an NDJSON
  // envelope must still be one line each.
  ASSERT_EQ(RunCli({"append", "s-1", "A", "{\n  \"a\": 1,\r\n\t\"b\": \"x\"\n}"}).exit_code,
            kExitOk);
  Outcome table = RunCli({"read", "s-1"}, "", [](CliIo& io) { io.stdout_is_tty = true; });
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 2) << table.out;
  EXPECT_THAT(table.out, HasSubstr("{   \"a\": 1,   \"b\": \"x\" }\n"));
  Outcome json = RunCli({"read", "s-1", "--json"});
  EXPECT_EQ(std::count(json.out.begin(), json.out.end(), '\n'), 1) << json.out;
  EXPECT_THAT(json.out, HasSubstr("\"data\":{   \"a\": 1,  \t\"b\": \"x\" }"));
}

TEST_F(CliRunTest, AppendWithoutTypeOnATerminalIsAUsageError) {
  Outcome r =
      RunCli({"append", "s-1"}, R"({"type":"A"})", [](CliIo& io) { io.stdin_is_tty = true; });
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("triad: append needs TYPE [JSON], or NDJSON events on stdin"));
  EXPECT_FALSE(std::filesystem::exists(data_));
  // '-' reads stdin even when it is a terminal.
  Outcome dash =
      RunCli({"append", "s-1", "-"}, R"({"type":"A"})", [](CliIo& io) { io.stdin_is_tty = true; });
  EXPECT_EQ(dash.exit_code, kExitOk) << dash.err;
}

TEST_F(CliRunTest, StopFlagEndsFollowCleanlyAndCutsOtherVerbsShort) {
  ASSERT_EQ(RunCli({"append", "s-1", "A"}).exit_code, kExitOk);
  std::atomic<bool> stop{true};
  auto stopped = [&](CliIo& io) { io.stop_requested = &stop; };
  // Following ends normally: exit 0, nothing printed after the stop.
  Outcome follow = RunCli({"events", "--follow", "--json"}, "", stopped);
  EXPECT_EQ(follow.exit_code, kExitOk) << follow.err;
  EXPECT_EQ(follow.err, "");
  // A plain read would print an incomplete answer: it fails instead.
  Outcome read = RunCli({"read", "s-1"}, "", stopped);
  EXPECT_EQ(read.exit_code, kExitFailure);
  EXPECT_EQ(read.err, "triad: interrupted\n");
  // An append whose stdin producer was interrupted appends nothing.
  Outcome append = RunCli({"append", "s-1", "-"}, R"({"type":"B"})", stopped);
  EXPECT_EQ(append.exit_code, kExitFailure);
  EXPECT_EQ(append.err, "triad: interrupted; nothing was appended\n");
  Outcome check = RunCli({"stats", "--json"});
  EXPECT_THAT(check.out, HasSubstr(R"("events":1)"));
}

TEST_F(CliRunTest, StopFlagSetWhileFollowingEndsTheWait) {
  ASSERT_EQ(RunCli({"append", "s-1", "A"}).exit_code, kExitOk);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  const auto start = std::chrono::steady_clock::now();
  Outcome r =
      RunCli({"events", "--follow", "--json"}, "", [&](CliIo& io) { io.stop_requested = &stop; });
  stopper.join();
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_THAT(r.out, HasSubstr(R"("type":"A")"));
}

TEST(ExitCodesTest, OneMappingFromStatusCodes) {
  EXPECT_EQ(ExitCodeFor(StatusCode::kOk), 0);
  EXPECT_EQ(ExitCodeFor(StatusCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCodeFor(StatusCode::kAborted), 3);
  EXPECT_EQ(ExitCodeFor(StatusCode::kAlreadyExists), 3);
  EXPECT_EQ(ExitCodeFor(StatusCode::kNotFound), 4);
  for (StatusCode code :
       {StatusCode::kFailedPrecondition, StatusCode::kUnavailable, StatusCode::kDeadlineExceeded,
        StatusCode::kCancelled, StatusCode::kResourceExhausted, StatusCode::kDataLoss,
        StatusCode::kInternal}) {
    EXPECT_EQ(ExitCodeFor(code), 1) << StatusCodeName(code);
  }
}

}  // namespace
}  // namespace triad::cli
