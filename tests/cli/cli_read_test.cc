// The reading verbs: `read`, `events` (without --follow), `streams`, `stats` and `check`.
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"

namespace triad::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using Json = nlohmann::json;

// Whitespace-separated cells of a table row.
std::vector<std::string> Cells(const std::string& row) {
  std::istringstream in(row);
  std::vector<std::string> cells;
  for (std::string cell; in >> cell;) cells.push_back(cell);
  return cells;
}

template <typename T>
std::vector<T> Field(const std::vector<Json>& values, const std::string& name) {
  std::vector<T> out;
  for (const Json& v : values) out.push_back(v.at(name).get<T>());
  return out;
}

// NDJSON for one append of `n` events of type `type`, data {"i": <index>}.
std::string NumberedEvents(int n, const std::string& type) {
  std::string ndjson;
  for (int i = 0; i < n; ++i) {
    ndjson += R"({"type":")" + type + R"(","data":{"i":)" + std::to_string(i) + "}}\n";
  }
  return ndjson;
}

class CliReadTest : public CliTest {
 protected:
  // account-1: Opened, Deposited, Deposited (positions 1-3); account-2: Opened (position 4).
  void SeedAccounts() {
    ASSERT_CLI_OK(Cli({"append", "account-1", "Opened", R"({"owner":"ada"})"}));
    ASSERT_CLI_OK(Cli({"append", "account-1", "Deposited", R"({"amount":5})"}));
    ASSERT_CLI_OK(Cli({"append", "account-1", "Deposited", R"({"amount":7})"}));
    ASSERT_CLI_OK(Cli({"append", "account-2", "Opened", R"({"owner":"bo"})"}));
  }

  std::vector<Json> JsonOf(std::vector<std::string> args) {
    args.push_back("--json");
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return JsonLines(r.out);
  }
};

TEST_F(CliReadTest, ReadPrintsAPlainTableWhenNotATerminal) {
  SeedAccounts();
  CliResult r = Cli({"read", "account-1"});
  ASSERT_CLI_OK(r);
  EXPECT_THAT(r.out, Not(HasSubstr("\033")));
  auto lines = r.OutLines();
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[0], MatchesRegex("VERSION  POSITION  TYPE +RECORDED_AT +DATA"));
  auto row = Cells(lines[3]);
  ASSERT_EQ(row.size(), 5u) << lines[3];
  EXPECT_EQ(row[0], "2");
  EXPECT_EQ(row[1], "3");
  EXPECT_EQ(row[2], "Deposited");
  EXPECT_THAT(row[3], MatchesRegex("20[0-9-]+T[0-9:]+\\.[0-9]{6}Z"));
  EXPECT_EQ(row[4], R"({"amount":7})");
  // Columns are aligned: every row's DATA starts where the header's does.
  const size_t data_column = lines[0].find("DATA");
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(lines[i].find('{'), data_column) << lines[i];
}

TEST_F(CliReadTest, ReadJsonForwardBackwardFromAndLimit) {
  SeedAccounts();
  auto all = JsonOf({"read", "account-1"});
  EXPECT_THAT(Field<int64_t>(all, "version"), ElementsAre(0, 1, 2));
  EXPECT_THAT(Field<int64_t>(all, "position"), ElementsAre(1, 2, 3));
  EXPECT_THAT(Field<std::string>(all, "type"), ElementsAre("Opened", "Deposited", "Deposited"));
  EXPECT_EQ(all[2]["data"]["amount"], 7);

  EXPECT_THAT(Field<int64_t>(JsonOf({"read", "account-1", "--backward"}), "version"),
              ElementsAre(2, 1, 0));
  EXPECT_THAT(
      Field<int64_t>(JsonOf({"read", "account-1", "--backward", "--limit", "2"}), "version"),
      ElementsAre(2, 1));
  EXPECT_THAT(Field<int64_t>(JsonOf({"read", "account-1", "--from", "1"}), "version"),
              ElementsAre(1, 2));
  EXPECT_THAT(Field<int64_t>(JsonOf({"read", "account-1", "--from", "1", "--backward"}), "version"),
              ElementsAre(1, 0));
  EXPECT_TRUE(JsonOf({"read", "account-1", "--from", "9"}).empty());
  CliResult none = Cli({"read", "account-1", "--from", "9"});
  EXPECT_EQ(none.out, "(no events)\n");
}

