#include "scripting/lua_sandbox.h"

#include "scripting/lua_budget.h"
#include "scripting/lua_json.h"

namespace triad::internal {
namespace {

// pcall that lets limit errors (and interruptions) through: once a limit is hit the call must
// end, whatever the script catches.
int LimitedPcall(lua_State* state) {
  luaL_checkany(state, 1);
  const int status = lua_pcall(state, lua_gettop(state) - 1, LUA_MULTRET, 0);
  const LuaBudget& budget = BudgetOf(state);
  if (status == LUA_ERRMEM || budget.Stopped()) {
    return lua_error(state);
  }
  luaL_checkstack(state, 1, nullptr);
  lua_pushboolean(state, status == LUA_OK ? 1 : 0);
  lua_insert(state, 1);
  return lua_gettop(state);
}

// triad.array(t): marks `t` (or a new table) as a JSON array, so that it encodes as [] when empty.
int MarkArray(lua_State* state) {
  if (lua_isnoneornil(state, 1)) {
    lua_settop(state, 0);
    lua_newtable(state);
  }
  luaL_checktype(state, 1, LUA_TTABLE);
  lua_settop(state, 1);
  lua_rawgetp(state, LUA_REGISTRYINDEX, ArrayMarkKey());
  lua_setmetatable(state, 1);
  return 1;
}

// setmetatable refusing a metatable with __gc. Lua runs finalizers during collections with hooks
// off, so a finalizer would run outside the instruction limit (and again at lua_close): one
// looping forever would hang the engine. Lua marks a table for finalization only when its
// metatable has __gc at the moment it is set, so adding __gc to the metatable afterwards does
// nothing; the C code of the sandbox sets only its own metatables, which scripts cannot reach.
int SetMetatableWithoutGc(lua_State* state) {
  const int type = lua_type(state, 2);
  luaL_checktype(state, 1, LUA_TTABLE);
  luaL_argexpected(state, type == LUA_TNIL || type == LUA_TTABLE, 2, "nil or table");
  if (type == LUA_TTABLE) {
    lua_pushliteral(state, "__gc");
    if (lua_rawget(state, 2) != LUA_TNIL) {
      return luaL_error(state,
                        "setmetatable: __gc metamethods are not allowed (finalizers would run "
                        "outside the instruction limit)");
    }
    lua_pop(state, 1);
  }
  if (luaL_getmetafield(state, 1, "__metatable") != LUA_TNIL) {
    return luaL_error(state, "cannot change a protected metatable");
  }
  lua_settop(state, 2);
  lua_setmetatable(state, 1);
  return 1;
}

int RefuseGlobal(lua_State* state) {
  return luaL_error(state,
                    "cannot assign global '%s': handlers must not keep state between events "
                    "(use local variables or documents)",
                    luaL_tolstring(state, 2, nullptr));
}

void SetGlobalNil(lua_State* state, const char* name) {
  lua_pushnil(state);
  lua_setglobal(state, name);
}

}  // namespace

void OpenSandbox(lua_State* state, std::string_view projection_name) {
  luaL_requiref(state, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(state, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(state, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(state, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(state, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  lua_pop(state, 5);
  for (const char* name :
       {"dofile", "loadfile", "load", "require", "collectgarbage", "print", "xpcall", "warn"}) {
    SetGlobalNil(state, name);
  }
  lua_pushcfunction(state, LimitedPcall);
  lua_setglobal(state, "pcall");
  lua_pushcfunction(state, SetMetatableWithoutGc);
  lua_setglobal(state, "setmetatable");
  lua_getglobal(state, LUA_MATHLIBNAME);
  lua_pushnil(state);
  lua_setfield(state, -2, "random");
  lua_pushnil(state);
  lua_setfield(state, -2, "randomseed");
  lua_pop(state, 1);

  RegisterArrayMark(state);
  lua_createtable(state, 0, 3);
  lua_pushlightuserdata(state, NullSentinel());
  lua_setfield(state, -2, "null");
  lua_pushcfunction(state, MarkArray);
  lua_setfield(state, -2, "array");
  lua_pushlstring(state, projection_name.data(), projection_name.size());
  lua_setfield(state, -2, "name");
  lua_setglobal(state, "triad");
}

void FreezeGlobals(lua_State* state) {
  // __newindex fires only for absent keys, so the globals move to a backing table read through
  // __index, and the global table itself stays empty.
  lua_pushglobaltable(state);
  const int globals = lua_gettop(state);
  lua_newtable(state);
  const int backing = lua_gettop(state);
  lua_pushnil(state);
  while (lua_next(state, globals) != 0) {
    lua_pushvalue(state, -2);
    lua_insert(state, -2);
    lua_rawset(state, backing);
  }
  lua_pushnil(state);
  while (lua_next(state, backing) != 0) {
    lua_pop(state, 1);
    lua_pushvalue(state, -1);
    lua_pushnil(state);
    lua_rawset(state, globals);
  }
  lua_createtable(state, 0, 3);
  lua_pushvalue(state, backing);
  lua_setfield(state, -2, "__index");
  lua_pushcfunction(state, RefuseGlobal);
  lua_setfield(state, -2, "__newindex");
  lua_pushboolean(state, 0);
  lua_setfield(state, -2, "__metatable");
  lua_setmetatable(state, globals);
  lua_settop(state, globals - 1);
}

}  // namespace triad::internal
