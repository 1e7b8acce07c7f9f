// The read-model verbs on an embedded store: `projections`, `projection ACTION`, `get`, `find`,
// `groups`. A C++ projection registered in a test engine builds the documents; the CLI then
// reads the same files (it registers no handlers itself).
#include "triad/consumer_groups.h"
#include "triad/event_store.h"
#include "triad/projection_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "accounts_projection.h"
#include "cli_runner.h"

namespace triad::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

class CliReadModelTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_CLI_OK(Cli({"append", "account-1", "AccountOpened", R"({"owner":"ada"})"}));
    ASSERT_CLI_OK(Cli({"append", "account-2", "AccountOpened", R"({"owner":"bob"})"}));
    ASSERT_CLI_OK(Cli({"append", "account-1", "Deposited", R"({"amount":5})"}));
    // The projection runs here, to position 3, then the engine closes: the CLI finds its
    // records and documents in the read model beside the store.
    auto store = EventStore::Open(Options{}, store_path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto engine = ProjectionEngine::Open(store->get(), EngineOptions{});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    ASSERT_TRUE((*engine)->Register(AccountsProjection()).ok());
    auto reached = (*engine)->RunOnce("accounts");
    ASSERT_TRUE(reached.ok()) << reached.status().ToString();
    ASSERT_EQ(*reached, 3);
  }
};

TEST_F(CliReadModelTest, ProjectionsListsStoredVersionsAsUnregistered) {
  CliResult table = Cli({"projections"});
  ASSERT_CLI_OK(table);
  const std::vector<std::string> lines = table.OutLines();
  ASSERT_EQ(lines.size(), 2U) << table.out;
  EXPECT_EQ(lines[0],
            "NAME      VERSION  STATE                     SERVING  CHECKPOINT  LAG   RATE  "
            "LAST_ERROR");
  EXPECT_EQ(lines[1],
            "accounts        1  caught_up (unregistered)  yes             3/3    0  0.0/s  ");

  CliResult json = Cli({"projections", "--json"});
  ASSERT_CLI_OK(json);
  const std::vector<Json> statuses = JsonLines(json.out);
  ASSERT_EQ(statuses.size(), 1U);
  EXPECT_EQ(statuses[0].at("name"), "accounts");
  EXPECT_EQ(statuses[0].at("version"), 1);
  EXPECT_EQ(statuses[0].at("state"), "caught_up");
  EXPECT_EQ(statuses[0].at("serving"), true);
  EXPECT_EQ(statuses[0].at("registered"), false);
  EXPECT_EQ(statuses[0].at("checkpoint"), 3);
  EXPECT_EQ(statuses[0].at("head_position"), 3);
  EXPECT_EQ(statuses[0].at("lag_events"), 0);
  EXPECT_EQ(statuses[0].at("collections"), Json::array({"accounts"}));
}

TEST_F(CliReadModelTest, GetPrintsTheDocumentWithItsMeta) {
  CliResult get = Cli({"get", "accounts", "account-1"});
  ASSERT_CLI_OK(get);
  EXPECT_EQ(get.out,
            R"({"balance":5,"owner":"ada","_meta":{"id":"account-1","projection":"accounts@1",)"
            R"("position":3,)"
            R"("sources":{"account-1":1}}})"
            "\n");
  CliResult json = Cli({"get", "accounts", "account-2", "--json"});
  ASSERT_CLI_OK(json);
  EXPECT_EQ(json.out, R"({"document":{"balance":0,"owner":"bob","_meta":{"id":"account-2",)"
                      R"("projection":"accounts@1",)"
                      R"("position":2,"sources":{"account-2":0}}},"as_of":3})"
                      "\n");
  // Read your own write: position 3 is reached, so no wait is needed.
  ASSERT_CLI_OK(Cli({"get", "accounts", "account-1", "--min-position", "3"}));
}

