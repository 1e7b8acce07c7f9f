// `triad events --follow`: live events appended by another process, filters while following,
// --follow-timeout, --limit, and a clean exit on SIGINT/SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <signal.h>
#include <string>
#include <thread>

#include "cli_runner.h"

namespace triad::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class CliFollowTest : public CliTest {};

TEST_F(CliFollowTest, ReceivesAnEventAppendedByAnotherProcessWhileWaiting) {
  ASSERT_CLI_OK(Cli({"append", "account-1", "Opened", R"({"owner":"ada"})"}));
  auto follower = CliProcess::Start(
      Spec({"events", "--follow", "--json", "--limit", "2", "--follow-timeout", "20"}));
  ASSERT_NE(follower, nullptr);
  // The existing event arrives first: the follower has caught up and now waits.
  auto first = follower->ReadLine(seconds(10));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(nlohmann::json::parse(*first)["position"], 1);

  ASSERT_CLI_OK(Cli({"append", "account-1", "Deposited", R"({"amount":5})"}));
  CliResult done = follower->Wait(seconds(20));
  // --limit 2 ends it as soon as the second event is printed, long before the timeout.
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(done.err, "");
  EXPECT_LT(done.elapsed, seconds(10));
  auto events = JsonLines(done.out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["position"], 2);
  EXPECT_EQ(events[0]["version"], 1);
  EXPECT_EQ(events[0]["stream"], "account-1");
  EXPECT_EQ(events[0]["type"], "Deposited");
  EXPECT_EQ(events[0]["data"]["amount"], 5);
}

TEST_F(CliFollowTest, FollowsWithFiltersWithoutSpinning) {
  ASSERT_CLI_OK(Cli({"append", "order-1", "Placed"}));
  auto follower = CliProcess::Start(Spec({"events", "--follow", "--json", "--category", "account",
                                          "--limit", "1", "--follow-timeout", "20"}));
  ASSERT_NE(follower, nullptr);
  // Events that do not match move the head past the follower's cursor; it must keep waiting
  // (not busy-loop) and print only the match.
  for (int i = 0; i < 3; ++i) ASSERT_CLI_OK(Cli({"append", "order-2", "Placed"}));
  std::this_thread::sleep_for(milliseconds(700));
  // Measured over a second of waiting only, after start-up (whose cost depends on the build and
  // the machine's load): a busy loop would use most of that second.
  auto cpu_before = follower->CpuTimeSoFar();
  std::this_thread::sleep_for(milliseconds(1000));
  auto cpu_after = follower->CpuTimeSoFar();
  ASSERT_TRUE(cpu_before.has_value() && cpu_after.has_value()) << "the follower exited early";
  EXPECT_LT(*cpu_after - *cpu_before, milliseconds(250));
  ASSERT_CLI_OK(Cli({"append", "account-7", "Opened"}));
  CliResult done = follower->Wait(seconds(20));
  EXPECT_EQ(done.exit_code, 0) << done.err;
  auto events = JsonLines(done.out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["stream"], "account-7");
  EXPECT_EQ(events[0]["position"], 5);
}

TEST_F(CliFollowTest, StopsAfterTheFollowTimeout) {
  ASSERT_CLI_OK(Cli({"append", "account-1", "Opened"}));
  ASSERT_CLI_OK(Cli({"append", "account-1", "Closed"}));
  CliResult r = RunCli(Spec({"events", "-f", "--json", "--follow-timeout", "0.5"}), seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto events = JsonLines(r.out);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["type"], "Closed");
  EXPECT_GE(r.elapsed, milliseconds(450));
  EXPECT_LT(r.elapsed, seconds(10));
}

TEST_F(CliFollowTest, PrintsATableHeaderOnceWhileFollowing) {
  ASSERT_CLI_OK(Cli({"append", "account-1", "Opened"}));
  auto follower = CliProcess::Start(Spec({"events", "--follow", "--limit", "2"}));
  ASSERT_NE(follower, nullptr);
  auto header = follower->ReadLine(seconds(10));
  ASSERT_TRUE(header.has_value());
  EXPECT_THAT(*header, MatchesRegex("POSITION  STREAM +VERSION  TYPE +RECORDED_AT +DATA"));
  ASSERT_TRUE(follower->ReadLine(seconds(10)).has_value());
  ASSERT_CLI_OK(Cli({"append", "account-1", "Deposited", R"({"amount":1})"}));
  CliResult done = follower->Wait(seconds(20));
  EXPECT_EQ(done.exit_code, 0) << done.err;
  auto lines = done.OutLines();
  ASSERT_EQ(lines.size(), 1u) << done.out;
  EXPECT_THAT(lines[0], MatchesRegex(" +2  account-1 +1  Deposited .*\\{\"amount\":1\\}"));
}

class CliFollowSignalTest : public CliFollowTest, public ::testing::WithParamInterface<int> {};

TEST_P(CliFollowSignalTest, EndsCleanlyOnSignal) {
  ASSERT_CLI_OK(Cli({"append", "account-1", "Opened"}));
  auto follower = CliProcess::Start(Spec({"events", "--follow", "--json"}));
  ASSERT_NE(follower, nullptr);
  ASSERT_TRUE(follower->ReadLine(seconds(10)).has_value());
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_TRUE(follower->Running()) << "--follow did not wait for new events";
  const auto sent = std::chrono::steady_clock::now();
  follower->Signal(GetParam());
  CliResult done = follower->Wait(seconds(10));
  EXPECT_EQ(done.exit_code, 0) << "killed by the signal instead of exiting cleanly; " << done.err;
  EXPECT_EQ(done.err, "");
  EXPECT_EQ(done.out, "");
  EXPECT_LT(std::chrono::steady_clock::now() - sent, seconds(3));
}

INSTANTIATE_TEST_SUITE_P(Signals, CliFollowSignalTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) {
                           return std::string(info.param == SIGINT ? "SIGINT" : "SIGTERM");
                         });

}  // namespace
}  // namespace triad::testing
