// The verbs over --url against a real `triad serve` (a child process on a free loopback port)
// give the same output and exit codes as over --data on the same store; and what only the server
// can do (deploy, trigger, reset --wait, follow over SSE) works.
#include "triad/consumer_groups.h"
#include "triad/event_store.h"
#include "triad/projection_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "accounts_projection.h"
#include "cli_runner.h"

namespace triad::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;
using Args = std::vector<std::string>;

constexpr const char* kListening = "triad: listening on ";

class CliServerTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_CLI_OK(Cli({"append", "account-1", "AccountOpened", R"({"owner":"ada", "n": 1.50})"}));
    ASSERT_CLI_OK(Cli({"append", "account-2", "AccountOpened", R"({"owner":"bob"})"}));
    ASSERT_CLI_OK(Cli({"append", "account-1", "Deposited", R"({"amount":5})"}));
    {
      auto store = EventStore::Open(Options{}, store_path());
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      auto engine = ProjectionEngine::Open(store->get(), EngineOptions{});
      ASSERT_TRUE(engine.ok()) << engine.status().ToString();
      ASSERT_TRUE((*engine)->Register(AccountsProjection()).ok());
      ASSERT_TRUE((*engine)->RunOnce("accounts").ok());
      // A group with one parked message, loaded by the server from the same group file.
      auto groups = ConsumerGroups::Open(store->get(), ConsumerGroupsOptions{});
      ASSERT_TRUE(groups.ok()) << groups.status().ToString();
      ASSERT_TRUE((*groups)->Create("billing", {.event_types = {"Deposited"}}).ok());
      auto batch = (*groups)->Poll("billing", "worker-1", {.max_messages = 1});
      ASSERT_TRUE(batch.ok());
      ASSERT_EQ(batch->size(), 1U);
      const Position first = (*batch)[0].event.position;
      ASSERT_TRUE((*groups)->Nack("billing", "worker-1", {&first, 1}, "bad", true).ok());
    }
    StartServer({}, server_, url_);
  }

  // Starts `triad serve` on the test's store on a free port, with `extra` arguments, and reads
  // the URL it prints.
  void StartServer(const Args& extra, std::unique_ptr<CliProcess>& server, std::string& url) {
    Args args = {"serve", "--data", store_path(), "--listen", "127.0.0.1:0", "--log-level", "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    server = CliProcess::Start({.args = args, .cwd = dir()});
    ASSERT_NE(server, nullptr);
    const auto line = server->ReadLine(std::chrono::seconds(30));
    ASSERT_TRUE(line.has_value()) << "the server did not say it was listening";
    ASSERT_THAT(*line, StartsWith(kListening));
    url = line->substr(std::string(kListening).size());
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Signal(SIGTERM);
      const CliResult stopped = server_->Wait(std::chrono::seconds(30));
      EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
    }
    CliTest::TearDown();
  }

  // `triad args...` over --url ($TRIAD_URL, which wins over the $TRIAD_DATA that Cli() sets).
  CliResult Remote(Args args, std::string stdin_data = "") {
    CliSpec spec = Spec(std::move(args), std::move(stdin_data));
    spec.env["TRIAD_URL"] = url_;
    return RunCli(spec);
  }

  std::unique_ptr<CliProcess> server_;
  std::string url_;
};

