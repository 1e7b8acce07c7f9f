#include "scripting/lua_runtime.h"

#include <utility>

#include "scripting/lua_context.h"
#include "scripting/lua_json.h"
#include "scripting/lua_sandbox.h"

namespace triad::internal {
namespace {

// The trampolines run inside lua_pcall with the LuaCall as their only argument. They hold only
// pointers, so a Lua error may unwind them.

LuaCall& CallArg(lua_State* state) { return *static_cast<LuaCall*>(lua_touserdata(state, 1)); }

// Stores the declaration table's function field `key` in the registry.
int RefFunction(lua_State* state, int table, const char* key, bool required) {
  lua_getfield(state, table, key);
  if (lua_isnil(state, -1) && !required) {
    lua_pop(state, 1);
    return LUA_NOREF;
  }
  if (!lua_isfunction(state, -1)) {
    luaL_error(state, "the declaration's %s must be a function, not %s", key,
               luaL_typename(state, -1));
  }
  return luaL_ref(state, LUA_REGISTRYINDEX);
}

int LoadBody(lua_State* state) {
  LuaCall& call = CallArg(state);
  // chunk_name is "=NAME": Lua prints it without the '=' before line numbers.
  OpenSandbox(state, std::string_view(call.chunk_name).substr(1));
  RegisterContext(state);
  if (luaL_loadbufferx(state, call.source.data(), call.source.size(), call.chunk_name.c_str(),
                       "t") != LUA_OK) {
    return lua_error(state);
  }
  lua_call(state, 0, 1);
  if (!lua_istable(state, -1)) {
    return luaL_error(state, "the script must return a table declaring the projection, not %s",
                      luaL_typename(state, -1));
  }
  const int declaration = lua_gettop(state);
  call.event_ref = RefFunction(state, declaration, "on_event", /*required=*/true);
  call.tick_ref = RefFunction(state, declaration, "on_tick", /*required=*/false);
  // A copy without the functions, for the JSON conversion.
  lua_newtable(state);
  lua_pushnil(state);
  while (lua_next(state, declaration) != 0) {
    if (lua_type(state, -2) == LUA_TSTRING) {
      const char* key = lua_tostring(state, -2);
      if (std::string_view(key) == "on_event" || std::string_view(key) == "on_tick") {
        lua_pop(state, 1);
        continue;
      }
    }
    lua_pushvalue(state, -2);
    lua_insert(state, -2);
    lua_rawset(state, -4);
  }
  if (!ToJson(state, -1, &call.declaration, &call.error)) {
    lua_pushstring(state, "the declaration ");
    lua_pushlstring(state, call.error.data(), call.error.size());
    lua_concat(state, 2);
    return lua_error(state);
  }
  FreezeGlobals(state);
  return 0;
}

int EventBody(lua_State* state) {
  LuaCall& call = CallArg(state);
  const EventView& e = *call.event;
  lua_rawgeti(state, LUA_REGISTRYINDEX, call.handler_ref);
  lua_createtable(state, 0, 10);
  const auto set_string = [state](const char* key, std::string_view value) {
    lua_pushlstring(state, value.data(), value.size());
    lua_setfield(state, -2, key);
  };
  const auto set_integer = [state](const char* key, int64_t value) {
    lua_pushinteger(state, value);
    lua_setfield(state, -2, key);
  };
  set_string("id", e.id);
  set_string("stream", e.stream);
  set_integer("version", e.version);
  set_integer("position", e.position);
  set_string("type", e.type);
  set_string("correlation_id", e.correlation_id);
  set_string("causation_id", e.causation_id);
  set_integer("recorded_at_us", e.recorded_at_us);
  PushJson(state, call.data);
  lua_setfield(state, -2, "data");
  PushJson(state, call.metadata);
  lua_setfield(state, -2, "metadata");
  PushContext(state);
  lua_call(state, 2, 0);
  return 0;
}

int TickBody(lua_State* state) {
  LuaCall& call = CallArg(state);
  lua_rawgeti(state, LUA_REGISTRYINDEX, call.handler_ref);
  lua_pushinteger(state, call.now_us);
  PushContext(state);
  lua_call(state, 2, 0);
  return 0;
}

std::string ErrorText(lua_State* state) {
  if (lua_type(state, -1) == LUA_TSTRING) return lua_tostring(state, -1);
  return std::string("(error object is a ") + luaL_typename(state, -1) + " value)";
}

// Event data and metadata are decoded before entering Lua, in this frame, where a JSON
// exception or destructor is harmless.
Result<nlohmann::json> ParseEventJson(std::string_view text, const EventView& e, const char* what) {
  if (text.empty()) return nlohmann::json::object();
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return DataLossError("event at position " + std::to_string(e.position) + ": " + what +
                         " is not JSON");
  }
  return parsed;
}

}  // namespace

