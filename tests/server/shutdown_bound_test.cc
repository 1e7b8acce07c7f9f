// `triad serve` as a child process: shutdown_timeout_ms holds even while a Lua handler is stuck
// inside one long C call (a pathological string.find), which neither the instruction limit nor
// the engine's interruption can stop: the server exits without waiting for it, committing
// nothing of the abandoned batch.
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "server/http_client.h"
#include "support/server_process.h"

namespace triad::server {
namespace {

using testing::ServerProcess;
using testing::ServerProcessOptions;
using triad::testing::TempDir;

// Lazy quantifiers backtrack over 100,000 characters without ever matching: one string.find
// that runs for years, all of it inside Lua's C pattern matcher.
constexpr const char* kStuck = R"(
return {
  event_types = {"Stuck"},
  collections = {stuck = {}},
  on_event = function(e, ctx)
    string.find(string.rep("a", 100000), ".-.-.-.-b")
    ctx:put("stuck", e.stream, {done = true})
  end,
}
)";

TEST(ShutdownBoundTest, SigtermExitsWithinTheTimeoutWhileAHandlerIsStuckInACCall) {
  TempDir dir;
  const std::string scripts = dir.File("scripts");
  std::filesystem::create_directories(scripts);
  std::ofstream(scripts + "/stuck.lua") << kStuck;
  const std::string config = dir.File("config.json");
  std::ofstream(config) << R"({"shutdown_timeout_ms":500})";
  ServerProcessOptions options{.data = dir.File("store.db"),
                               .args = {"--config", config, "--scripts", scripts}};
  auto server = ServerProcess::Start(options);
  ASSERT_OK(server);
  auto client = HttpClient::FromUrl((*server)->url());
  ASSERT_OK(client);
  auto appended = (*client)->Send("POST", "/streams/stuck-1", R"({"events":[{"type":"Stuck"}]})");
  ASSERT_OK(appended);
  ASSERT_EQ(appended->status, 201) << appended->body;
  // The worker picks the event up at once (push trigger) and stays in string.find.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  const auto begin = std::chrono::steady_clock::now();
  (*server)->Signal(SIGTERM);
  auto code = (*server)->WaitExit(20'000);
  ASSERT_OK(code);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
  EXPECT_EQ(*code, 0) << (*server)->Output();
  EXPECT_NE((*server)->Output().find("projection work did not stop within shutdown_timeout_ms"),
            std::string::npos)
      << (*server)->Output();
}

}  // namespace
}  // namespace triad::server
