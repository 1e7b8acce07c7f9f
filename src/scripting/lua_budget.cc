#include "scripting/lua_budget.h"

#include <algorithm>
#include <cstdlib>

#include "scripting/lua_runtime.h"

namespace triad::internal {
namespace {

// Once over budget the hook raises on every step, so that a script that catches the error (our
// pcall re-raises it anyway) cannot keep running.
void CountHook(lua_State* state, lua_Debug* /*unused*/) {
  LuaBudget& budget = BudgetOf(state);
  if (budget.interrupted ||
      (budget.call != nullptr && budget.call->ctx != nullptr && budget.call->ctx->Interrupted())) {
    budget.interrupted = true;
    luaL_error(state, "%s was interrupted by the engine", budget.phase);
  }
  budget.executed += budget.hook_step;
  if (budget.executed < budget.max_instructions) return;
  budget.instructions_hit = true;
  luaL_error(state, "instruction limit of %I exceeded in %s",
             static_cast<lua_Integer>(budget.max_instructions), budget.phase);
}

}  // namespace

void LuaBudget::StartCall(const char* what, LuaCall* current) {
  memory_hit = false;
  instructions_hit = false;
  interrupted = false;
  executed = 0;
  phase = what;
  call = current;
}

void* BudgetedAlloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* budget = static_cast<LuaBudget*>(ud);
  // With ptr == nullptr, osize encodes the kind of object, not a size.
  const size_t old_size = ptr == nullptr ? 0 : osize;
  if (nsize == 0) {
    std::free(ptr);  // NOLINT(cppcoreguidelines-no-malloc): Lua's allocator contract
    budget->used_bytes -= old_size;
    return nullptr;
  }
  if (nsize > old_size && budget->used_bytes - old_size + nsize > budget->max_memory_bytes) {
    budget->memory_hit = true;
    return nullptr;
  }
  void* grown = std::realloc(ptr, nsize);  // NOLINT(cppcoreguidelines-no-malloc)
  if (grown == nullptr) return nullptr;
  budget->used_bytes = budget->used_bytes - old_size + nsize;
  return grown;
}

void InstallInstructionHook(lua_State* state, LuaBudget& budget) {
  // A small step keeps the overshoot past the limit small; 10,000 instructions cost one hook
  // call, well under 1% of the time.
  budget.hook_step = static_cast<int>(std::clamp<int64_t>(budget.max_instructions, 1, 10'000));
  lua_sethook(state, CountHook, LUA_MASKCOUNT, budget.hook_step);
}

LuaBudget& BudgetOf(lua_State* state) {
  void* ud = nullptr;
  lua_getallocf(state, &ud);
  return *static_cast<LuaBudget*>(ud);
}

}  // namespace triad::internal
