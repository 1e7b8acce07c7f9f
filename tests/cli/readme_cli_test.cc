// The README's "Using the CLI" examples work verbatim, in order: its first sh block on an
// embedded store (TRIAD_DATA) and against a server (TRIAD_URL) started as scripts/run.sh starts
// it (the bank's Lua projections in the store's scripts folder), its second block on the
// embedded store, its third against the server. Every line exits 0, and the bank's projections
// stay healthy (none faulted) and reach the head.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cli_runner.h"

namespace triad::testing {
namespace {

using ::testing::StartsWith;
using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kListening = "triad: listening on ";

// The ```sh blocks of the README's "## Using the CLI" section, each as its lines.
std::vector<std::vector<std::string>> CliBlocks() {
  std::ifstream in(fs::path(TRIAD_SOURCE_DIR) / "README.md");
  std::vector<std::vector<std::string>> blocks;
  std::string line;
  bool in_section = false;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) in_section = line == "## Using the CLI";
    if (!in_section) continue;
    if (!in_block && line == "```sh") {
      in_block = true;
      blocks.emplace_back();
    } else if (in_block && line == "```") {
      in_block = false;
    } else if (in_block) {
      blocks.back().push_back(line);
    }
  }
  return blocks;
}

// Splits a shell command line into words as sh would for these examples: blanks separate words,
// single and double quotes group, and an unquoted '#' starts a comment.
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool has_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      has_word = true;
    } else if (c == ' ' || c == '\t') {
      if (has_word) words.push_back(word);
      word.clear();
      has_word = false;
    } else if (c == '#' && !has_word) {
      break;
    } else {
      word += c;
      has_word = true;
    }
  }
  EXPECT_EQ(quote, 0) << "unbalanced quotes in: " << line;
  if (has_word) words.push_back(word);
  return words;
}

class ReadmeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    blocks_ = CliBlocks();
    ASSERT_EQ(blocks_.size(), 3u) << "README.md, Using the CLI: expected three sh blocks (both "
                                     "modes, embedded store, server)";
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Signal(SIGTERM);
      const CliResult stopped = server_->Wait(std::chrono::seconds(30));
      EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
    }
  }

  // Starts `triad serve` on a store in the test's folder as scripts/run.sh does: the bank's Lua
  // projections copied into the store's scripts folder.
  void StartServer() {
    const fs::path data = dir_ / "triad-demo.db";
    const fs::path scripts = dir_ / "triad-demo.db.scripts";
    fs::create_directories(scripts);
    for (const auto& entry :
         fs::directory_iterator(fs::path(TRIAD_SOURCE_DIR) / "examples" / "bank" / "projections")) {
      if (entry.path().extension() == ".lua") {
        fs::copy_file(entry.path(), scripts / entry.path().filename());
      }
    }
    server_ =
        CliProcess::Start({.args = {"serve", "--data", data.string(), "--scripts", scripts.string(),
                                    "--listen", "127.0.0.1:0", "--log-level", "warn"},
                           .cwd = dir_.string()});
    ASSERT_NE(server_, nullptr);
    const auto line = server_->ReadLine(std::chrono::seconds(30));
    ASSERT_TRUE(line.has_value()) << "the server did not say it was listening";
    ASSERT_THAT(*line, StartsWith(kListening));
    env_ = {{"TRIAD_URL", line->substr(std::string(kListening).size())}};
  }

  // Runs every line of `block` (`export` lines are the mode the test set in env_) and expects
  // each to exit 0.
  void RunBlock(const std::vector<std::string>& block) {
    for (const std::string& line : block) {
      std::vector<std::string> words = ShellWords(line);
      if (words.empty() || words[0] == "export") continue;
      ASSERT_EQ(words[0], "triad") << line;
      words.erase(words.begin());
      const CliResult result =
          RunCli({.args = words, .env = env_, .cwd = dir_.string()}, std::chrono::seconds(30));
      EXPECT_EQ(result.exit_code, 0)
          << line << "\nstdout: " << result.out << "\nstderr: " << result.err;
      ++lines_run_;
    }
  }

  // Waits (up to 20 s) until every projection has reached the head, expecting none faulted.
  void ExpectProjectionsHealthy(size_t expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::vector<Json> statuses;
    while (true) {
      const CliResult listed = RunCli({.args = {"projections", "--json"}, .env = env_});
      ASSERT_EQ(listed.exit_code, 0) << listed.err;
      statuses = JsonLines(listed.out);
      bool done = statuses.size() == expected;
      for (const Json& s : statuses) {
        ASSERT_NE(s.at("state"), "faulted") << s.dump();
        done = done && s.at("checkpoint") == s.at("head_position");
      }
      if (done) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << listed.out;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (const Json& s : statuses) EXPECT_NE(s.at("state"), "faulted") << s.dump();
  }

  triad::testing::TempDir temp_dir_{"triad-readme"};
  const fs::path dir_ = temp_dir_.path();
  std::vector<std::vector<std::string>> blocks_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<CliProcess> server_;
  int lines_run_ = 0;
};

TEST_F(ReadmeCliTest, ExamplesWorkOnAnEmbeddedStore) {
  env_ = {{"TRIAD_DATA", "./bank.db"}};
  RunBlock(blocks_[0]);
  RunBlock(blocks_[1]);
  EXPECT_GE(lines_run_, 8);
  EXPECT_TRUE(fs::exists(dir_ / "bank.db"));
}

TEST_F(ReadmeCliTest, ExamplesWorkAgainstTheDemoServer) {
  StartServer();
  RunBlock(blocks_[0]);
  ExpectProjectionsHealthy(3);  // accounts, branch_totals, dormant_accounts
  RunBlock(blocks_[2]);
  EXPECT_GE(lines_run_, 10);
  ExpectProjectionsHealthy(3);
  const CliResult found =
      RunCli({.args = {"find", "accounts", "--where", "owner:eq:ada", "--json"}, .env = env_});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  const std::vector<Json> lines = JsonLines(found.out);
  ASSERT_EQ(lines.size(), 2u) << found.out;  // the document, then the page trailer
  EXPECT_EQ(lines[0].at("balance_cents"), 100);
  EXPECT_EQ(lines[0].at("_meta").at("id"), "account-2");
  const CliResult paused_state = RunCli({.args = {"projections", "--json"}, .env = env_});
  for (const Json& s : JsonLines(paused_state.out)) EXPECT_NE(s.at("state"), "paused") << s;
}

}  // namespace
}  // namespace triad::testing
