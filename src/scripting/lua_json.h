// JSON <-> Lua values (docs/scripted-projections.md, "JSON mapping").
//
//   JSON object  <-> table with string keys      JSON array <-> sequence 1..n (marked as array)
//   integer      <-> integer subtype             float      <-> float subtype
//   string       <-> string (UTF-8)              true/false <-> boolean
//   null         <-> triad.null
//
// An empty table encodes as {}; triad.array(t) marks a table as an array so that an empty one
// encodes as []. Arrays decoded from JSON carry the mark, so they round-trip.
//
// Thread-safety: functions on one lua_State, under its runtime's mutex.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "scripting/lua.h"

namespace triad::internal {

// Registry keys (light userdata addresses) of the array metatable, and the value of triad.null.
void* ArrayMarkKey();
void* NullSentinel();

// Creates the array metatable in the registry. Call once per state, in a protected call.
void RegisterArrayMark(lua_State* state);

// Pushes `value` as a Lua value. May raise a Lua error (memory, nesting deeper than
// kMaxJsonDepth, which appended events never are): call only inside a
// protected call, from a frame without C++ objects that need destructors.
void PushJson(lua_State* state, const nlohmann::json& value);

// Converts the Lua value at `index` into `*out`. Never raises a Lua error. Returns false with
// `*error` set to a message naming the path of the bad value ("at items[2].price: ...") for NaN or
// infinite numbers, non-string keys, mixed tables, functions, invalid UTF-8 and nesting deeper
// than kMaxJsonDepth levels (triad/event.h; also catches cycles).
bool ToJson(lua_State* state, int index, nlohmann::json* out, std::string* error);

}  // namespace triad::internal
