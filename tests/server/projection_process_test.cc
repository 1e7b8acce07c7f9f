// The projection lifecycle of a real `triad serve` started as scripts/run.sh starts it (the bank's
// Lua projections copied into the store's scripts folder): blue/green deploy, actions on the
// serving version by default and on others with ?version=, promote, a restart after it (the
// promoted version serves; the retired script stays in the folder), no lag exported for the
// retired version, and skip for a projection faulted by a bad event.
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "server/http_client.h"
#include "support/server_process.h"

namespace triad::server {
namespace {

using testing::ServerProcess;
using triad::testing::TempDir;
using Json = nlohmann::json;

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class ProjectionProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.File("triad-demo.db");
    scripts_ = data_ + ".scripts";
    fs::create_directories(scripts_);
    for (const auto& entry :
         fs::directory_iterator(fs::path(TRIAD_SOURCE_DIR) / "examples" / "bank" / "projections")) {
      if (entry.path().extension() == ".lua") {
        fs::copy_file(entry.path(), fs::path(scripts_) / entry.path().filename());
      }
    }
    Start();
  }

  void Start() {
    auto server = ServerProcess::Start({.data = data_,
                                        .args = {"--scripts", scripts_, "--log-level", "warn"},
                                        .log_file = dir_.File("server.log")});
    ASSERT_OK(server);
    server_ = std::move(*server);
    auto client = HttpClient::FromUrl(server_->url(), {.request_timeout_ms = 20'000});
    ASSERT_OK(client);
    client_ = std::move(*client);
  }

  // SIGTERM, and the exit code.
  int Stop() {
    client_.reset();
    server_->Signal(SIGTERM);
    auto code = server_->WaitExit(30'000);
    EXPECT_OK(code);
    return code.ok() ? *code : -1;
  }

  ClientResponse Send(const std::string& method, const std::string& target,
                      const std::string& body = "") {
    auto response = client_->Send(method, target, body);
    EXPECT_OK(response);
    return response.ok() ? *response : ClientResponse{};
  }

  Json SendJson(const std::string& method, const std::string& target, int want,
                const std::string& body = "") {
    const ClientResponse response = Send(method, target, body);
    EXPECT_EQ(response.status, want) << method << " " << target << ": " << response.body;
    return Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  }

  void AppendEvent(const std::string& stream, const std::string& type, const Json& data) {
    Json body = {{"events", Json::array({{{"type", type}, {"data", data}}})}};
    SendJson("POST", "/streams/" + stream, 201, body.dump());
  }

  // The "error" object of an error body (empty when there is none).
  static Json ErrorOf(const Json& body) {
    return body.is_object() && body.contains("error") && body["error"].is_object() ? body["error"]
                                                                                   : Json::object();
  }

  // The status of name@version from GET /projections/{name} (null when absent).
  Json Version(const std::string& name, int version) {
    Json list = SendJson("GET", "/projections/" + name, 200);
    for (const Json& status : list["projections"]) {
      if (status["version"] == version) return status;
    }
    return nullptr;
  }

  // Polls name@version until `ok(status)`, for up to 20 s.
  template <typename Pred>
  bool EventuallyStatus(const std::string& name, int version, Pred ok) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      Json status = Version(name, version);
      if (!status.is_null() && ok(status)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  TempDir dir_;
  std::string data_;
  std::string scripts_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(ProjectionProcessTest, PromotedVersionServesAfterARestart) {
  AppendEvent("account-1", "AccountOpened", {{"account_id", "1"}, {"owner", "ada"}});
  AppendEvent("account-1", "MoneyDeposited", {{"amount_cents", 2500}});

  // accounts_v2.lua: the bank's script with one more field.
  std::string v2 = ReadText(fs::path(scripts_) / "accounts.lua");
  const std::string anchor = "status = \"open\",";
  ASSERT_NE(v2.find(anchor), std::string::npos);
  v2.replace(v2.find(anchor), anchor.size(), anchor + " generation = 2,");
  Json deployed = SendJson("PUT", "/projections/accounts", 201, Json{{"source", v2}}.dump());
  EXPECT_EQ(deployed["version"], 2);
  ASSERT_TRUE(
      EventuallyStatus("accounts", 2, [](const Json& s) { return s["state"] == "caught_up"; }));

  // Actions act on the serving version unless ?version= names another.
  Json paused = SendJson("POST", "/projections/accounts/pause", 200);
  EXPECT_EQ(paused["version"], 1);
  EXPECT_EQ(paused["state"], "paused");
  EXPECT_NE(Version("accounts", 2)["state"], "paused");
  paused = SendJson("POST", "/projections/accounts/pause?version=2", 200);
  EXPECT_EQ(paused["version"], 2);
  EXPECT_EQ(SendJson("POST", "/projections/accounts/resume?version=2", 200)["version"], 2);
  EXPECT_EQ(SendJson("POST", "/projections/accounts/resume", 200)["version"], 1);
  ASSERT_TRUE(
      EventuallyStatus("accounts", 2, [](const Json& s) { return s["state"] == "caught_up"; }));

  Json promoted = SendJson("POST", "/projections/accounts/promote", 200);
  EXPECT_EQ(promoted["version"], 2);
  EXPECT_EQ(promoted["serving"], true);

  // The retired version: actions refused, no lag exported (it would only raise alerts).
  Json refused = SendJson("POST", "/projections/accounts/resume?version=1", 409);
  EXPECT_EQ(ErrorOf(refused).value("code", ""), "failed_precondition");
  EXPECT_NE(ErrorOf(refused).value("message", "").find("retired"), std::string::npos);
  EXPECT_EQ(Version("accounts", 1)["state"], "retired");
  const ClientResponse metrics = Send("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("projection=\"accounts@1\""), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("triad_projection_lag_events{projection=\"accounts@2\"} 0"),
            std::string::npos)
      << metrics.body;

  ASSERT_EQ(Stop(), 0);
  Start();  // refused before: "projection accounts@1 was retired"
  ASSERT_NE(server_, nullptr);
  EXPECT_TRUE(fs::exists(fs::path(scripts_) / "accounts.lua"));  // kept for reference
  Json v1 = Version("accounts", 1);
  EXPECT_EQ(v1["state"], "retired");
  EXPECT_EQ(v1["serving"], false);
  Json serving = Version("accounts", 2);
  EXPECT_EQ(serving["serving"], true);
  EXPECT_EQ(serving["registered"], true);
  AppendEvent("account-1", "MoneyDeposited", {{"amount_cents", 500}});
  Json doc =
      SendJson("GET", "/collections/accounts/docs/account-1?min_position=3&wait_ms=10000", 200);
  EXPECT_EQ(doc["document"]["balance_cents"], 3000);
  EXPECT_EQ(doc["document"]["generation"], 2);
  EXPECT_EQ(doc["document"]["_meta"]["projection"], "accounts@2");
  EXPECT_EQ(Stop(), 0);
}

TEST_F(ProjectionProcessTest, SkipGetsAFaultedProjectionPastABadEvent) {
  AppendEvent("account-1", "AccountOpened",
              {{"account_id", "1"}, {"owner", "ada"}, {"branch", "north"}});
  // `amount`, where the bank's projections need `amount_cents`: both fault on it.
  AppendEvent("account-1", "MoneyDeposited", {{"amount", 100}});
  AppendEvent("account-1", "MoneyDeposited", {{"amount_cents", 100}});
  for (const std::string name : {"accounts", "branch_totals"}) {
    ASSERT_TRUE(EventuallyStatus(name, 1, [](const Json& s) { return s["state"] == "faulted"; }))
        << name;
    EXPECT_EQ(Version(name, 1)["last_error_position"], 2) << name;
    // Skip gets past it, without a new version.
    Json skipped = SendJson("POST", "/projections/" + name + "/skip", 200);
    EXPECT_GE(skipped["checkpoint"].get<int64_t>(), 2) << name;
    EXPECT_NE(skipped["state"], "faulted") << name;
    ASSERT_TRUE(EventuallyStatus(name, 1, [](const Json& s) {
      return s["state"] == "caught_up" && s["checkpoint"] == 3;
    })) << name;
    Json letters = SendJson("GET", "/projections/" + name + "/dead_letters", 200);
    ASSERT_EQ(letters["dead_letters"].size(), 1u) << name;
    EXPECT_EQ(letters["dead_letters"][0]["position"], 2);
    EXPECT_EQ(letters["dead_letters"][0]["kind"], "skipped");
    EXPECT_EQ(letters["dead_letters"][0]["type"], "MoneyDeposited");
  }
  Json account = SendJson("GET", "/collections/accounts/docs/account-1", 200);
  EXPECT_EQ(account["document"]["balance_cents"], 100);
  Json branch = SendJson("GET", "/collections/branch_totals/docs/north", 200);
  EXPECT_EQ(branch["document"]["balance_cents"], 100);
  // Nothing to skip now.
  Json refused = SendJson("POST", "/projections/accounts/skip", 409);
  EXPECT_EQ(ErrorOf(refused).value("code", ""), "failed_precondition");
  EXPECT_EQ(Stop(), 0);
}

}  // namespace
}  // namespace triad::server
