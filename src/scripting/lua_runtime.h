// LuaRuntime: one Lua state running one compiled script, and the protected calls into it.
//
// Every entry into Lua goes through lua_pcall of a C trampoline that receives a LuaCall in the
// caller's frame: C++ objects with destructors (JSON, strings, Status) live there or in helper
// frames that return before any Lua API call that can raise, so a Lua error's longjmp never
// skips a destructor.
//
// After a limit is hit the state is closed and rebuilt from the source on the next call: a
// script stopped half-way may have left its upvalues in any shape, and a memory-exhausted state
// may be close to its ceiling.
//
// Thread-safety: OnEvent and OnTick are serialised by a mutex, so the engine worker and fresh
// reads may call them from different threads.
#pragma once

#include "triad/event.h"
#include "triad/lua_projection.h"
#include "triad/projection.h"
#include "triad/result.h"
#include "triad/status.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "scripting/lua.h"
#include "scripting/lua_budget.h"

namespace triad::internal {

// The state of one call into Lua, owned by the C++ frame that makes the protected call.
struct LuaCall {
  // Loading: the script and its chunk name; the declaration and handler references found.
  std::string_view source;
  std::string chunk_name;
  nlohmann::json declaration;
  int event_ref = LUA_NOREF;
  int tick_ref = LUA_NOREF;

  // Handler calls.
  const EventView* event = nullptr;
  nlohmann::json data;
  nlohmann::json metadata;
  int64_t now_us = 0;
  ProjectionContext* ctx = nullptr;
  int handler_ref = LUA_NOREF;

  // Scratch space of the ctx methods.
  nlohmann::json scratch;
  std::string error;
  // The first ctx failure that is not the script's fault (storage): returned with its own code
  // even when the script catches the Lua error, so the engine retries the batch.
  Status failure;
};

class LuaRuntime {
 public:
  // Compiles and runs `source` in a new sandboxed state. `*declaration` receives the returned
  // table without its functions. Errors: kInvalidArgument (syntax, runtime error, no table, no
  // on_event, a value without JSON form), kResourceExhausted (limits while loading).
  static Result<std::unique_ptr<LuaRuntime>> Create(std::string name, std::string source,
                                                    const LuaLimits& limits,
                                                    nlohmann::json* declaration);

  LuaRuntime(const LuaRuntime&) = delete;
  LuaRuntime& operator=(const LuaRuntime&) = delete;
  ~LuaRuntime();

  // Calls on_event(event, ctx). Errors: kInvalidArgument with the Lua message (line included),
  // kResourceExhausted naming the limit, kDataLoss when the event's data is not JSON, the
  // context's storage errors with their own code.
  Status OnEvent(const EventView& event, ProjectionContext& ctx);

  // Calls on_tick(now_us, ctx). Errors: as OnEvent.
  Status OnTick(int64_t now_us, ProjectionContext& ctx);

  bool has_tick() const { return has_tick_; }

 private:
  LuaRuntime(std::string name, std::string source, const LuaLimits& limits);
  // Creates the state and runs the script. REQUIRES: mu_ held or not yet shared.
  Status Open(nlohmann::json* declaration);
  void Close();
  // Runs `body` in a protected call with `call`; `what` names it in messages.
  Status Run(LuaCall& call, lua_CFunction body, const char* what);

  const std::string name_;
  const std::string source_;
  std::mutex mu_;
  LuaBudget budget_;
  lua_State* state_ = nullptr;
  int event_ref_ = LUA_NOREF;
  int tick_ref_ = LUA_NOREF;
  bool has_tick_ = false;
};

}  // namespace triad::internal