TEST_F(CliReadTest, ReadOfAMissingStreamOrStoreExits4) {
  CliResult no_store = Cli({"read", "account-1"});
  EXPECT_EQ(no_store.exit_code, 4);
  EXPECT_EQ(no_store.err, "triad: store '" + store_path() +
                              "' does not exist (`triad append` creates it; --data PATH or "
                              "$TRIAD_DATA names another)\n");
  EXPECT_FALSE(std::filesystem::exists(store_path())) << "reading must not create a store";

  SeedAccounts();
  CliResult no_stream = Cli({"read", "account-9"});
  EXPECT_EQ(no_stream.exit_code, 4);
  EXPECT_EQ(no_stream.err, "triad: stream 'account-9' does not exist\n");
  EXPECT_EQ(no_stream.out, "");

  CliResult bad_name = Cli({"read", "bad name"});
  EXPECT_EQ(bad_name.exit_code, 2);
  EXPECT_THAT(bad_name.err, HasSubstr("triad: stream name 'bad name'"));
}

TEST_F(CliReadTest, ReadAndEventsPageThroughLongLogs) {
  ASSERT_CLI_OK(Cli({"append", "big-1", "-"}, NumberedEvents(2500, "Tick")));

  auto forward = JsonOf({"read", "big-1"});
  ASSERT_EQ(forward.size(), 2500u);
  for (size_t i = 0; i < forward.size(); ++i) {
    ASSERT_EQ(forward[i]["version"], static_cast<int64_t>(i));
    ASSERT_EQ(forward[i]["data"]["i"], static_cast<int64_t>(i));
  }
  auto backward = JsonOf({"read", "big-1", "--backward"});
  ASSERT_EQ(backward.size(), 2500u);
  for (size_t i = 0; i < backward.size(); ++i) {
    ASSERT_EQ(backward[i]["version"], static_cast<int64_t>(2499 - i));
  }
  auto limited = JsonOf({"read", "big-1", "--from", "100", "--limit", "1500"});
  ASSERT_EQ(limited.size(), 1500u);
  EXPECT_EQ(limited.front()["version"], 100);
  EXPECT_EQ(limited.back()["version"], 1599);

  auto log = JsonOf({"events"});
  ASSERT_EQ(log.size(), 2500u);
  for (size_t i = 0; i < log.size(); ++i)
    ASSERT_EQ(log[i]["position"], static_cast<int64_t>(i + 1));
  auto window = JsonOf({"events", "--from", "1001", "--limit", "1200"});
  ASSERT_EQ(window.size(), 1200u);
  EXPECT_EQ(window.front()["position"], 1001);
  EXPECT_EQ(window.back()["position"], 2200);
}