TEST_F(CliReadModelTest, GetOfAMissingDocumentOrCollectionExits4) {
  CliResult missing = Cli({"get", "accounts", "account-9"});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err,
            "triad: no document 'account-9' in collection 'accounts' (as of position 3)\n");
  CliResult collection = Cli({"get", "nothing", "x"});
  EXPECT_EQ(collection.exit_code, 4) << collection.err;
  EXPECT_THAT(collection.err, HasSubstr("nothing"));
  // Position 4 is never reached: the deadline error exits 1.
  CliResult behind =
      Cli({"get", "accounts", "account-1", "--min-position", "4", "--wait-ms", "50"});
  EXPECT_EQ(behind.exit_code, 1) << behind.err;
}

TEST_F(CliReadModelTest, FindFiltersOrdersPagesAndCounts) {
  CliResult ada = Cli({"find", "accounts", "--where", "owner:eq:ada"});
  ASSERT_CLI_OK(ada);
  EXPECT_THAT(ada.OutLines(),
              ElementsAre("POSITION  DOCUMENT", "       3  {\"balance\":5,\"owner\":\"ada\"}",
                          "(1 document, as of position 3)"));

  CliResult first =
      Cli({"find", "accounts", "--order-by", "balance:desc", "--limit", "1", "--json"});
  ASSERT_CLI_OK(first);
  std::vector<Json> lines = JsonLines(first.out);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0].at("owner"), "ada");
  EXPECT_EQ(lines[1].at("as_of"), 3);
  ASSERT_TRUE(lines[1].at("next_after").is_string()) << first.out;
  const std::string cursor = lines[1].at("next_after");

  CliResult second = Cli({"find", "accounts", "--order-by", "balance:desc", "--limit", "1",
                          "--after", cursor, "--json"});
  ASSERT_CLI_OK(second);
  lines = JsonLines(second.out);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0].at("owner"), "bob");
  EXPECT_EQ(lines[1], Json::parse(R"({"next_after":null,"as_of":3})"));

  CliResult table_page = Cli({"find", "accounts", "--order-by", "balance:desc", "--limit", "1"});
  ASSERT_CLI_OK(table_page);
  EXPECT_EQ(table_page.OutLines().back(),
            "(1 document, as of position 3; next page: --after " + cursor + ")");

  CliResult in = Cli(
      {"find", "accounts", "--where", "owner:in:ada|bob", "--where", "balance:ge:0", "--count"});
  ASSERT_CLI_OK(in);
  EXPECT_EQ(in.out, "2 documents (as of position 3)\n");
  CliResult count = Cli({"find", "accounts", "--where", "balance:gt:1", "--count", "--json"});
  ASSERT_CLI_OK(count);
  EXPECT_EQ(count.out, "{\"count\":1,\"as_of\":3}\n");
}

TEST_F(CliReadModelTest, FindRefusesBadQueriesWithExit2) {
  CliResult op = Cli({"find", "accounts", "--where", "owner:like:ada"});
  EXPECT_EQ(op.exit_code, 2);
  EXPECT_EQ(op.out, "");
  EXPECT_EQ(op.err,
            "triad: --where 'owner:like:ada': unknown op 'like' (expected field:op:value with op "
            "one of eq, ne, lt, le, gt, ge, in, prefix)\n");
  CliResult parts = Cli({"find", "accounts", "--where", "owner=ada"});
  EXPECT_EQ(parts.exit_code, 2);
  EXPECT_THAT(parts.err, HasSubstr("--where 'owner=ada': not three ':'-separated parts"));
  CliResult order = Cli({"find", "accounts", "--order-by", "owner:down"});
  EXPECT_EQ(order.exit_code, 2);
  EXPECT_THAT(order.err, HasSubstr("the order must be asc or desc"));
  // A filter on a field without an index is the engine's kInvalidArgument.
  CliResult unindexed = Cli({"find", "accounts", "--where", "branch:eq:north"});
  EXPECT_EQ(unindexed.exit_code, 2) << unindexed.err;
  CliResult unknown = Cli({"find", "nothing"});
  EXPECT_EQ(unknown.exit_code, 4) << unknown.err;
}

