// docs/cli.md and the CLI agree: every option a verb's section documents is one the verb accepts
// (its --help lists it), and every option its --help lists is documented in its section or among
// the global options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "cli_runner.h"

namespace triad::testing {
namespace {

std::set<std::string> OptionsIn(const std::string& text) {
  std::set<std::string> options;
  const std::regex option("(^|[^A-Za-z0-9_-])(--[a-z][a-z0-9-]*)");
  for (std::sregex_iterator it(text.begin(), text.end(), option), end; it != end; ++it) {
    options.insert((*it)[2]);
  }
  return options;
}

// The text of each "## NAME" section of docs/cli.md, by NAME.
std::map<std::string, std::string> Sections() {
  std::ifstream in(std::string(TRIAD_SOURCE_DIR) + "/docs/cli.md");
  std::map<std::string, std::string> sections;
  std::string current;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) {
      current = line.substr(3);
      continue;
    }
    if (!current.empty()) sections[current] += line + "\n";
  }
  return sections;
}

class CliDocsTest : public CliTest {};

TEST_F(CliDocsTest, EveryVerbsOptionsAreDocumentedAndAccepted) {
  const auto sections = Sections();
  ASSERT_TRUE(sections.contains("Global options")) << "docs/cli.md not found or restructured";
  const std::set<std::string> global = OptionsIn(sections.at("Global options"));
  EXPECT_TRUE(global.contains("--data") && global.contains("--url") && global.contains("--json"));
  for (const std::string verb : {"append", "read", "events", "streams", "stats", "check",
                                 "projections", "projection", "get", "find", "groups"}) {
    ASSERT_TRUE(sections.contains(verb)) << "docs/cli.md has no section '## " << verb << "'";
    CliResult help = Cli({verb, "--help"});
    ASSERT_CLI_OK(help);
    const std::set<std::string> accepted = OptionsIn(help.out);
    const std::set<std::string> documented = OptionsIn(sections.at(verb));
    for (const std::string& option : documented) {
      EXPECT_TRUE(accepted.contains(option) || global.contains(option))
          << "docs/cli.md documents " << option << " for '" << verb << "', which triad " << verb
          << " --help does not list";
    }
    for (const std::string& option : accepted) {
      EXPECT_TRUE(documented.contains(option) || global.contains(option))
          << "triad " << verb << " accepts " << option << ", which docs/cli.md's section '" << verb
          << "' does not document";
    }
  }
}

}  // namespace
}  // namespace triad::testing