TEST_F(CliReadTest, EventsFiltersByTypeAndCategory) {
  SeedAccounts();                                                         // positions 1-4
  ASSERT_CLI_OK(Cli({"append", "order-1", "Placed", R"({"total":3})"}));  // 5
  ASSERT_CLI_OK(Cli({"append", "order-2", "Placed"}));                    // 6
  ASSERT_CLI_OK(Cli({"append", "user", "Registered"}));                   // 7: category "user"

  auto positions = [&](std::vector<std::string> args) {
    return Field<int64_t>(JsonOf(std::move(args)), "position");
  };
  EXPECT_THAT(positions({"events"}), ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(positions({"events", "--type", "Opened"}), ElementsAre(1, 4));
  EXPECT_THAT(positions({"events", "--type", "Opened", "--type", "Placed"}),
              ElementsAre(1, 4, 5, 6));
  EXPECT_THAT(positions({"events", "--category", "order"}), ElementsAre(5, 6));
  EXPECT_THAT(positions({"events", "--category", "order", "--category", "user"}),
              ElementsAre(5, 6, 7));
  EXPECT_THAT(positions({"events", "--category", "account", "--type", "Deposited"}),
              ElementsAre(2, 3));
  EXPECT_THAT(positions({"events", "--category", "account", "--type", "Placed"}), ElementsAre());
  EXPECT_THAT(positions({"events", "--from", "4"}), ElementsAre(4, 5, 6, 7));
  EXPECT_THAT(positions({"events", "--from", "0", "--limit", "2"}), ElementsAre(1, 2));
  EXPECT_THAT(positions({"events", "--type", "Placed", "--limit", "1"}), ElementsAre(5));

  auto placed = JsonOf({"events", "--type", "Placed"});
  EXPECT_EQ(placed[0]["stream"], "order-1");
  EXPECT_EQ(placed[0]["data"]["total"], 3);

  CliResult table = Cli({"events", "--category", "order"});
  ASSERT_CLI_OK(table);
  auto lines = table.OutLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], MatchesRegex("POSITION  STREAM   VERSION  TYPE +RECORDED_AT +DATA"));
  EXPECT_EQ(Cells(lines[1])[0], "5");
  EXPECT_EQ(Cells(lines[1])[1], "order-1");
  EXPECT_EQ(Cells(lines[1])[2], "0");
  EXPECT_EQ(Cells(lines[1])[3], "Placed");

  CliResult bad_type = Cli({"events", "--type", "no spaces"});
  EXPECT_EQ(bad_type.exit_code, 2);
  EXPECT_THAT(bad_type.err, HasSubstr("triad: type filter: event type 'no spaces'"));
  CliResult empty = Cli({"events", "--type", "Nothing"});
  EXPECT_EQ(empty.out, "(no events)\n");
}

TEST_F(CliReadTest, StreamsListsFiltersAndPages) {
  SeedAccounts();
  ASSERT_CLI_OK(Cli({"append", "order-1", "Placed"}));

  auto all = JsonOf({"streams"});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], Json::parse(R"({"stream":"account-1","category":"account","version":2,
      "event_count":3,"first_position":1,"last_position":3,
      "last_recorded_at":")" + all[0]["last_recorded_at"].get<std::string>() +
                                "\"}"));
  EXPECT_THAT(Field<std::string>(all, "stream"), ElementsAre("account-1", "account-2", "order-1"));
  EXPECT_THAT(Field<std::string>(JsonOf({"streams", "--prefix", "account-2"}), "stream"),
              ElementsAre("account-2"));
  EXPECT_THAT(Field<std::string>(JsonOf({"streams", "--category", "order"}), "stream"),
              ElementsAre("order-1"));
  EXPECT_THAT(Field<std::string>(JsonOf({"streams", "--limit", "2"}), "stream"),
              ElementsAre("account-1", "account-2"));

  CliResult table = Cli({"streams", "--category", "account"});
  ASSERT_CLI_OK(table);
  auto lines = table.OutLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], MatchesRegex("STREAM     CATEGORY  VERSION  EVENTS  FIRST_POSITION  "
                                     "LAST_POSITION  LAST_RECORDED_AT"));
  auto row = Cells(lines[1]);
  ASSERT_EQ(row.size(), 7u);
  EXPECT_EQ(row[0], "account-1");
  EXPECT_EQ(row[2], "2");
  EXPECT_EQ(row[3], "3");
  EXPECT_EQ(Cli({"streams", "--prefix", "zzz"}).out, "(no streams)\n");
}

