// The `ctx` object handlers receive: ctx:get/put/update/delete/find/now_us over the call's
// ProjectionContext (docs/scripted-projections.md, "The ctx API").
//
// One ctx table per state; its methods find the call in progress through the state's budget, so
// a ctx kept in an upvalue acts on the current call only.
//
// Thread-safety: functions on one lua_State, under its runtime's mutex.
#pragma once

#include "scripting/lua.h"

namespace triad::internal {

// Creates the ctx table in the registry. Raises Lua errors: call in a protected call.
void RegisterContext(lua_State* state);

// Pushes the ctx table. Raises Lua errors: call in a protected call.
void PushContext(lua_State* state);

}  // namespace triad::internal