TEST_F(CliServerTest, ReadingVerbsPrintTheSameOverUrlAsOverData) {
  const std::vector<Args> cases = {
      {"read", "account-1"},
      {"read", "account-1", "--json", "--backward"},
      {"read", "nope"},
      {"events"},
      {"events", "--json", "--type", "Deposited"},
      {"events", "--from", "2", "--limit", "1"},
      {"streams"},
      {"streams", "--json", "--prefix", "account-2"},
      {"get", "accounts", "account-1"},
      {"get", "accounts", "account-2", "--json"},
      {"get", "accounts", "account-9"},
      {"get", "nothing", "x"},
      {"find", "accounts", "--where", "owner:in:ada|bob", "--order-by", "balance:desc"},
      {"find", "accounts", "--where", "balance:gt:1", "--json"},
      {"find", "accounts", "--count"},
      {"find", "accounts", "--where", "branch:eq:north"},
      {"find", "accounts", "--where", "owner"},
      {"find", "nothing"},
      {"projection", "pause", "nothing"},
      {"groups"},
      {"groups", "--json"},
      {"groups", "billing", "--parked"},
      {"groups", "nothing"},
  };
  for (const Args& args : cases) {
    std::string name;
    for (const std::string& arg : args) name += arg + " ";
    const CliResult local = Cli(args);
    const CliResult remote = Remote(args);
    EXPECT_EQ(remote.exit_code, local.exit_code) << name << "\n" << remote.err << local.err;
    EXPECT_EQ(remote.out, local.out) << name;
    // Error messages come from the same library calls, through the server.
    EXPECT_EQ(remote.err, local.err) << name;
    // Both sides answered something: an empty pair would prove nothing.
    EXPECT_NE(local.out + local.err, "") << name;
  }
  // The exit codes themselves.
  EXPECT_EQ(Remote({"read", "nope"}).exit_code, 4);
  EXPECT_EQ(Remote({"get", "accounts", "account-9"}).exit_code, 4);
  EXPECT_EQ(Remote({"find", "accounts", "--where", "branch:eq:north"}).exit_code, 2);
}

TEST_F(CliServerTest, ProjectionsListTheSameStoredVersion) {
  const CliResult local = Cli({"projections", "--json"});
  const CliResult remote = Remote({"projections", "--json"});
  ASSERT_CLI_OK(local);
  ASSERT_CLI_OK(remote);
  const Json l = Json::parse(local.out);
  const Json r = Json::parse(remote.out);
  for (const char* field : {"name", "version", "serving", "checkpoint", "head_position",
                            "lag_events", "collections", "last_error"}) {
    EXPECT_EQ(r.at(field), l.at(field)) << field;
  }
  EXPECT_EQ(r.at("checkpoint"), 3);
}

TEST_F(CliServerTest, AppendsAndConflictsExitTheSameWay) {
  CliResult appended =
      Remote({"append", "account-2", "Deposited", R"({"amount":7})", "--expected", "0"});
  ASSERT_CLI_OK(appended);
  EXPECT_EQ(appended.out, "1 event appended to account-2 (version 1, position 4)\n");
  CliResult conflict = Remote({"append", "account-2", "Deposited", "{}", "--expected", "0"});
  EXPECT_EQ(conflict.exit_code, 3);
  EXPECT_EQ(conflict.out, "");
  const CliResult local_conflict =
      Cli({"append", "account-2", "Deposited", "{}", "--expected", "0"});
  EXPECT_EQ(local_conflict.exit_code, 3);
  EXPECT_EQ(conflict.err, local_conflict.err);
  CliResult batch = Remote({"append", "account-3", "-", "--json"},
                           "{\"type\":\"AccountOpened\",\"data\":{\"owner\":\"cy\"}}\n"
                           "{\"type\":\"Deposited\",\"data\":{\"amount\":1}}\n");
  ASSERT_CLI_OK(batch);
  EXPECT_EQ(Json::parse(batch.out),
            Json::parse(R"({"stream":"account-3","first_version":0,"last_version":1,)"
                        R"("first_position":5,"last_position":6,"already_stored":false})"));
  CliResult bad = Remote({"append", "account-3", "Deposited", "[1]"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_EQ(Cli({"read", "account-3", "--json"}).OutLines().size(), 2U);
}

TEST_F(CliServerTest, StatsAndCheckNeedData) {
  CliResult stats = Remote({"stats"});
  EXPECT_EQ(stats.exit_code, 1);
  EXPECT_THAT(stats.err, HasSubstr("over --url use GET /metrics"));
  CliResult check = Remote({"check"});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.err, HasSubstr("check needs --data PATH"));
}

TEST_F(CliServerTest, FollowOverUrlPrintsNewEvents) {
  CliSpec spec = Spec(
      {"events", "--follow", "--json", "--from", "3", "--limit", "2", "--follow-timeout", "20"});
  spec.env["TRIAD_URL"] = url_;
  auto follower = CliProcess::Start(spec);
  ASSERT_NE(follower, nullptr);
  const auto first = follower->ReadLine(std::chrono::seconds(10));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(Json::parse(*first).at("position"), 3);
  ASSERT_CLI_OK(Remote({"append", "account-9", "AccountOpened", R"({"owner":"zed"})"}));
  const CliResult done = follower->Wait(std::chrono::seconds(20));
  EXPECT_EQ(done.exit_code, 0) << done.err;
  const std::vector<Json> rest = JsonLines(done.out);
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].at("stream"), "account-9");
  EXPECT_EQ(rest[0].at("position"), 4);
}

