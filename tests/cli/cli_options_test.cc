// Global options, the store's location, help and version, and usage errors.
#include "triad/version.h"

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

class CliOptionsTest : public CliTest {};

TEST_F(CliOptionsTest, GlobalOptionsGoBeforeOrAfterTheVerb) {
  const std::string other = dir() + "/other.db";
  ASSERT_CLI_OK(Cli({"--data", other, "append", "s-1", "A"}));
  ASSERT_CLI_OK(Cli({"append", "s-1", "B", "--data", other}));
  ASSERT_CLI_OK(Cli({"append", "--data", other, "s-1", "C"}));
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--json", "--data", other, "read", "s-1"},
                                             {"read", "s-1", "--json", "--data", other},
                                             {"read", "--json", "s-1", "--data=" + other},
                                             {"--data", other, "read", "--json", "s-1"}}) {
    CliResult r = Cli(args);
    ASSERT_CLI_OK(r);
    auto events = JsonLines(r.out);
    ASSERT_EQ(events.size(), 3u) << args[0] << " " << args[1];
    EXPECT_EQ(events[0]["type"], "A");
    EXPECT_EQ(events[1]["type"], "B");
    EXPECT_EQ(events[2]["type"], "C");
  }
  // TRIAD_DATA (store_path()) was not touched.
  EXPECT_FALSE(std::filesystem::exists(store_path()));
}

TEST_F(CliOptionsTest, StoreComesFromDataThenTriadDataThenTheWorkingDirectory) {
  // No --data, no TRIAD_DATA: ./triad.db in the working directory.
  CliSpec bare = Spec({"append", "s-1", "InDefault"});
  bare.env.clear();
  ASSERT_CLI_OK(RunCli(bare));
  EXPECT_TRUE(std::filesystem::exists(dir() + "/triad.db"));
  // An empty TRIAD_DATA counts as unset.
  CliSpec empty_env = Spec({"read", "s-1", "--json"});
  empty_env.env = {{"TRIAD_DATA", ""}};
  CliResult from_default = RunCli(empty_env);
  ASSERT_CLI_OK(from_default);
  EXPECT_EQ(JsonLines(from_default.out).at(0)["type"], "InDefault");

  // TRIAD_DATA (set by Cli()) names store_path().
  ASSERT_CLI_OK(Cli({"append", "s-1", "InEnv"}));
  EXPECT_EQ(JsonLines(Cli({"read", "s-1", "--json"}).out).at(0)["type"], "InEnv");

  // --data wins over TRIAD_DATA, as a path or an sqlite: URI.
  const std::string flag_path = dir() + "/flag.db";
  ASSERT_CLI_OK(Cli({"append", "s-1", "InFlag", "--data", flag_path}));
  CliResult via_uri = Cli({"read", "s-1", "--json", "--data", "sqlite:" + flag_path});
  ASSERT_CLI_OK(via_uri);
  auto events = JsonLines(via_uri.out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["type"], "InFlag");

  // memory: is a fresh, empty store per run.
  CliResult memory = Cli({"stats", "--json", "--data", "memory:"});
  ASSERT_CLI_OK(memory);
  EXPECT_EQ(JsonLines(memory.out).at(0)["events"], 0);
}

TEST_F(CliOptionsTest, HelpOnEveryVerb) {
  CliResult root = Cli({"--help"});
  ASSERT_CLI_OK(root);
  EXPECT_THAT(root.out, StartsWith("triad: the command-line tool of the Triad event store."));
  for (const std::string verb : {"append", "read", "events", "streams", "stats", "check",
                                 "projections", "projection", "get", "find", "groups"}) {
    EXPECT_THAT(root.out, MatchesRegex("(.|\n)*\n  " + verb + " +[A-Z](.|\n)*")) << verb;
    CliResult help = Cli({verb, "--help"});
    ASSERT_CLI_OK(help);
    EXPECT_THAT(help.out, HasSubstr("Usage: triad " + verb + " [OPTIONS]")) << verb;
    EXPECT_THAT(help.out, HasSubstr("Global options (before or after the verb):")) << verb;
    EXPECT_THAT(help.out, HasSubstr("Exit codes: 0 ok, 1 failure, 2 usage")) << verb;
    // -h and help after the global options work too.
    CliResult h = Cli({"--json", verb, "-h"});
    ASSERT_CLI_OK(h);
    EXPECT_EQ(h.out, help.out);
  }
  CliResult append = Cli({"append", "--help"});
  EXPECT_THAT(append.out, HasSubstr("--expected V "));
  EXPECT_THAT(append.out, HasSubstr("--id UUID"));
  EXPECT_THAT(append.out, HasSubstr("--metadata JSON"));
  EXPECT_THAT(append.out, HasSubstr("'-': read NDJSON from stdin"));
  CliResult events = Cli({"events", "--help"});
  for (const std::string option : {"--from P", "--type T", "--category C", "--limit N",
                                   "-f,--follow", "--follow-timeout SECONDS"}) {
    EXPECT_THAT(events.out, HasSubstr(option));
  }
  CliResult read = Cli({"read", "--help"});
  for (const std::string option : {"--from V", "--backward", "--limit N"}) {
    EXPECT_THAT(read.out, HasSubstr(option));
  }
  CliResult streams = Cli({"streams", "--help"});
  for (const std::string option : {"--prefix P", "--category C", "--limit N"}) {
    EXPECT_THAT(streams.out, HasSubstr(option));
  }
}