TEST_F(CliReadTest, StreamsPagesThroughMoreThanOnePage) {
  {
    // 1,100 streams written in-process: one CLI process per stream would take a minute.
    Options options;
    options.durability = Durability::kRelaxed;
    auto store = EventStore::Open(options, "sqlite:" + store_path());
    ASSERT_OK(store);
    NewEvent event{.type = "Created"};
    for (int i = 0; i < 1100; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "s-%05d", i);
      ASSERT_OK((*store)->Append(name, ExpectedVersion::NoStream(), {&event, 1}));
    }
  }
  auto all = JsonOf({"streams"});
  ASSERT_EQ(all.size(), 1100u);
  EXPECT_EQ(all.front()["stream"], "s-00000");
  EXPECT_EQ(all[1000]["stream"], "s-01000");
  EXPECT_EQ(all.back()["stream"], "s-01099");
  EXPECT_EQ(JsonOf({"streams", "--limit", "1050"}).size(), 1050u);
}

TEST_F(CliReadTest, StatsReportsCounts) {
  SeedAccounts();
  auto stats = JsonOf({"stats"});
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0]["store"], "sqlite:" + store_path());
  EXPECT_EQ(stats[0]["head_position"], 4);
  EXPECT_EQ(stats[0]["events"], 4);
  EXPECT_EQ(stats[0]["streams"], 2);
  EXPECT_EQ(stats[0]["snapshots"], 0);
  EXPECT_GT(stats[0]["bytes"].get<int64_t>(), 0);

  CliResult table = Cli({"stats"});
  ASSERT_CLI_OK(table);
  auto lines = table.OutLines();
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "store          sqlite:" + store_path());
  EXPECT_EQ(lines[1], "head_position  4");
  EXPECT_EQ(lines[2], "events         4");
  EXPECT_EQ(lines[3], "streams        2");
  EXPECT_EQ(lines[4], "snapshots      0");
  EXPECT_THAT(lines[5], MatchesRegex("bytes          [1-9][0-9]*"));
}

TEST_F(CliReadTest, CheckPassesOnAHealthyStore) {
  SeedAccounts();
  CliResult r = Cli({"check"});
  ASSERT_CLI_OK(r);
  EXPECT_EQ(r.out, "ok: sqlite:" + store_path() + ": 4 events in 2 streams, head position 4\n");
  auto report = JsonOf({"check"});
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0]["ok"], true);
  EXPECT_EQ(report[0]["events_checked"], 4);
  EXPECT_EQ(report[0]["streams_checked"], 2);
  EXPECT_EQ(report[0]["head_position"], 4);
  EXPECT_EQ(report[0]["problems"], Json::array());
}

TEST_F(CliReadTest, CheckReportsProblemsAndExits1) {
  SeedAccounts();
  {
    // Break a stream summary behind the store's back.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(store_path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE streams SET version = 5 WHERE name = 'account-2'", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  CliResult r = Cli({"check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "triad: check found 1 problem; see the report on stdout\n");
  EXPECT_THAT(r.out, HasSubstr("1 problem in sqlite:" + store_path()));
  EXPECT_THAT(r.out, HasSubstr("  stream 'account-2': summary (version 5"));

  CliResult json = Cli({"check", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  auto report = JsonLines(json.out);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0]["ok"], false);
  ASSERT_EQ(report[0]["problems"].size(), 1u);
  EXPECT_THAT(report[0]["problems"][0].get<std::string>(), HasSubstr("'account-2'"));
}

TEST_F(CliReadTest, AFileThatIsNotAStoreExits1) {
  const std::string junk = dir() + "/junk.db";
  std::ofstream(junk) << "this is a text file, not a Triad store; it is long enough to matter\n";
  for (const std::string verb : {"stats", "check", "events"}) {
    CliResult r = Cli({verb, "--data", junk});
    EXPECT_EQ(r.exit_code, 1) << verb;
    EXPECT_THAT(r.err, MatchesRegex("triad: .*junk\\.db.*not a database\n")) << verb;
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace triad::testing