TEST_F(CliServerTest, DeployTriggerAndResetWaitRunInTheServer) {
  const std::string script = dir() + "/owners.lua";
  std::ofstream(script) << R"(return {
  event_types = {"AccountOpened"},
  key = "stream",
  collections = { owners = { indexes = {{path = "owner", type = "string"}} } },
  on_event = function(e, ctx) ctx:put("owners", e.stream, {owner = e.data.owner}) end,
}
)";
  CliResult deploy = Remote({"projection", "deploy", "owners", "--file", script, "--wait"});
  ASSERT_CLI_OK(deploy);
  EXPECT_EQ(deploy.out, "deploy: owners@1: caught_up, checkpoint 3 of 3, serving\n");
  CliResult get = Remote({"get", "owners", "account-2"});
  ASSERT_CLI_OK(get);
  EXPECT_THAT(get.out, StartsWith(R"({"owner":"bob","_meta":{"id":)"));

  CliResult reset = Remote({"projection", "reset", "owners", "--wait"});
  ASSERT_CLI_OK(reset);
  EXPECT_EQ(reset.out, "reset: owners@1: caught_up, checkpoint 3 of 3, serving\n");

  CliResult trigger = Remote({"projection", "trigger", "owners", "--json"});
  ASSERT_CLI_OK(trigger);
  EXPECT_EQ(Json::parse(trigger.out).at("registered"), true);

  CliResult listed = Remote({"projections"});
  ASSERT_CLI_OK(listed);
  EXPECT_THAT(listed.out, HasSubstr("owners          1  caught_up "));
  CliResult broken = Remote({"projection", "deploy", "broken", "--file", script + ".missing"});
  EXPECT_EQ(broken.exit_code, 2);
}

TEST_F(CliServerTest, PlainTriggerAfterUpToRunsToTheHeadAndWaitEnds) {
  const std::string script = dir() + "/owners.lua";
  std::ofstream(script) << R"(return {
  event_types = {"AccountOpened"},
  key = "stream",
  collections = { owners = {} },
  on_event = function(e, ctx) ctx:put("owners", e.stream, {owner = e.data.owner}) end,
}
)";
  ASSERT_CLI_OK(Remote({"projection", "deploy", "owners", "--file", script, "--wait"}));
  ASSERT_CLI_OK(Remote({"projection", "pause", "owners"}));
  ASSERT_CLI_OK(Remote({"append", "account-3", "AccountOpened", R"({"owner":"cy"})"}));  // 4
  ASSERT_CLI_OK(Remote({"append", "account-4", "AccountOpened", R"({"owner":"di"})"}));  // 5
  CliResult up_to = Remote({"projection", "trigger", "owners", "--up-to", "4", "--wait"});
  ASSERT_CLI_OK(up_to);
  EXPECT_EQ(up_to.out, "trigger: owners@1: paused, checkpoint 4 of 5, serving\n");
  // A plain trigger runs it to the head again (then it pauses again), and --wait ends.
  CliSpec spec = Spec({"projection", "trigger", "owners", "--wait"});
  spec.env["TRIAD_URL"] = url_;
  const CliResult plain = RunCli(spec, std::chrono::seconds(20));
  ASSERT_CLI_OK(plain);
  EXPECT_EQ(plain.out, "trigger: owners@1: paused, checkpoint 5 of 5, serving\n");
  CliResult got = Remote({"get", "owners", "account-4"});
  ASSERT_CLI_OK(got);
  EXPECT_THAT(got.out, StartsWith(R"({"owner":"di","_meta":{"id":)"));
  // --wait on a paused version that nothing moves ends at once, naming why.
  spec = Spec({"projection", "reset", "owners", "--wait"});
  spec.env["TRIAD_URL"] = url_;
  const CliResult reset = RunCli(spec, std::chrono::seconds(20));
  EXPECT_EQ(reset.exit_code, 1) << reset.err;
  EXPECT_THAT(reset.err, HasSubstr("owners@1 is paused at checkpoint 0 of 5"));
}

