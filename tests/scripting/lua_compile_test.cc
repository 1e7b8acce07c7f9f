// CompileLuaProjection: the declaration mapped onto ProjectionDefinition, and every way a script
// can be refused (syntax with its line, missing on_event, bad or unknown keys, name/version
// disagreements, the sandbox, limits while loading).
#include "testing/test_util.h"

#include "triad/lua_projection.h"

#include <gtest/gtest.h>

#include <string>

namespace triad::testing {
namespace {

constexpr const char* kMinimal = R"(
return {
  collections = {things = {}},
  on_event = function(e, ctx) end,
}
)";

// The message of a failed compile of `source` as projection "p" version 1, with its code.
Status CompileError(const std::string& source, int32_t version = 1, const LuaLimits& limits = {}) {
  auto def = CompileLuaProjection("p", version, source, limits);
  if (def.ok()) return Status::OK();
  return def.status();
}

TEST(LuaCompileTest, DeclarationMapsOntoTheDefinition) {
  auto def = CompileLuaProjection("owners", 2, R"(
return {
  event_types = {"AccountOpened", "MoneyDeposited"},
  categories = {"account"},
  key = "stream",
  error_policy = "dead_letter",
  trigger = "manual",
  record_sources = false,
  batch_size = 50,
  collections = { accounts = { indexes = {
    {path = "owner", type = "string"}, {path = "balance_cents", type = "number"},
    {path = "flags.open", type = "bool"} } } },
  on_event = function(event, ctx) end,
  on_tick = function(now_us, ctx) end,
  tick_interval_ms = 3600000,
}
)");
  ASSERT_OK(def);
  EXPECT_EQ(def->name, "owners");
  EXPECT_EQ(def->version, 2);
  EXPECT_EQ(def->event_types, (std::vector<std::string>{"AccountOpened", "MoneyDeposited"}));
  EXPECT_EQ(def->categories, std::vector<std::string>{"account"});
  EXPECT_EQ(def->key, DocumentKey::kStream);
  EXPECT_EQ(def->error_policy, ErrorPolicy::kDeadLetter);
  EXPECT_EQ(def->trigger, TriggerMode::kManual);
  EXPECT_FALSE(def->record_sources);
  EXPECT_EQ(def->batch_size, 50u);
  EXPECT_EQ(def->tick_interval_us, int64_t{3600} * 1'000'000);
  EXPECT_TRUE(def->on_event);
  EXPECT_TRUE(def->on_tick);
  ASSERT_EQ(def->collections.size(), 1u);
  EXPECT_EQ(def->collections[0].name, "accounts");
  ASSERT_EQ(def->collections[0].indexes.size(), 3u);
  EXPECT_EQ(def->collections[0].indexes[0].field, "owner");
  EXPECT_EQ(def->collections[0].indexes[0].type, IndexType::kString);
  EXPECT_EQ(def->collections[0].indexes[1].field, "balance_cents");
  EXPECT_EQ(def->collections[0].indexes[1].type, IndexType::kNumber);
  EXPECT_EQ(def->collections[0].indexes[2].field, "flags.open");
  EXPECT_EQ(def->collections[0].indexes[2].type, IndexType::kBool);
}

TEST(LuaCompileTest, DefaultsMatchTheCppDefaults) {
  auto def = CompileLuaProjection("p", 1, kMinimal);
  ASSERT_OK(def);
  EXPECT_TRUE(def->event_types.empty());
  EXPECT_TRUE(def->categories.empty());
  EXPECT_EQ(def->key, DocumentKey::kHandlerChosen);
  EXPECT_EQ(def->error_policy, ErrorPolicy::kStop);
  EXPECT_EQ(def->trigger, TriggerMode::kPush);
  EXPECT_TRUE(def->record_sources);
  EXPECT_FALSE(def->on_tick);
  EXPECT_EQ(def->tick_interval_us, 0);
}

TEST(LuaCompileTest, SyntaxErrorReportsTheLine) {
  const Status s =
      CompileError("return {\n  on_event = function(e, ctx)\n    x = = 1\n  end,\n}\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("p:3:"), std::string::npos) << s.ToString();
}

TEST(LuaCompileTest, RuntimeErrorWhileLoadingReportsTheLine) {
  const Status s = CompileError("local x = nil\nreturn x.field\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("p:2:"), std::string::npos) << s.ToString();
}

TEST(LuaCompileTest, ScriptMustReturnATableWithOnEvent) {
  Status s = CompileError("return 42");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("must return a table"), std::string::npos) << s.ToString();
  s = CompileError("return {collections = {things = {}}}");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("on_event must be a function, not nil"), std::string::npos)
      << s.ToString();
}

TEST(LuaCompileTest, UnknownKeysAreNamed) {
  const Status s = CompileError(R"(return {
    collections = {things = {}}, categorys = {"account"}, colour = "red",
    on_event = function() end })");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown keys 'categorys', 'colour'"), std::string::npos)
      << s.ToString();
}