TEST_F(CliOptionsTest, VersionPrintsTheVersion) {
  CliResult r = Cli({"--version"});
  ASSERT_CLI_OK(r);
  EXPECT_EQ(r.out, std::string("triad ") + TRIAD_VERSION_STRING + "\n");
}

TEST_F(CliOptionsTest, AnUnknownStoreSchemeIsInvalid) {
  CliResult r = Cli({"stats", "--data", "mysql://db/x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "triad: unsupported store URI 'mysql://db/x'; use sqlite:PATH, a file path, "
            "postgres://..., or memory:\n");
}

struct UsageError {
  std::string name;
  std::vector<std::string> args;
  std::string error;
};

void PrintTo(const UsageError& c, std::ostream* os) { *os << c.name; }

class CliUsageTest : public CliOptionsTest, public ::testing::WithParamInterface<UsageError> {};

TEST_P(CliUsageTest, Exits2WithTheProblemOnStderr) {
  const UsageError& c = GetParam();
  CliResult r = Cli(c.args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("triad: " + c.error));
  EXPECT_THAT(r.err, HasSubstr("run 'triad --help' or 'triad VERB --help' for usage\n"));
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(std::filesystem::exists(store_path()));
}

INSTANTIATE_TEST_SUITE_P(
    Args, CliUsageTest,
    ::testing::Values(
        UsageError{"NoVerb",
                   {},
                   "a verb is required (append, read, events, streams, stats, check, projections, "
                   "projection, get, find, groups, serve)"},
        UsageError{"UrlAndData",
                   {"--url", "http://127.0.0.1:1", "--data", "x.db", "streams"},
                   "--url and --data are exclusive"},

        UsageError{"UnknownVerb", {"frobnicate", "x"}, "unknown verb 'frobnicate'"},
        UsageError{"UnknownGlobalOption",
                   {"--bogus", "stats"},
                   "stats: The following argument was not expected: --bogus"},
        UsageError{"UnknownVerbOption",
                   {"read", "s-1", "--bogus"},
                   "read: The following argument was not expected: --bogus"},
        UsageError{"MissingStream", {"read"}, "read: STREAM is required"},
        UsageError{"ZeroLimit",
                   {"read", "s-1", "--limit", "0"},
                   "read: --limit: '0' is not an integer >= 1"},
        UsageError{"NonNumericLimit",
                   {"streams", "--limit", "many"},
                   "streams: --limit: 'many' is not an integer >= 1"},
        UsageError{
            "NegativeFrom", {"events", "--from=-1"}, "events: --from: '-1' is not an integer >= 0"},
        UsageError{"NegativeVersion",
                   {"read", "s-1", "--from=-3"},
                   "read: --from: '-3' is not an integer >= 0"},
        UsageError{"TimeoutWithoutFollow",
                   {"events", "--follow-timeout", "1"},
                   "events: --follow-timeout requires --follow"},
        UsageError{"BadTimeout",
                   {"events", "-f", "--follow-timeout", "soon"},
                   "events: --follow-timeout: 'soon' is not a number of seconds >= 0"},
        UsageError{"TwoTypesInOneOption",
                   {"events", "--type", "A", "B"},
                   "events: The following argument was not expected: B"},
        UsageError{"EmptyData", {"--data", "", "stats"}, "stats: --data: the store path is empty"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace triad::testing
