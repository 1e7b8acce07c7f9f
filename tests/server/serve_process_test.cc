// `triad serve` as a real child process: kill -9 under concurrent appends loses no acknowledged
// event (promise 1) and leaves positions dense; SIGTERM shuts down gracefully (subscribers told,
// exit 0, acknowledged appends kept); start-up refusals (non-loopback without tokens, unknown
// config keys); configuration precedence through the process's own environment and flags.
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/http_client.h"
#include "support/server_process.h"

namespace triad::server {
namespace {

using testing::ServerProcess;
using testing::ServerProcessOptions;
using triad::testing::TempDir;

struct Acked {
  std::string data;
  int64_t position = 0;
};

// Appends from `threads` clients until `stop`; records every acknowledged (2xx) event.
class AppendLoad {
 public:
  AppendLoad(std::string url, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, url, t] { Run(url, t); });
    }
  }
  ~AppendLoad() { Stop(); }

  // Blocks until at least `count` appends were acknowledged (or the load ended).
  void WaitForAcked(size_t count) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return acked_.size() >= count || finished_ == threads_.size(); });
  }
  void Stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  std::vector<Acked> acked() {
    std::lock_guard lock(mutex_);
    return acked_;
  }

 private:
  void Run(const std::string& url, int thread) {
    auto client = HttpClient::FromUrl(url, {.request_timeout_ms = 10'000});
    for (int i = 0; client.ok() && !stop_; ++i) {
      const std::string data =
          R"({"t":)" + std::to_string(thread) + R"(,"i":)" + std::to_string(i) + "}";
      auto response = (*client)->Send("POST", "/streams/load-" + std::to_string(thread),
                                      R"({"events":[{"type":"Load","data":)" + data + "}]}");
      if (!response.ok()) break;  // the server is gone
      if (response->status / 100 != 2) continue;
      auto body = nlohmann::json::parse(response->body);
      std::lock_guard lock(mutex_);
      acked_.push_back({data, body["first_position"].get<int64_t>()});
      cv_.notify_all();
    }
    std::lock_guard lock(mutex_);
    ++finished_;
    cv_.notify_all();
  }

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Acked> acked_;
  size_t finished_ = 0;
  std::vector<std::thread> threads_;
};

// Every event of the log by position, read through GET /events.
std::map<int64_t, nlohmann::json> ReadLog(const std::string& url) {
  std::map<int64_t, nlohmann::json> log;
  auto client = HttpClient::FromUrl(url);
  EXPECT_OK(client);
  if (!client.ok()) return log;
  int64_t from = 1;
  while (true) {
    auto response =
        (*client)->Send("GET", "/events?limit=1000&from_position=" + std::to_string(from));
    EXPECT_OK(response);
    if (!response.ok()) return log;
    auto page = nlohmann::json::parse(response->body);
    for (const auto& event : page["events"]) log[event["position"].get<int64_t>()] = event;
    if (page["events"].empty()) return log;
    from = page["next_position"].get<int64_t>();
  }
}

TEST(ServeProcessTest, KillNineLosesNoAcknowledgedAppend) {
  TempDir dir;
  ServerProcessOptions options{.data = dir.File("store.db")};
  std::vector<Acked> acked;
  {
    auto server = ServerProcess::Start(options);
    ASSERT_OK(server);
    AppendLoad load((*server)->url(), 4);
    load.WaitForAcked(200);
    (*server)->Signal(SIGKILL);
    auto code = (*server)->WaitExit(10'000);
    ASSERT_OK(code);
    EXPECT_EQ(*code, 128 + SIGKILL);
    load.Stop();
    acked = load.acked();
  }
  ASSERT_GE(acked.size(), 200U);
  auto restarted = ServerProcess::Start(options);
  ASSERT_OK(restarted);
  auto log = ReadLog((*restarted)->url());
  ASSERT_FALSE(log.empty());
  // Dense positions from 1 (promise 2), and every acknowledged event where it was acknowledged.
  EXPECT_EQ(log.begin()->first, 1);
  EXPECT_EQ(log.rbegin()->first, static_cast<int64_t>(log.size()));
  for (const Acked& event : acked) {
    auto it = log.find(event.position);
    ASSERT_NE(it, log.end()) << "acknowledged position " << event.position << " is missing";
    EXPECT_EQ(it->second["data"], nlohmann::json::parse(event.data));
  }
}

TEST(ServeProcessTest, SigtermShutsDownGracefully) {
  TempDir dir;
  ServerProcessOptions options{.data = dir.File("store.db")};
  auto server = ServerProcess::Start(options);
  ASSERT_OK(server);
  auto url = ParseUrl((*server)->url());
  ASSERT_OK(url);
  auto subscriber = SseStream::Open(*url, "/subscribe");
  ASSERT_OK(subscriber);
  std::vector<Acked> acked;
  {
    AppendLoad load((*server)->url(), 3);
    load.WaitForAcked(50);
    (*server)->Signal(SIGTERM);
    // The subscriber is told why the stream ends.
    while (true) {
      auto event = (*subscriber)->Next(10'000);
      ASSERT_OK(event);
      if (event->event != "disconnect") continue;
      EXPECT_EQ(nlohmann::json::parse(event->data)["reason"], "shutting_down");
      break;
    }
    auto code = (*server)->WaitExit(15'000);
    ASSERT_OK(code);
    EXPECT_EQ(*code, 0) << (*server)->Output();
    load.Stop();
    acked = load.acked();
  }
  auto restarted = ServerProcess::Start(options);
  ASSERT_OK(restarted);
  auto log = ReadLog((*restarted)->url());
  for (const Acked& event : acked) {
    ASSERT_TRUE(log.count(event.position)) << "acknowledged position " << event.position;
    EXPECT_EQ(log[event.position]["data"], nlohmann::json::parse(event.data));
  }
}

TEST(ServeProcessTest, NonLoopbackListenWithoutTokensIsRefused) {
  TempDir dir;
  ServerProcessOptions options{.data = dir.File("store.db"),
                               .args = {"--listen", "0.0.0.0:0"},
                               .listen_on_free_port = false};
  auto process = ServerProcess::Spawn(options);
  ASSERT_OK(process);
  auto code = (*process)->WaitExit(15'000);
  ASSERT_OK(code);
  EXPECT_NE(*code, 0);
  EXPECT_NE((*process)->Output().find("not loopback"), std::string::npos) << (*process)->Output();
}

TEST(ServeProcessTest, UnknownConfigKeyIsRefusedNamingIt) {
  TempDir dir;
  const std::string config = dir.File("config.json");
  std::ofstream(config) << R"({"listen":"127.0.0.1:0","heartbeat":5})";
  ServerProcessOptions options{.data = dir.File("store.db"), .args = {"--config", config}};
  auto process = ServerProcess::Spawn(options);
  ASSERT_OK(process);
  auto code = (*process)->WaitExit(15'000);
  ASSERT_OK(code);
  EXPECT_NE(*code, 0);
  EXPECT_NE((*process)->Output().find("heartbeat"), std::string::npos) << (*process)->Output();
}

TEST(ServeProcessTest, FlagsBeatEnvironmentWhichBeatsTheConfigFile) {
  TempDir dir;
  const std::string config = dir.File("config.json");
  // The file's address is unusable: starting proves that a later source replaced it.
  std::ofstream(config) << R"({"listen":"256.0.0.1:5"})";
  {
    ServerProcessOptions env_wins{.data = dir.File("store.db"),
                                  .args = {"--config", config},
                                  .env = {{"TRIAD_LISTEN", "127.0.0.1:0"}},
                                  .listen_on_free_port = false};
    auto server = ServerProcess::Start(env_wins);
    ASSERT_OK(server);
    EXPECT_GT((*server)->port(), 0);
  }
  {
    ServerProcessOptions flag_wins{.data = dir.File("store.db"),
                                   .args = {"--config", config},
                                   .env = {{"TRIAD_LISTEN", "256.0.0.1:6"}},
                                   .listen_on_free_port = true};
    auto server = ServerProcess::Start(flag_wins);
    ASSERT_OK(server);
    auto client = HttpClient::FromUrl((*server)->url());
    ASSERT_OK(client);
    auto health = (*client)->Send("GET", "/health");
    ASSERT_OK(health);
    EXPECT_EQ(health->status, 200);
  }
}

}  // namespace
}  // namespace triad::server