TEST(LuaCompileTest, BadCollectionsAndIndexesAreNamed) {
  Status s = CompileError("return {on_event = function() end}");
  EXPECT_NE(s.message().find("'collections' must be"), std::string::npos) << s.ToString();
  s = CompileError(R"(return {collections = {things = {indexes = {{path = "at", type = "date"}}}},
    on_event = function() end})");
  EXPECT_NE(s.message().find("'collections.things.indexes[1].type' must be one of"),
            std::string::npos)
      << s.ToString();
  s = CompileError(
      R"(return {collections = {things = {indexes = {{path = "a..b", type = "string"}}}},
    on_event = function() end})");
  EXPECT_NE(s.message().find("collections.things.indexes[1].path"), std::string::npos)
      << s.ToString();
  s = CompileError(R"(return {collections = {things = {index = {}}}, on_event = function() end})");
  EXPECT_NE(s.message().find("unknown key 'index' in collections.things"), std::string::npos)
      << s.ToString();
  s = CompileError(R"(return {collections = {["Bad Name"] = {}}, on_event = function() end})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("collection name 'Bad Name'"), std::string::npos) << s.ToString();
  s = CompileError(
      R"(return {collections = {things = {}}, key = "row", on_event = function() end})");
  EXPECT_NE(s.message().find("'key' must be one of \"stream\" \"handler\", not \"row\""),
            std::string::npos)
      << s.ToString();
}

TEST(LuaCompileTest, TickNeedsBothHandlerAndInterval) {
  Status s = CompileError(R"(return {collections = {t = {}}, on_event = function() end,
    on_tick = function() end})");
  EXPECT_NE(s.message().find("on_tick needs tick_interval_ms"), std::string::npos) << s.ToString();
  s = CompileError(R"(return {collections = {t = {}}, on_event = function() end,
    tick_interval_ms = 1000})");
  EXPECT_NE(s.message().find("tick_interval_ms is set without on_tick"), std::string::npos)
      << s.ToString();
}

TEST(LuaCompileTest, NameAndVersionMustAgree) {
  const std::string body = "collections = {t = {}}, on_event = function() end";
  Status s = CompileError("return {name = \"other\", " + body + "}");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("name 'other' disagrees"), std::string::npos) << s.ToString();
  s = CompileError("return {version = 3, " + body + "}", 2);
  EXPECT_NE(s.message().find("version 3 disagrees"), std::string::npos) << s.ToString();
  EXPECT_OK(CompileError("return {name = \"p\", version = 2, " + body + "}", 2));
  // Version 0: the script's own version (a hand-written file), default 1.
  auto def = CompileLuaProjection("p", 0, "return {version = 3, " + body + "}");
  ASSERT_OK(def);
  EXPECT_EQ(def->version, 3);
  def = CompileLuaProjection("p", 0, "return {" + body + "}");
  ASSERT_OK(def);
  EXPECT_EQ(def->version, 1);
  EXPECT_ERROR_CODE(CompileLuaProjection("Not-A-Name", 1, kMinimal), kInvalidArgument);
}

TEST(LuaCompileTest, SandboxHasNoWayOut) {
  EXPECT_OK(CompileError(R"(
    for _, name in ipairs({"io", "os", "debug", "package", "require", "load", "loadfile",
                           "dofile", "collectgarbage", "print", "xpcall"}) do
      assert(_G[name] == nil, name .. " is reachable")
    end
    assert(math.random == nil, "math.random is reachable")
    assert(string.format("%d", 7) == "7" and table.concat({1, 2}, ",") == "1,2")
    assert(utf8.len("héllo") == 5 and math.floor(2.5) == 2)
    assert(triad.name == "p")
    return {collections = {t = {}}, on_event = function() end}
  )"));
  // Binary chunks are refused even if a script got hold of a loader.
  const Status s = CompileError(std::string("\x1bLua", 4));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
}

TEST(LuaCompileTest, LimitsApplyWhileLoading) {
  LuaLimits limits;
  limits.max_instructions_per_call = 100'000;
  Status s = CompileError("while true do end", 1, limits);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("instruction limit of 100000 exceeded in loading the script"),
            std::string::npos)
      << s.ToString();
  limits = LuaLimits{};
  limits.max_memory_bytes = 1 << 20;
  s = CompileError("local t = {} for i = 1, 1e9 do t[i] = i end", 1, limits);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("memory limit of 1048576 bytes exceeded"), std::string::npos)
      << s.ToString();
}

}  // namespace
}  // namespace triad::testing
