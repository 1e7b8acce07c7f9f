// ScriptedProjections (tools/server/scripted_projections.h): deploy, redeploy of the same source,
// a new version built beside the serving one, explicit versions, files in the folder, and a
// restart that reloads every version from the folder.
#include "server/scripted_projections.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "projections/engine_fixture.h"

namespace triad::testing {
namespace {

using server::ScriptedProjections;

std::string Counter(int step) {
  return R"(
return {
  event_types = {"Deposited"},
  key = "stream",
  collections = {counters = {indexes = {{path = "count", type = "number"}}}},
  on_event = function(e, ctx)
    ctx:update("counters", e.stream, function(d) d.count = (d.count or 0) + )" +
         std::to_string(step) + R"( return d end)
  end,
}
)";
}

class ScriptedProjectionsTest : public EngineTest {
 protected:
  std::string Folder() const { return (dir_.path() / "scripts").string(); }

  std::string ReadFile(const std::string& file) const {
    std::ifstream in(std::filesystem::path(Folder()) / file);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator(Folder())) {
      out.push_back(entry.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(ScriptedProjectionsTest, DeployRedeployNewVersionAndRestart) {
  ScriptedProjections scripts(engine_.get(), Folder(), LuaLimits{});
  ASSERT_OK(scripts.LoadDirectory());
  Append("acct-1", "Deposited");
  Append("acct-1", "Deposited");

  auto v1 = scripts.Deploy("counter", Counter(1), std::nullopt);
  ASSERT_OK(v1);
  EXPECT_EQ(v1->name, "counter");
  EXPECT_EQ(v1->version, 1);
  EXPECT_TRUE(v1->created);
  EXPECT_EQ(ReadFile("counter@1.lua"), Counter(1));
  ASSERT_OK(engine_->RunOnce("counter"));

  auto again = scripts.Deploy("counter", Counter(1), std::nullopt);
  ASSERT_OK(again);
  EXPECT_EQ(again->version, 1);
  EXPECT_FALSE(again->created);

  auto v2 = scripts.Deploy("counter", Counter(10), std::nullopt);
  ASSERT_OK(v2);
  EXPECT_EQ(v2->version, 2);
  EXPECT_TRUE(v2->created);
  EXPECT_EQ(Files(), (std::vector<std::string>{"counter@1.lua", "counter@2.lua"}));
  EXPECT_EQ(scripts.Source("counter", 2), Counter(10));
  EXPECT_EQ(scripts.Source("counter", 3), std::nullopt);
  EXPECT_EQ(scripts.List(),
            (std::vector<std::pair<std::string, int32_t>>{{"counter", 1}, {"counter", 2}}));

  // v2 builds beside v1, which keeps serving until promoted.
  ASSERT_OK(engine_->RunOnce("counter"));  // the newest version: v2
  auto v1_status = engine_->GetStatus("counter", 1);
  ASSERT_OK(v1_status);
  EXPECT_TRUE(v1_status->serving);
  auto v2_status = engine_->GetStatus("counter", 2);
  ASSERT_OK(v2_status);
  EXPECT_FALSE(v2_status->serving);
  EXPECT_EQ(Body("counters", "acct-1"), nlohmann::json({{"count", 2}}));

  // Restart: a new engine on the same stores reloads both versions from the folder.
  ASSERT_OK(OpenEngine());
  ScriptedProjections reloaded(engine_.get(), Folder(), LuaLimits{});
  ASSERT_OK(reloaded.LoadDirectory());
  EXPECT_EQ(reloaded.List(),
            (std::vector<std::pair<std::string, int32_t>>{{"counter", 1}, {"counter", 2}}));
  EXPECT_EQ(reloaded.Source("counter", 1), Counter(1));
  auto status = engine_->GetStatus("counter", 2);
  ASSERT_OK(status);
  EXPECT_TRUE(status->registered);
  ASSERT_OK(engine_->RunOnce("counter"));
  ASSERT_OK(engine_->Promote("counter"));
  EXPECT_EQ(Body("counters", "acct-1"), nlohmann::json({{"count", 20}}));
  // The same source again after the restart changes nothing.
  auto same = reloaded.Deploy("counter", Counter(10), std::nullopt);
  ASSERT_OK(same);
  EXPECT_EQ(same->version, 2);
  EXPECT_FALSE(same->created);
}

TEST_F(ScriptedProjectionsTest, ExplicitVersionsAndErrors) {
  ScriptedProjections scripts(engine_.get(), Folder(), LuaLimits{});
  ASSERT_OK(scripts.LoadDirectory());
  auto v3 = scripts.Deploy("counter", Counter(1), 3);
  ASSERT_OK(v3);
  EXPECT_EQ(v3->version, 3);
  // Same version, other source; a lower version; a script that does not compile.
  EXPECT_ERROR_CODE(scripts.Deploy("counter", Counter(2), 3), kInvalidArgument);
  EXPECT_ERROR_CODE(scripts.Deploy("counter", Counter(2), 2), kInvalidArgument);
  auto broken = scripts.Deploy("counter", "return {\n on_event = = 1 }", std::nullopt);
  ASSERT_ERROR_CODE(broken, kInvalidArgument);
  EXPECT_NE(broken.status().message().find("counter:2:"), std::string::npos)
      << broken.status().ToString();
  EXPECT_ERROR_CODE(scripts.Deploy("../evil", Counter(1), std::nullopt), kInvalidArgument);
  EXPECT_EQ(Files(), std::vector<std::string>{"counter@3.lua"});
  auto same = scripts.Deploy("counter", Counter(1), 3);
  ASSERT_OK(same);
  EXPECT_FALSE(same->created);
}

TEST_F(ScriptedProjectionsTest, VersionsAboveTheMaximumAreRefusedNamingIt) {
  ScriptedProjections scripts(engine_.get(), Folder(), LuaLimits{});
  ASSERT_OK(scripts.LoadDirectory());
  auto huge = scripts.Deploy("counter", Counter(1), 2147483647);
  ASSERT_ERROR_CODE(huge, kInvalidArgument);
  EXPECT_NE(huge.status().message().find(std::to_string(server::kMaxDeployedVersion)),
            std::string::npos)
      << huge.status().ToString();
  EXPECT_ERROR_CODE(scripts.Deploy("counter", Counter(1), server::kMaxDeployedVersion + 1),
                    kInvalidArgument);
  // The maximum itself is fine; after it, "the next version" is refused, not wrapped around.
  auto top = scripts.Deploy("counter", Counter(1), server::kMaxDeployedVersion);
  ASSERT_OK(top);
  EXPECT_EQ(top->version, server::kMaxDeployedVersion);
  auto next = scripts.Deploy("counter", Counter(2), std::nullopt);
  ASSERT_ERROR_CODE(next, kInvalidArgument);
  EXPECT_NE(next.status().message().find(std::to_string(server::kMaxDeployedVersion)),
            std::string::npos)
      << next.status().ToString();
  // Other names are not affected.
  auto other = scripts.Deploy("other", R"(
return {
  event_types = {"Deposited"},
  collections = {others = {}},
  on_event = function(e, ctx) end,
}
)",
                              std::nullopt);
  ASSERT_OK(other);
  EXPECT_EQ(other->version, 1);
  EXPECT_EQ(Files(), (std::vector<std::string>{"counter@1000000.lua", "other@1.lua"}));
}

// The read model in a file, so that a restart finds the retired version.
class PersistentScriptedProjectionsTest : public ScriptedProjectionsTest {
 protected:
  void SetUp() override {
    sqlite_read_model_ = true;
    ScriptedProjectionsTest::SetUp();
  }
};

TEST_F(PersistentScriptedProjectionsTest, RetiredScriptsAreKeptButDoNotStopTheStart) {
  std::filesystem::create_directories(Folder());
  // A hand-written version 1, as scripts/run.sh copies the bank's scripts.
  std::ofstream(std::filesystem::path(Folder()) / "counter.lua") << Counter(1);
  ScriptedProjections scripts(engine_.get(), Folder(), LuaLimits{});
  ASSERT_OK(scripts.LoadDirectory());
  Append("acct-1", "Deposited");
  ASSERT_OK(engine_->RunOnce("counter"));
  auto v2 = scripts.Deploy("counter", Counter(10), std::nullopt);
  ASSERT_OK(v2);
  EXPECT_EQ(v2->version, 2);
  ASSERT_OK(engine_->RunOnce("counter"));
  ASSERT_OK(engine_->Promote("counter"));

  // Restart: version 1 was retired; its script stays in the folder for reference.
  ASSERT_OK(OpenEngine());
  ScriptedProjections reloaded(engine_.get(), Folder(), LuaLimits{});
  ASSERT_OK(reloaded.LoadDirectory());
  EXPECT_EQ(Files(), (std::vector<std::string>{"counter.lua", "counter@2.lua"}));
  EXPECT_EQ(reloaded.Source("counter", 1), Counter(1));
  auto v1_status = engine_->GetStatus("counter", 1);
  ASSERT_OK(v1_status);
  EXPECT_EQ(v1_status->state, ProjectionState::kRetired);
  EXPECT_FALSE(v1_status->registered);
  auto serving = engine_->GetStatus("counter");
  ASSERT_OK(serving);
  EXPECT_EQ(serving->version, 2);
  EXPECT_TRUE(serving->serving);
  EXPECT_TRUE(serving->registered);
  Append("acct-1", "Deposited");
  ASSERT_OK(engine_->RunOnce("counter"));
  EXPECT_EQ(Body("counters", "acct-1"), nlohmann::json({{"count", 20}}));
  // The retired version's number is not given out again.
  auto v3 = reloaded.Deploy("counter", Counter(100), std::nullopt);
  ASSERT_OK(v3);
  EXPECT_EQ(v3->version, 3);
}

TEST_F(ScriptedProjectionsTest, HandWrittenFilesTakeTheirVersionFromTheScript) {
  std::filesystem::create_directories(Folder());
  std::ofstream(std::filesystem::path(Folder()) / "counter.lua")
      << "return {version = 4, collections = {counters = {}}, on_event = function() end}";
  std::ofstream(std::filesystem::path(Folder()) / "notes.txt") << "not a script";
  ScriptedProjections scripts(engine_.get(), Folder(), LuaLimits{});
  ASSERT_OK(scripts.LoadDirectory());
  EXPECT_EQ(scripts.List(), (std::vector<std::pair<std::string, int32_t>>{{"counter", 4}}));
  EXPECT_OK(engine_->GetStatus("counter", 4));
  // The next deploy of another source is version 5.
  auto next = scripts.Deploy("counter", Counter(1), std::nullopt);
  ASSERT_OK(next);
  EXPECT_EQ(next->version, 5);
}

TEST_F(ScriptedProjectionsTest, BrokenFileIsNamed) {
  std::filesystem::create_directories(Folder());
  std::ofstream(std::filesystem::path(Folder()) / "broken@1.lua") << "return {";
  ScriptedProjections scripts(engine_.get(), Folder(), LuaLimits{});
  const Status s = scripts.LoadDirectory();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("broken@1.lua"), std::string::npos) << s.ToString();
}

TEST_F(ScriptedProjectionsTest, WithoutAFolderNothingIsWritten) {
  ScriptedProjections scripts(engine_.get(), "", LuaLimits{});
  ASSERT_OK(scripts.LoadDirectory());
  auto v1 = scripts.Deploy("counter", Counter(1), std::nullopt);
  ASSERT_OK(v1);
  EXPECT_EQ(v1->version, 1);
  EXPECT_FALSE(std::filesystem::exists(Folder()));
}

}  // namespace
}  // namespace triad::testing