TEST_F(CliReadModelTest, PauseResumeAndResetActOnTheStoredRecords) {
  CliResult pause = Cli({"projection", "pause", "accounts"});
  ASSERT_CLI_OK(pause);
  EXPECT_EQ(pause.out, "pause: accounts@1: paused, checkpoint 3 of 3, serving\n");
  CliResult listed = Cli({"projections", "--json"});
  ASSERT_CLI_OK(listed);
  EXPECT_EQ(JsonLines(listed.out).at(0).at("state"), "paused");

  CliResult resume = Cli({"projection", "resume", "accounts", "--json"});
  ASSERT_CLI_OK(resume);
  const Json resumed = Json::parse(resume.out);
  EXPECT_NE(resumed.at("state"), "paused");
  EXPECT_EQ(resumed.at("checkpoint"), 3);

  CliResult reset = Cli({"projection", "reset", "accounts", "--json"});
  ASSERT_CLI_OK(reset);
  EXPECT_EQ(Json::parse(reset.out).at("checkpoint"), 0);
  CliResult gone = Cli({"get", "accounts", "account-1"});
  EXPECT_EQ(gone.exit_code, 4) << gone.err;
}

TEST_F(CliReadModelTest, WhatNeedsTheHandlersAsksForUrl) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"projection", "trigger", "accounts"},
        std::vector<std::string>{"projection", "reset", "accounts", "--wait"}}) {
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 1) << args[1];
    EXPECT_THAT(r.err, HasSubstr("use --url URL (or $TRIAD_URL) against the server")) << args[1];
  }
  // Refused before acting: the reset --wait did not reset.
  CliResult listed = Cli({"projections", "--json"});
  EXPECT_EQ(JsonLines(listed.out).at(0).at("checkpoint"), 3);

  CliResult missing = Cli({"projection", "pause", "nothing"});
  EXPECT_EQ(missing.exit_code, 4) << missing.err;
  CliResult bad_action = Cli({"projection", "rewind", "accounts"});
  EXPECT_EQ(bad_action.exit_code, 2);
  CliResult up_to = Cli({"projection", "pause", "accounts", "--up-to", "2"});
  EXPECT_EQ(up_to.exit_code, 2);
  EXPECT_EQ(up_to.err, "triad: --up-to is for trigger only\n");
  CliResult deploy = Cli({"projection", "deploy", "accounts"});
  EXPECT_EQ(deploy.exit_code, 2);
  EXPECT_EQ(deploy.err, "triad: deploy needs --file SCRIPT.lua\n");
}