TEST_F(CliServerTest, ActionsActOnTheServingVersionUnlessGivenOne) {
  const std::string script = dir() + "/owners.lua";
  std::ofstream(script) << R"(return {
  event_types = {"AccountOpened"},
  key = "stream",
  collections = { owners = {} },
  on_event = function(e, ctx) ctx:put("owners", e.stream, {owner = e.data.owner}) end,
}
)";
  ASSERT_CLI_OK(Remote({"projection", "deploy", "owners", "--file", script, "--wait"}));
  std::ofstream(script, std::ios::app) << "-- version 2\n";
  CliResult v2 = Remote({"projection", "deploy", "owners", "--file", script, "--wait"});
  ASSERT_CLI_OK(v2);
  EXPECT_EQ(v2.out, "deploy: owners@2: caught_up, checkpoint 3 of 3, not serving\n");

  CliResult paused = Remote({"projection", "pause", "owners"});
  ASSERT_CLI_OK(paused);
  EXPECT_EQ(paused.out, "pause: owners@1: paused, checkpoint 3 of 3, serving\n");
  paused = Remote({"projection", "pause", "owners", "--version", "2"});
  ASSERT_CLI_OK(paused);
  EXPECT_EQ(paused.out, "pause: owners@2: paused, checkpoint 3 of 3, not serving\n");
  ASSERT_CLI_OK(Remote({"projection", "resume", "owners"}));
  ASSERT_CLI_OK(Remote({"projection", "resume", "owners", "--version", "2"}));
  CliResult promoted = Remote({"projection", "promote", "owners"});
  ASSERT_CLI_OK(promoted);
  EXPECT_EQ(promoted.out, "promote: owners@2: caught_up, checkpoint 3 of 3, serving\n");
  // The retired version refuses actions.
  CliResult retired = Remote({"projection", "resume", "owners", "--version", "1"});
  EXPECT_EQ(retired.exit_code, 1);
  EXPECT_THAT(retired.err, HasSubstr("owners@1 is retired"));
}

TEST_F(CliServerTest, TokensComeFromTokenOrTheEnvironment) {
  const std::string config = dir() + "/tokens.json";
  std::ofstream(config) << R"({"tokens": [{"name": "ci", "token": "s3cret", "role": "read"}]})";
  std::unique_ptr<CliProcess> guarded;
  std::string url;
  StartServer({"--config", config}, guarded, url);
  CliSpec spec = Spec({"streams", "--url", url});
  CliResult anonymous = RunCli(spec);
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, HasSubstr("(HTTP 401 unauthorized; pass a token with --token or "
                                       "$TRIAD_TOKEN)"));
  spec.env["TRIAD_TOKEN"] = "s3cret";
  CliResult from_env = RunCli(spec);
  ASSERT_CLI_OK(from_env);
  EXPECT_EQ(from_env.out, Cli({"streams"}).out);
  ASSERT_CLI_OK(RunCli(Spec({"streams", "--url", url, "--token", "s3cret"})));
  // A read token may not append: 403 forbidden exits 1 and nothing is stored.
  CliResult forbidden =
      RunCli(Spec({"append", "account-1", "Deposited", "{}", "--url", url, "--token", "s3cret"}));
  EXPECT_EQ(forbidden.exit_code, 1);
  EXPECT_THAT(forbidden.err, HasSubstr("HTTP 403 forbidden"));
  EXPECT_EQ(Cli({"read", "account-1", "--json"}).OutLines().size(), 2U);
  guarded->Signal(SIGTERM);
  EXPECT_EQ(guarded->Wait(std::chrono::seconds(30)).exit_code, 0);
}

}  // namespace
}  // namespace triad::testing
