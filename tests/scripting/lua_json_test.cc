// The JSON <-> Lua mapping (src/scripting/lua_json.h) on a sandboxed state: round trips of
// nested values, integers vs floats, unicode, empty tables and arrays, null; and the values with
// no JSON form refused with their path.
#include "scripting/lua_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "scripting/lua.h"
#include "scripting/lua_sandbox.h"

namespace triad::internal {
namespace {

int OpenForTest(lua_State* state) {
  OpenSandbox(state, "test");
  return 0;
}

int PushForTest(lua_State* state) {
  PushJson(state, *static_cast<const nlohmann::json*>(lua_touserdata(state, 1)));
  return 1;
}

class LuaJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = luaL_newstate();
    lua_pushcfunction(state_, OpenForTest);
    ASSERT_EQ(lua_pcall(state_, 0, 0, 0), LUA_OK);
  }
  void TearDown() override { lua_close(state_); }

  // Evaluates the Lua expression `expression` and converts it; "ERROR: msg" when refused.
  std::string Encode(const std::string& expression) {
    const std::string chunk = "return " + expression;
    if (luaL_dostring(state_, chunk.c_str()) != LUA_OK) {
      std::string message = lua_tostring(state_, -1);
      lua_settop(state_, 0);
      return "LUA: " + message;
    }
    nlohmann::json out;
    std::string error;
    const bool ok = ToJson(state_, -1, &out, &error);
    lua_settop(state_, 0);
    return ok ? out.dump() : "ERROR: " + error;
  }

  // JSON text -> Lua -> JSON text.
  std::string RoundTrip(const std::string& text) {
    const nlohmann::json in = nlohmann::json::parse(text);
    lua_pushcfunction(state_, PushForTest);
    lua_pushlightuserdata(state_, const_cast<nlohmann::json*>(&in));
    EXPECT_EQ(lua_pcall(state_, 1, 1, 0), LUA_OK);
    nlohmann::json out;
    std::string error;
    const bool ok = ToJson(state_, -1, &out, &error);
    lua_settop(state_, 0);
    return ok ? out.dump() : "ERROR: " + error;
  }

  // Pushes JSON `text` as global `v` and evaluates the Lua expression `expression` on it.
  std::string Inspect(const std::string& text, const std::string& expression) {
    const nlohmann::json in = nlohmann::json::parse(text);
    lua_pushcfunction(state_, PushForTest);
    lua_pushlightuserdata(state_, const_cast<nlohmann::json*>(&in));
    EXPECT_EQ(lua_pcall(state_, 1, 1, 0), LUA_OK);
    lua_setglobal(state_, "v");
    const std::string chunk = "return tostring(" + expression + ")";
    EXPECT_EQ(luaL_dostring(state_, chunk.c_str()), LUA_OK) << lua_tostring(state_, -1);
    std::string result = lua_tostring(state_, -1);
    lua_settop(state_, 0);
    return result;
  }

  lua_State* state_ = nullptr;
};

TEST_F(LuaJsonTest, RoundTripsKeepTypesAndStructure) {
  EXPECT_EQ(RoundTrip(R"({"a":{"b":[1,2,{"c":"d"}]},"e":true,"f":null})"),
            R"({"a":{"b":[1,2,{"c":"d"}]},"e":true,"f":null})");
  EXPECT_EQ(RoundTrip(R"({"i":1,"f":1.0,"g":2.5,"big":9007199254740993,"neg":-7})"),
            R"({"big":9007199254740993,"f":1.0,"g":2.5,"i":1,"neg":-7})");
  EXPECT_EQ(RoundTrip(R"({"s":"héllo ✓ 😀","esc":"a\"b\\c\nd"})"),
            R"({"esc":"a\"b\\c\nd","s":"héllo ✓ 😀"})");
  EXPECT_EQ(RoundTrip(R"({"empty_object":{},"empty_array":[],"nested":[[],[[]]]})"),
            R"({"empty_array":[],"empty_object":{},"nested":[[],[[]]]})");
  EXPECT_EQ(RoundTrip("[]"), "[]");
  EXPECT_EQ(RoundTrip("{}"), "{}");
}

TEST_F(LuaJsonTest, LuaSeesIntegersFloatsNullAndArrays) {
  EXPECT_EQ(Inspect(R"({"n":3})", "math.type(v.n)"), "integer");
  EXPECT_EQ(Inspect(R"({"n":3.0})", "math.type(v.n)"), "float");
  EXPECT_EQ(Inspect(R"({"n":null})", "v.n == triad.null"), "true");
  EXPECT_EQ(Inspect(R"({"a":[10,20,30]})", "#v.a .. ':' .. v.a[1] .. ':' .. v.a[3]"), "3:10:30");
  EXPECT_EQ(Inspect(R"({"s":"😀"})", "utf8.len(v.s)"), "1");
}

TEST_F(LuaJsonTest, LuaTablesEncode) {
  EXPECT_EQ(Encode("{b = 1, a = 2.5, c = 'x', d = false}"), R"({"a":2.5,"b":1,"c":"x","d":false})");
  EXPECT_EQ(Encode("{10, 20, {x = 1}}"), R"([10,20,{"x":1}])");
  EXPECT_EQ(Encode("{}"), "{}");
  EXPECT_EQ(Encode("triad.array()"), "[]");
  EXPECT_EQ(Encode("triad.array({1, 2})"), "[1,2]");
  EXPECT_EQ(Encode("{x = triad.null}"), R"({"x":null})");
  EXPECT_EQ(Encode("{n = 3 // 1, f = 3 / 1, big = math.maxinteger}"),
            R"({"big":9223372036854775807,"f":3.0,"n":3})");
}

TEST_F(LuaJsonTest, ValuesWithoutJsonFormAreRefusedWithTheirPath) {
  EXPECT_EQ(Encode("{a = {b = {1, 0/0}}}"), "ERROR: at a.b[2]: NaN or infinite number");
  EXPECT_EQ(Encode("{a = math.huge}"), "ERROR: at a: NaN or infinite number");
  EXPECT_EQ(Encode("{a = {[true] = 1}}"),
            "ERROR: at a: a boolean key in a table with string keys (objects need string keys, "
            "arrays the keys 1..n)");
  EXPECT_EQ(Encode("{a = {1, 2, x = 3}}"),
            "ERROR: at a: a table mixes string keys with a number key (objects need string keys, "
            "arrays the keys 1..n)");
  EXPECT_EQ(Encode("{a = {[1] = 'x', [3] = 'y'}}").substr(0, 28), "ERROR: at a: a number key in");
  EXPECT_EQ(Encode("{f = print or function() end}"),
            "ERROR: at f: a function has no JSON form (use tables, strings, numbers, booleans, "
            "triad.null)");
  EXPECT_EQ(Encode("{s = '\\xff'}"), "ERROR: at s: string is not valid UTF-8");
  EXPECT_EQ(Encode("(function() local t = {} t.self = t return t end)()").substr(0, 40),
            "ERROR: at self.self.self.self.self.self.");
}

}  // namespace
}  // namespace triad::internal