TEST_F(CliReadModelTest, GroupsListShowAndParked) {
  // No group file beside the store: no groups, and none is created by looking.
  CliResult none = Cli({"groups"});
  ASSERT_CLI_OK(none);
  EXPECT_EQ(none.out, "(no groups)\n");
  EXPECT_FALSE(std::filesystem::exists(store_path() + ".groups"));
  EXPECT_EQ(Cli({"groups", "billing"}).exit_code, 4);
  {
    auto store = EventStore::Open(Options{}, store_path());
    ASSERT_TRUE(store.ok());
    auto groups = ConsumerGroups::Open(store->get(), ConsumerGroupsOptions{});
    ASSERT_TRUE(groups.ok()) << groups.status().ToString();
    ASSERT_TRUE((*groups)->Create("billing", {.categories = {"account"}}).ok());
    auto batch = (*groups)->Poll("billing", "worker-1", {.max_messages = 1});
    ASSERT_TRUE(batch.ok());
    ASSERT_EQ(batch->size(), 1U);
    const Position first = (*batch)[0].event.position;
    auto nacked = (*groups)->Nack("billing", "worker-1", {&first, 1}, "bad data", true);
    ASSERT_TRUE(nacked.ok());
    ASSERT_EQ(*nacked, 1);
  }
  CliResult listed = Cli({"groups", "--json"});
  ASSERT_CLI_OK(listed);
  const std::vector<Json> groups = JsonLines(listed.out);
  ASSERT_EQ(groups.size(), 1U);
  EXPECT_EQ(groups[0].at("name"), "billing");
  EXPECT_EQ(groups[0].at("parked"), 1);
  EXPECT_EQ(groups[0].at("head_position"), 3);
  EXPECT_EQ(groups[0].at("settings").at("categories"), Json::array({"account"}));

  CliResult shown = Cli({"groups", "billing"});
  ASSERT_CLI_OK(shown);
  EXPECT_THAT(shown.out, HasSubstr("group        billing\n"));
  EXPECT_THAT(shown.out, HasSubstr("categories   account\n"));
  EXPECT_THAT(shown.out, HasSubstr("parked       1\n"));

  CliResult parked = Cli({"groups", "billing", "--parked", "--json"});
  ASSERT_CLI_OK(parked);
  const std::vector<Json> messages = JsonLines(parked.out);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].at("position"), 1);
  EXPECT_EQ(messages[0].at("stream"), "account-1");
  EXPECT_EQ(messages[0].at("type"), "AccountOpened");
  EXPECT_EQ(messages[0].at("last_error"), "bad data");

  CliResult missing = Cli({"groups", "nope", "--parked"});
  EXPECT_EQ(missing.exit_code, 4) << missing.err;
  CliResult no_name = Cli({"groups", "--parked"});
  EXPECT_EQ(no_name.exit_code, 2);
  EXPECT_EQ(no_name.err, "triad: --parked needs a group NAME\n");
}

TEST_F(CliReadModelTest, UrlAndDataAreExclusive) {
  CliResult both = Cli({"--url", "http://127.0.0.1:1", "--data", store_path(), "streams"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(both.out, "");
  EXPECT_THAT(both.err, HasSubstr("triad: --url and --data are exclusive"));
  // --url wins over $TRIAD_DATA (set by Cli()): stats is refused without touching the server.
  CliResult stats = Cli({"stats", "--url", "http://127.0.0.1:1"});
  EXPECT_EQ(stats.exit_code, 1);
  EXPECT_EQ(stats.err,
            "triad: stats needs --data PATH (it reads the store's files); over --url use GET "
            "/metrics on the server\n");
  CliSpec env = Spec({"check"});
  env.env["TRIAD_URL"] = "http://127.0.0.1:1";
  CliResult check = RunCli(env);
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.err, HasSubstr("check needs --data PATH"));
  // An explicit --data wins over $TRIAD_URL.
  env = Spec({"check", "--data", store_path()});
  env.env["TRIAD_URL"] = "http://127.0.0.1:1";
  ASSERT_CLI_OK(RunCli(env));
}

class CliNoReadModelTest : public CliTest {};

TEST_F(CliNoReadModelTest, ReadingVerbsDoNotCreateAReadModel) {
  ASSERT_CLI_OK(Cli({"append", "account-1", "AccountOpened", "{}"}));
  CliResult listed = Cli({"projections"});
  ASSERT_CLI_OK(listed);
  EXPECT_EQ(listed.out, "(no projections)\n");
  CliResult get = Cli({"get", "accounts", "account-1"});
  EXPECT_EQ(get.exit_code, 4);
  EXPECT_EQ(get.err, "triad: no projection writes collection 'accounts'\n");
  CliResult find = Cli({"find", "accounts", "--count"});
  EXPECT_EQ(find.exit_code, 4);
  CliResult pause = Cli({"projection", "pause", "accounts"});
  EXPECT_EQ(pause.exit_code, 4);
  EXPECT_EQ(pause.err, "triad: no projection 'accounts'\n");
  EXPECT_FALSE(std::filesystem::exists(store_path() + ".readmodel"));
  // A missing store is still "does not exist", not "no projections".
  CliResult missing = Cli({"projections", "--data", dir() + "/other.db"});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_THAT(missing.err, HasSubstr("does not exist"));
}

}  // namespace
}  // namespace triad::testing
