// `triad append`: one event from arguments, NDJSON batches from stdin, idempotent retries,
// conflicts, and bad input refused with nothing stored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_runner.h"

namespace triad::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using Json = nlohmann::json;

class CliAppendTest : public CliTest {
 protected:
  // The number of events in the store per `triad stats --json`.
  int64_t EventCount() {
    CliResult stats = Cli({"stats", "--json"});
    EXPECT_EQ(stats.exit_code, 0) << stats.err;
    auto values = JsonLines(stats.out);
    if (values.size() != 1) {
      ADD_FAILURE() << "stats printed " << stats.out;
      return -1;
    }
    return values[0].at("events").get<int64_t>();
  }

  std::vector<Json> ReadJson(const std::string& stream) {
    CliResult read = Cli({"read", stream, "--json"});
    EXPECT_EQ(read.exit_code, 0) << read.err;
    return JsonLines(read.out);
  }
};

TEST_F(CliAppendTest, AppendsOneEventAndPrintsTheVersionsAndPositions) {
  CliResult first = Cli({"append", "account-1", "AccountOpened", R"({"owner":"ada"})"});
  ASSERT_CLI_OK(first);
  EXPECT_EQ(first.out, "1 event appended to account-1 (version 0, position 1)\n");

  CliResult second =
      Cli({"append", "account-1", "Deposited", R"({"amount":5})", "--expected", "0", "--json"});
  ASSERT_CLI_OK(second);
  auto result = JsonLines(second.out);
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(result[0], Json::parse(R"({"stream":"account-1","first_version":1,"last_version":1,
      "first_position":2,"last_position":2,"already_stored":false})"));
  // Field order is part of the format: scripts may compare lines.
  EXPECT_THAT(second.out, StartsWith(R"({"stream":"account-1","first_version":1,)"));

  auto events = ReadJson("account-1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["stream"], "account-1");
  EXPECT_EQ(events[0]["version"], 0);
  EXPECT_EQ(events[0]["position"], 1);
  EXPECT_EQ(events[0]["type"], "AccountOpened");
  EXPECT_EQ(events[0]["data"], Json::parse(R"({"owner":"ada"})"));
  EXPECT_EQ(events[0]["metadata"], Json::object());
  EXPECT_FALSE(events[0].contains("correlation_id"));
  EXPECT_THAT(events[0]["id"].get<std::string>(),
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_THAT(events[0]["recorded_at"].get<std::string>(),
              MatchesRegex("20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]"
                           "\\.[0-9]{6}Z"));
  EXPECT_EQ(events[1]["version"], 1);
  EXPECT_EQ(events[1]["position"], 2);
  EXPECT_EQ(events[1]["type"], "Deposited");
  EXPECT_EQ(events[1]["data"]["amount"], 5);
}

TEST_F(CliAppendTest, StoresIdAndMetadataAndRetriesIdempotently) {
  const std::string id = "0190E2A0-1234-7000-8000-00000000000A";  // upper case: canonicalized
  const std::vector<std::string> append = {
      "append",      "order-7",
      "OrderPlaced", R"({"total":12.5})",
      "--id",        id,
      "--metadata",  R"({"correlation_id":"c-1","causation_id":"k-9","user":"bo"})",
      "--expected",  "no_stream",
      "--json"};
  CliResult first = Cli(append);
  ASSERT_CLI_OK(first);
  EXPECT_EQ(JsonLines(first.out).at(0)["already_stored"], false);

  // The same event again at the same expected version: the first result, nothing written.
  CliResult retry = Cli(append);
  ASSERT_CLI_OK(retry);
  auto again = JsonLines(retry.out).at(0);
  EXPECT_EQ(again["already_stored"], true);
  EXPECT_EQ(again["first_position"], 1);
  EXPECT_EQ(EventCount(), 1);

  CliResult human =
      Cli({"append", "order-7", "OrderPlaced", R"({"total":12.5})", "--id", id, "--metadata",
           R"({"correlation_id":"c-1","causation_id":"k-9","user":"bo"})"});
  ASSERT_CLI_OK(human);
  EXPECT_EQ(human.out,
            "1 event already stored in order-7 (version 0, position 1); nothing written\n");

  auto events = ReadJson("order-7");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["id"], "0190e2a0-1234-7000-8000-00000000000a");
  EXPECT_EQ(events[0]["correlation_id"], "c-1");
  EXPECT_EQ(events[0]["causation_id"], "k-9");
  EXPECT_EQ(events[0]["metadata"]["user"], "bo");
  EXPECT_EQ(events[0]["data"]["total"], 12.5);
}

TEST_F(CliAppendTest, SameIdWithOtherContentIsAConflict) {
  const std::string id = "0190e2a0-1234-7000-8000-00000000000b";
  ASSERT_CLI_OK(Cli({"append", "order-8", "OrderPlaced", R"({"total":1})", "--id", id}));
  CliResult clash = Cli({"append", "order-8", "OrderPlaced", R"({"total":2})", "--id", id});
  EXPECT_EQ(clash.exit_code, 3);
  EXPECT_EQ(clash.err, "triad: event id " + id + " is already stored with other content\n");
  EXPECT_EQ(clash.out, "");
  EXPECT_EQ(EventCount(), 1);
}

TEST_F(CliAppendTest, WrongExpectedVersionExits3NamingTheCurrentVersion) {
  ASSERT_CLI_OK(Cli({"append", "account-1", "Opened"}));
  ASSERT_CLI_OK(Cli({"append", "account-1", "Deposited", "--expected", "0"}));

  CliResult stale = Cli({"append", "account-1", "Deposited", "--expected", "0"});
  EXPECT_EQ(stale.exit_code, 3);
  EXPECT_EQ(stale.err, "triad: stream 'account-1' is at version 1, expected 0\n");
  EXPECT_EQ(stale.out, "");

  CliResult exists = Cli({"append", "account-1", "Opened", "--expected", "no_stream"});
  EXPECT_EQ(exists.exit_code, 3);
  EXPECT_THAT(exists.err, HasSubstr("is at version 1"));

  CliResult missing = Cli({"append", "account-2", "Deposited", "--expected", "exists"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("'account-2' is at version -1"));

  // -1 is the same check as no_stream, and is not taken for an option.
  ASSERT_CLI_OK(Cli({"append", "account-2", "Opened", "--expected", "-1"}));
  EXPECT_EQ(EventCount(), 3);
}

TEST_F(CliAppendTest, AppendsNdjsonFromStdinAtomicallyAndKeepsDataBytes) {
  // Blank lines are skipped and CRLF line ends accepted; data keeps its spacing and escapes.
  auto ndjson_with_id = [](const std::string& id) {
    return R"({"type":"ItemAdded","data":{"sku" : "a-1",  "qty":2}})"
           "\n\n"
           R"({"id":")" +
           id +
           R"(","type":"ItemAdded","data":{"sku":"\u00e9"},"metadata":{"correlation_id":"cart"}})"
           "\r\n"
           R"({"type":"CartClosed"})"
           "\n";
  };
  const std::string ndjson = ndjson_with_id("0190e2a0-1234-7000-8000-0000000000c1");
  // stdin is a pipe, not a terminal: no TYPE means NDJSON.
  CliResult piped = Cli({"append", "cart-1", "--json"}, ndjson);
  ASSERT_CLI_OK(piped);
  EXPECT_EQ(JsonLines(piped.out).at(0), Json::parse(R"({"stream":"cart-1","first_version":0,
      "last_version":2,"first_position":1,"last_position":3,"already_stored":false})"));

  // TYPE '-' says so explicitly.
  CliResult dash = Cli({"append", "cart-2", "-", "--expected", "no_stream"},
                       ndjson_with_id("0190e2a0-1234-7000-8000-0000000000c2"));
  ASSERT_CLI_OK(dash);
  EXPECT_EQ(dash.out, "3 events appended to cart-2 (versions 0-2, positions 4-6)\n");

  CliResult read = Cli({"read", "cart-1", "--json"});
  ASSERT_CLI_OK(read);
  auto lines = read.OutLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr(R"("data":{"sku" : "a-1",  "qty":2})"));
  EXPECT_THAT(lines[1], HasSubstr(R"("id":"0190e2a0-1234-7000-8000-0000000000c1")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("data":{"sku":"\u00e9"})"));
  EXPECT_THAT(lines[1], HasSubstr(R"("correlation_id":"cart")"));
  auto events = JsonLines(read.out);
  EXPECT_EQ(events[2]["type"], "CartClosed");
  EXPECT_EQ(events[2]["data"], Json::object());
  EXPECT_EQ(events[2]["version"], 2);
  // All three committed together: one recorded_at.
  EXPECT_EQ(events[0]["recorded_at"], events[2]["recorded_at"]);
}