LuaRuntime::LuaRuntime(std::string name, std::string source, const LuaLimits& limits)
    : name_(std::move(name)), source_(std::move(source)) {
  budget_.max_memory_bytes = limits.max_memory_bytes;
  budget_.max_instructions = limits.max_instructions_per_call;
}

LuaRuntime::~LuaRuntime() { Close(); }

Result<std::unique_ptr<LuaRuntime>> LuaRuntime::Create(std::string name, std::string source,
                                                       const LuaLimits& limits,
                                                       nlohmann::json* declaration) {
  if (limits.max_instructions_per_call < 1 || limits.max_memory_bytes < size_t{64} * 1024) {
    return InvalidArgumentError(
        "Lua limits: max_instructions_per_call must be >= 1 and max_memory_bytes >= 65536");
  }
  std::unique_ptr<LuaRuntime> runtime(new LuaRuntime(std::move(name), std::move(source), limits));
  if (Status s = runtime->Open(declaration); !s.ok()) return s;
  return runtime;
}

void LuaRuntime::Close() {
  if (state_ != nullptr) lua_close(state_);
  state_ = nullptr;
  event_ref_ = LUA_NOREF;
  tick_ref_ = LUA_NOREF;
}

Status LuaRuntime::Open(nlohmann::json* declaration) {
  Close();
  budget_.used_bytes = 0;
  state_ = lua_newstate(BudgetedAlloc, &budget_);
  if (state_ == nullptr) {
    return ResourceExhaustedError("memory limit of " + std::to_string(budget_.max_memory_bytes) +
                                  " bytes exceeded creating the Lua state");
  }
  lua_setwarnf(state_, nullptr, nullptr);
  InstallInstructionHook(state_, budget_);
  LuaCall call;
  call.source = source_;
  call.chunk_name = "=" + name_;
  Status loaded = Run(call, LoadBody, "loading the script");
  if (!loaded.ok()) {
    Close();
    return loaded;
  }
  event_ref_ = call.event_ref;
  tick_ref_ = call.tick_ref;
  has_tick_ = tick_ref_ != LUA_NOREF;
  if (declaration != nullptr) *declaration = std::move(call.declaration);
  return Status::OK();
}

Status LuaRuntime::Run(LuaCall& call, lua_CFunction body, const char* what) {
  budget_.StartCall(what, &call);
  lua_settop(state_, 0);
  lua_pushcfunction(state_, body);
  lua_pushlightuserdata(state_, &call);
  const int rc = lua_pcall(state_, 1, 0, 0);
  budget_.call = nullptr;
  if (rc == LUA_OK) {
    // A storage failure the script caught with pcall still fails the call.
    if (!call.failure.ok() && call.failure.code() != StatusCode::kInvalidArgument) {
      return call.failure;
    }
    return Status::OK();
  }
  const std::string message = ErrorText(state_);
  lua_settop(state_, 0);
  Status result;
  bool limit = true;
  if (budget_.interrupted) {
    result = CancelledError(std::string(what) +
                            " was interrupted by the engine (stopping, or a pause or reset)");
  } else if (budget_.memory_hit || rc == LUA_ERRMEM) {
    result = ResourceExhaustedError("memory limit of " + std::to_string(budget_.max_memory_bytes) +
                                    " bytes exceeded in " + what);
  } else if (budget_.instructions_hit) {
    result =
        ResourceExhaustedError("instruction limit of " + std::to_string(budget_.max_instructions) +
                               " exceeded in " + what);
  } else if (!call.failure.ok() && call.failure.code() != StatusCode::kInvalidArgument) {
    limit = false;
    result = call.failure;
  } else {
    limit = false;
    result = InvalidArgumentError(std::string(what) + ": " + message);
  }
  // Rebuilt on the next call: see the header.
  if (limit && body != LoadBody) Close();
  return result;
}

Status LuaRuntime::OnEvent(const EventView& event, ProjectionContext& ctx) {
  LuaCall call;
  Result<nlohmann::json> data = ParseEventJson(event.data, event, "data");
  if (!data.ok()) return data.status();
  Result<nlohmann::json> metadata = ParseEventJson(event.metadata, event, "metadata");
  if (!metadata.ok()) return metadata.status();
  call.data = *std::move(data);
  call.metadata = *std::move(metadata);
  call.event = &event;
  call.ctx = &ctx;
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == nullptr) {
    if (Status s = Open(nullptr); !s.ok()) return s;
  }
  call.handler_ref = event_ref_;
  return Run(call, EventBody, "on_event");
}

Status LuaRuntime::OnTick(int64_t now_us, ProjectionContext& ctx) {
  LuaCall call;
  call.now_us = now_us;
  call.ctx = &ctx;
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == nullptr) {
    if (Status s = Open(nullptr); !s.ok()) return s;
  }
  if (tick_ref_ == LUA_NOREF) return Status::OK();
  call.handler_ref = tick_ref_;
  return Run(call, TickBody, "on_tick");
}

}  // namespace triad::internal
