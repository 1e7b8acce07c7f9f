// The environment scripts run in (docs/scripted-projections.md, "Sandbox").
//
// Kept: the base functions that compute (assert, error, ipairs, next, pairs, pcall, rawequal,
// rawget, rawlen, select, setmetatable, getmetatable, tonumber, tostring, type), string, table,
// math without random, utf8, and the `triad` table (null, array, name).
// Dropped: io, os, debug, package, require, load, loadfile, dofile (files and code from outside
// the script), print (no output channel on a server), collectgarbage (the memory limit is
// enforced by the allocator; a script must not tune the collector), xpcall (its handler would
// run while a limit error unwinds), math.random/randomseed (handlers must be deterministic).
// pcall is replaced by one that re-raises limit errors, so a script cannot catch them.
// setmetatable is replaced by one that refuses a metatable with __gc: finalizers run outside
// the instruction limit (Lua turns hooks off while they run).
//
// Thread-safety: functions on one lua_State, under its runtime's mutex.
#pragma once

#include <string_view>

#include "scripting/lua.h"

namespace triad::internal {

// Opens the kept libraries and the `triad` table. Raises Lua errors: call in a protected call.
void OpenSandbox(lua_State* state, std::string_view projection_name);

// Refuses assignments to globals from now on, so that handlers cannot carry state from one
// event to the next by accident (replays and fresh reads would see other values).
// Raises Lua errors: call in a protected call.
void FreezeGlobals(lua_State* state);

}  // namespace triad::internal