struct BadNdjson {
  std::string name;
  std::string input;
  std::string error;
};

void PrintTo(const BadNdjson& c, std::ostream* os) { *os << c.name; }

class CliBadNdjsonTest : public CliAppendTest, public ::testing::WithParamInterface<BadNdjson> {};

TEST_P(CliBadNdjsonTest, OneBadLineStoresNothing) {
  ASSERT_CLI_OK(Cli({"append", "seed-1", "Seeded"}));
  const BadNdjson& c = GetParam();
  CliResult bad = Cli({"append", "batch-1"}, c.input);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "triad: " + c.error + "\n");
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(EventCount(), 1);
  EXPECT_EQ(Cli({"read", "batch-1"}).exit_code, 4);
}

const std::string kGood = R"({"type":"Good","data":{"n":1}})";

INSTANTIATE_TEST_SUITE_P(
    Lines, CliBadNdjsonTest,
    ::testing::Values(
        BadNdjson{"DataNotObject", kGood + "\n" + R"({"type":"Bad","data":[1]})" + "\n" + kGood,
                  "event 1 (line 2): data is not a JSON object"},
        BadNdjson{"InvalidJson", kGood + "\n" + R"({"type":"Bad",)",
                  "event 1 (line 2): not valid JSON: The JSON document has an improper "
                  "structure: missing or superfluous commas, braces, missing keys, etc."},
        BadNdjson{"TrailingGarbage", R"({"type":"Bad"} x)",
                  "event 0 (line 1): not valid JSON: The JSON document has an improper "
                  "structure: missing or superfluous commas, braces, missing keys, etc."},
        BadNdjson{"NotAnObject", "\n[1,2]",
                  "event 0 (line 2): not a JSON object (expected "
                  "{\"type\": ..., \"data\": {...}})"},
        BadNdjson{"MissingType", kGood + "\n" + R"({"data":{}})",
                  "event 1 (line 2): type is missing"},
        BadNdjson{"TypeNotString", R"({"type":7})", "event 0 (line 1): type is not a JSON string"},
        BadNdjson{"UnknownField", R"({"type":"A","metdata":{}})",
                  "event 0 (line 1): unknown field 'metdata' (allowed: id, type, data, metadata)"},
        BadNdjson{"DuplicateField", R"({"type":"A","type":"B"})",
                  "event 0 (line 1): the event: key 'type' appears twice at the top level"},
        BadNdjson{"DuplicateKeyInData", R"({"type":"A","data":{"n":{"x":1,"x":2}}})",
                  "event 0 (line 1): the event: key 'x' appears twice in 'data.n'"},
        BadNdjson{"MetadataNotObject", R"({"type":"A","metadata":"x"})",
                  "event 0 (line 1): metadata is not a JSON object"},
        // Checked by the store, which numbers events the same way.
        BadNdjson{"BadType", kGood + "\n" + R"({"type":"has space"})",
                  "event 1: event type 'has space' may contain only letters, digits and _ . : -"},
        BadNdjson{"BadId", kGood + "\n" + R"({"type":"A","id":"123"})",
                  "event 1: id '123' is not a UUID (8-4-4-4-12 hex digits)"},
        BadNdjson{"InvalidDataJson", R"({"type":"A","data":{"a":01}})",
                  "event 0 (line 1): not valid JSON: Problem while parsing a number"},
        BadNdjson{"Empty", "\n \n",
                  "no events on stdin (expected NDJSON: one {\"type\": ..., \"data\": {...}} per "
                  "line)"}),
    [](const auto& info) { return info.param.name; });

