// The limits of one Lua state: a memory ceiling enforced by its allocator and an instruction
// budget enforced by a count hook, with the flags that tell a limit error from a script error.
//
// Lua reaches the budget through its allocator's user data (lua_getallocf), so C functions
// called by scripts (ctx methods, the hook) find it without globals.
//
// Thread-safety: used only under the owning LuaRuntime's mutex.
#pragma once

#include <cstddef>
#include <cstdint>

#include "scripting/lua.h"

namespace triad::internal {

struct LuaCall;

struct LuaBudget {
  size_t max_memory_bytes = 0;
  size_t used_bytes = 0;
  // Set when the allocator refused a request; reset at the start of each call.
  bool memory_hit = false;

  int64_t max_instructions = 0;
  int64_t executed = 0;
  // Instructions between two hook calls.
  int hook_step = 0;
  // Set when the hook stopped the call; reset at the start of each call.
  bool instructions_hit = false;
  // Set when the hook stopped the call because the engine interrupted it
  // (ProjectionContext::Interrupted); reset at the start of each call.
  bool interrupted = false;

  // What runs ("on_event", "on_tick", "loading the script"), for limit messages.
  const char* phase = "";
  // The call in progress, for the ctx methods; nullptr between calls.
  LuaCall* call = nullptr;

  // Whether a limit or an interruption stopped the call: the script must not go on.
  bool Stopped() const { return memory_hit || instructions_hit || interrupted; }

  // Clears the per-call flags and counters before a call named `what`.
  void StartCall(const char* what, LuaCall* current);
};

// lua_Alloc refusing growth past max_memory_bytes. `ud` is the LuaBudget.
void* BudgetedAlloc(void* ud, void* ptr, size_t osize, size_t nsize);

// Installs the instruction-count hook on `state`. Every hook_step instructions it also checks
// whether the engine interrupted the call.
void InstallInstructionHook(lua_State* state, LuaBudget& budget);

// The budget of `state` (its allocator's user data).
LuaBudget& BudgetOf(lua_State* state);

}  // namespace triad::internal