struct BadArgs {
  std::string name;
  std::vector<std::string> args;
  int exit_code;
  std::string error;
};

void PrintTo(const BadArgs& c, std::ostream* os) { *os << c.name; }

class CliBadAppendTest : public CliAppendTest, public ::testing::WithParamInterface<BadArgs> {};

TEST_P(CliBadAppendTest, IsRefusedAndStoresNothing) {
  const BadArgs& c = GetParam();
  // On a missing store, a refused append does not even create the store.
  CliResult fresh = Cli(c.args);
  EXPECT_EQ(fresh.exit_code, c.exit_code);
  EXPECT_THAT(fresh.err, StartsWith("triad: " + c.error));
  EXPECT_EQ(fresh.out, "");
  EXPECT_FALSE(std::filesystem::exists(store_path()));

  ASSERT_CLI_OK(Cli({"append", "account-1", "Opened"}));
  CliResult existing = Cli(c.args);
  EXPECT_EQ(existing.exit_code, c.exit_code);
  EXPECT_THAT(existing.err, StartsWith("triad: " + c.error));
  EXPECT_EQ(EventCount(), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Args, CliBadAppendTest,
    ::testing::Values(
        BadArgs{"InvalidJson",
                {"append", "account-1", "Deposited", R"({"amount":)"},
                2,
                "event 0: data is not valid JSON"},
        BadArgs{"DataNotObject",
                {"append", "account-1", "Deposited", "[1,2]"},
                2,
                "event 0: data is not a JSON object\n"},
        BadArgs{"StringData",
                {"append", "account-1", "Deposited", R"("five")"},
                2,
                "event 0: data is not a JSON object\n"},
        BadArgs{"BadStreamName",
                {"append", "account 1", "Deposited"},
                2,
                "stream name 'account 1' may contain only letters, digits and - _ . : @ + = ~\n"},
        BadArgs{"BadType",
                {"append", "account-1", "9lives"},
                2,
                "event 0: event type '9lives' must start with a letter\n"},
        BadArgs{"BadUuid",
                {"append", "account-1", "Deposited", "--id", "not-a-uuid"},
                2,
                "event 0: id 'not-a-uuid' is not a UUID (8-4-4-4-12 hex digits)\n"},
        BadArgs{"BadExpected",
                {"append", "account-1", "Deposited", "--expected", "soon"},
                2,
                "--expected: expected version 'soon' is not any, no_stream, exists or an integer "
                ">= -1\n"},
        BadArgs{"ExpectedBelowMinusOne",
                {"append", "account-1", "Deposited", "--expected", "-2"},
                2,
                "--expected: expected version '-2'"},
        BadArgs{"MetadataNotObject",
                {"append", "account-1", "Deposited", "{}", "--metadata", "[]"},
                2,
                "event 0: metadata is not a JSON object\n"},
        BadArgs{"CorrelationIdNotString",
                {"append", "account-1", "Deposited", "{}", "--metadata", R"({"correlation_id":7})"},
                2,
                "event 0: metadata.correlation_id must be a string\n"},
        BadArgs{"ExtraArgument",
                {"append", "account-1", "Deposited", "{}", "extra"},
                2,
                "append: The following argument was not expected: extra"},
        BadArgs{"UnknownOption",
                {"append", "account-1", "Deposited", "--bogus"},
                2,
                "append: The following argument was not expected: --bogus"},
        BadArgs{"MissingStream", {"append"}, 2, "append: STREAM is required"},
        BadArgs{"ConflictOnNewStore",
                {"append", "account-9", "Deposited", "--expected", "3"},
                3,
                "stream 'account-9' is at version -1, expected 3\n"}),
    [](const auto& info) { return info.param.name; });

TEST_F(CliAppendTest, SingleEventOptionsDoNotMixWithNdjson) {
  CliResult mixed = Cli({"append", "cart-1", "-", "--id", "0190e2a0-1234-7000-8000-0000000000c1"},
                        R"({"type":"A"})");
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_THAT(mixed.err, HasSubstr("with NDJSON on stdin put \"data\", \"id\" and \"metadata\""));
  EXPECT_FALSE(std::filesystem::exists(store_path()));
}

TEST_F(CliAppendTest, MemoryStoreLeavesNoFile) {
  CliSpec spec = Spec({"append", "s-1", "T", "--data", "memory:", "--json"});
  CliResult r = RunCli(spec);
  ASSERT_CLI_OK(r);
  EXPECT_EQ(JsonLines(r.out).at(0)["last_position"], 1);
  EXPECT_FALSE(std::filesystem::exists(store_path()));
}

}  // namespace
}  // namespace triad::testing
