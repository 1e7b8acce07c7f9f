#include "scripting/lua_context.h"

#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scripting/lua_budget.h"
#include "scripting/lua_json.h"
#include "scripting/lua_runtime.h"

namespace triad::internal {
namespace {

char context_tag;

// The lua_CFunctions below hold only pointers and string_views while they call the Lua API; the
// work with C++ objects (Status, Result, JSON, Query) happens in the Do* helpers, which return
// before anything can raise. A helper returns false after storing the error in call.failure.

bool Record(LuaCall& call, const Status& status) {
  if (call.failure.ok() || call.failure.code() == StatusCode::kInvalidArgument) {
    call.failure = status;
  }
  return false;
}

bool DoGet(LuaCall& call, std::string_view collection, std::string_view id,
           const nlohmann::json** doc) noexcept {
  try {
    Result<const nlohmann::json*> found = call.ctx->Get(collection, id);
    if (!found.ok()) return Record(call, found.status());
    *doc = *found;
    return true;
  } catch (const std::exception& e) {
    return Record(call, InternalError(std::string("ctx:get: ") + e.what()));
  }
}

// Writes call.scratch as the document.
bool DoPut(LuaCall& call, std::string_view collection, std::string_view id) noexcept {
  try {
    if (!call.scratch.is_object()) {
      return Record(call, InvalidArgumentError("the document must be a table encoding to a JSON "
                                               "object, got a JSON " +
                                               std::string(call.scratch.type_name())));
    }
    Result<nlohmann::json*> doc = call.ctx->Upsert(collection, id);
    if (!doc.ok()) return Record(call, doc.status());
    **doc = std::move(call.scratch);
    return true;
  } catch (const std::exception& e) {
    return Record(call, InternalError(std::string("ctx:put: ") + e.what()));
  }
}

bool DoDelete(LuaCall& call, std::string_view collection, std::string_view id) noexcept {
  try {
    Status deleted = call.ctx->Delete(collection, id);
    if (!deleted.ok()) return Record(call, deleted);
    return true;
  } catch (const std::exception& e) {
    return Record(call, InternalError(std::string("ctx:delete: ") + e.what()));
  }
}

Result<FilterOp> ParseOp(const std::string& op) {
  static const std::pair<const char*, FilterOp> kOps[] = {
      {"eq", FilterOp::kEq}, {"==", FilterOp::kEq},        {"ne", FilterOp::kNe},
      {"~=", FilterOp::kNe}, {"lt", FilterOp::kLt},        {"<", FilterOp::kLt},
      {"le", FilterOp::kLe}, {"<=", FilterOp::kLe},        {"gt", FilterOp::kGt},
      {">", FilterOp::kGt},  {"ge", FilterOp::kGe},        {">=", FilterOp::kGe},
      {"in", FilterOp::kIn}, {"prefix", FilterOp::kPrefix}};
  for (const auto& [name, value] : kOps) {
    if (op == name) return value;
  }
  return InvalidArgumentError("unknown operator '" + op +
                              "' (eq ne lt le gt ge in prefix, or == ~= < <= > >=)");
}

Result<FieldValue> ParseValue(const nlohmann::json& value) {
  if (value.is_string()) return FieldValue(value.get<std::string>());
  if (value.is_boolean()) return FieldValue(value.get<bool>());
  if (value.is_number()) return FieldValue(value.get<double>());
  return InvalidArgumentError("a filter value must be a string, number or boolean, got " +
                              std::string(value.type_name()));
}

// {where = {{"field", "op", value}, ...}, order_by = "f", desc = bool, limit = n}
Result<Query> ParseQuery(const nlohmann::json& options) {
  Query query;
  if (!options.is_object()) return InvalidArgumentError("ctx:find options must be a table");
  for (const auto& [key, value] : options.items()) {
    if (key == "where") {
      if (!value.is_array() && !(value.is_object() && value.empty())) {
        return InvalidArgumentError("where must be a list of {field, op, value}");
      }
      for (const nlohmann::json& condition : value) {
        if (!condition.is_array() || condition.size() != 3 || !condition[0].is_string() ||
            !condition[1].is_string()) {
          return InvalidArgumentError("each where condition must be {\"field\", \"op\", value}");
        }
        Filter filter;
        filter.field = condition[0].get<std::string>();
        Result<FilterOp> op = ParseOp(condition[1].get<std::string>());
        if (!op.ok()) return op.status();
        filter.op = *op;
        if (filter.op == FilterOp::kIn) {
          if (!condition[2].is_array()) {
            return InvalidArgumentError("the value of an 'in' condition must be a list");
          }
          for (const nlohmann::json& v : condition[2]) {
            Result<FieldValue> parsed = ParseValue(v);
            if (!parsed.ok()) return parsed.status();
            filter.values.push_back(*std::move(parsed));
          }
        } else {
          Result<FieldValue> parsed = ParseValue(condition[2]);
          if (!parsed.ok()) return parsed.status();
          filter.values.push_back(*std::move(parsed));
        }
        query.filters.push_back(std::move(filter));
      }
    } else if (key == "order_by" && value.is_string()) {
      query.order_by = value.get<std::string>();
    } else if (key == "desc" && value.is_boolean()) {
      query.order = value.get<bool>() ? SortOrder::kDescending : SortOrder::kAscending;
    } else if (key == "limit" && value.is_number_integer() && value.get<int64_t>() > 0) {
      query.limit = value.get<size_t>();
    } else if (key == "after" && value.is_string()) {
      query.after = value.get<std::string>();
    } else if (key == "allow_scan" && value.is_boolean()) {
      query.allow_scan = value.get<bool>();
    } else {
      return InvalidArgumentError("ctx:find: bad or unknown option '" + key +
                                  "' (where, order_by, desc, limit, after, allow_scan)");
    }
  }
  return query;
}

// Runs the query in call.scratch and leaves [{id, doc}, ...] there.
bool DoFind(LuaCall& call, std::string_view collection) noexcept {
  try {
    Result<Query> query = ParseQuery(call.scratch);
    if (!query.ok()) return Record(call, query.status());
    Result<std::vector<Document>> found = call.ctx->Find(collection, *query);
    if (!found.ok()) return Record(call, found.status());
    nlohmann::json out = nlohmann::json::array();
    for (const Document& doc : *found) {
      nlohmann::json body = nlohmann::json::parse(doc.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded()) {
        return Record(call, DataLossError("document " + doc.id + " is not JSON"));
      }
      out.push_back({{"id", doc.id}, {"doc", std::move(body)}});
    }
    call.scratch = std::move(out);
    return true;
  } catch (const std::exception& e) {
    return Record(call, InternalError(std::string("ctx:find: ") + e.what()));
  }
}

// Raises call.failure's message as a Lua error at the script's line.
int RaiseFailure(lua_State* state, const LuaCall& call) {
  luaL_where(state, 1);
  const std::string& message = call.failure.message();
  lua_pushlstring(state, message.data(), message.size());
  lua_concat(state, 2);
  return lua_error(state);
}

// The call in progress, after checking that the method was called as ctx:method(...).
LuaCall& Begin(lua_State* state, const char* method) {
  lua_rawgetp(state, LUA_REGISTRYINDEX, &context_tag);
  if (lua_rawequal(state, 1, -1) == 0) {
    luaL_error(state, "call it as ctx:%s(...), with a colon", method);
  }
  lua_pop(state, 1);
  LuaCall* call = BudgetOf(state).call;
  if (call == nullptr || call->ctx == nullptr) {
    luaL_error(state, "ctx:%s is only available while a handler runs", method);
    std::abort();  // not reached: luaL_error does not return
  }
  return *call;
}

std::string_view CheckString(lua_State* state, int index) {
  size_t size = 0;
  const char* data = luaL_checklstring(state, index, &size);
  return {data, size};
}

// Converts the value at `index` into call.scratch, raising a Lua error naming `what` if it has
// no JSON form.
void ScratchFromLua(lua_State* state, LuaCall& call, int index, const char* what) {
  if (!ToJson(state, index, &call.scratch, &call.error)) {
    luaL_where(state, 1);
    lua_pushstring(state, what);
    lua_pushstring(state, ": ");
    lua_pushlstring(state, call.error.data(), call.error.size());
    lua_concat(state, 4);
    lua_error(state);
  }
}

int CtxGet(lua_State* state) {
  LuaCall& call = Begin(state, "get");
  const std::string_view collection = CheckString(state, 2);
  const std::string_view id = CheckString(state, 3);
  const nlohmann::json* doc = nullptr;
  if (!DoGet(call, collection, id, &doc)) return RaiseFailure(state, call);
  if (doc == nullptr) {
    lua_pushnil(state);
  } else {
    PushJson(state, *doc);
  }
  return 1;
}

int CtxPut(lua_State* state) {
  LuaCall& call = Begin(state, "put");
  const std::string_view collection = CheckString(state, 2);
  const std::string_view id = CheckString(state, 3);
  luaL_checktype(state, 4, LUA_TTABLE);
  ScratchFromLua(state, call, 4, "ctx:put document");
  if (!DoPut(call, collection, id)) return RaiseFailure(state, call);
  return 0;
}

int CtxUpdate(lua_State* state) {
  LuaCall& call = Begin(state, "update");
  const std::string_view collection = CheckString(state, 2);
  const std::string_view id = CheckString(state, 3);
  luaL_checktype(state, 4, LUA_TFUNCTION);
  lua_settop(state, 4);
  const nlohmann::json* doc = nullptr;
  if (!DoGet(call, collection, id, &doc)) return RaiseFailure(state, call);
  if (doc == nullptr) {
    lua_newtable(state);
  } else {
    PushJson(state, *doc);  // index 5: the copy the function may change in place
  }
  lua_pushvalue(state, 4);
  lua_pushvalue(state, 5);
  lua_call(state, 1, 1);  // index 6
  const int result = lua_isnil(state, 6) ? 5 : 6;
  if (lua_type(state, result) != LUA_TTABLE) {
    return luaL_error(state, "the ctx:update function must return the document (a table), not %s",
                      luaL_typename(state, result));
  }
  ScratchFromLua(state, call, result, "ctx:update document");
  if (!DoPut(call, collection, id)) return RaiseFailure(state, call);
  lua_pushvalue(state, result);
  return 1;
}

int CtxDelete(lua_State* state) {
  LuaCall& call = Begin(state, "delete");
  const std::string_view collection = CheckString(state, 2);
  const std::string_view id = CheckString(state, 3);
  if (!DoDelete(call, collection, id)) return RaiseFailure(state, call);
  return 0;
}

int CtxFind(lua_State* state) {
  LuaCall& call = Begin(state, "find");
  const std::string_view collection = CheckString(state, 2);
  if (lua_isnoneornil(state, 3)) {
    lua_settop(state, 2);
    lua_newtable(state);
  }
  luaL_checktype(state, 3, LUA_TTABLE);
  ScratchFromLua(state, call, 3, "ctx:find options");
  if (!DoFind(call, collection)) return RaiseFailure(state, call);
  PushJson(state, call.scratch);
  return 1;
}

int CtxNowUs(lua_State* state) {
  LuaCall& call = Begin(state, "now_us");
  lua_pushinteger(state, call.ctx->NowMicros());
  return 1;
}

int RefuseWrite(lua_State* state) { return luaL_error(state, "ctx is read-only"); }

}  // namespace

void RegisterContext(lua_State* state) {
  static const luaL_Reg kMethods[] = {
      {"get", CtxGet},   {"put", CtxPut},      {"update", CtxUpdate}, {"delete", CtxDelete},
      {"find", CtxFind}, {"now_us", CtxNowUs}, {nullptr, nullptr}};
  // ctx is an empty table reading its methods through __index and refusing writes, so that a
  // handler cannot replace a method for the events after it.
  lua_newtable(state);
  lua_createtable(state, 0, 3);
  luaL_newlib(state, kMethods);
  lua_setfield(state, -2, "__index");
  lua_pushcfunction(state, RefuseWrite);
  lua_setfield(state, -2, "__newindex");
  lua_pushboolean(state, 0);
  lua_setfield(state, -2, "__metatable");
  lua_setmetatable(state, -2);
  lua_rawsetp(state, LUA_REGISTRYINDEX, &context_tag);
}

void PushContext(lua_State* state) { lua_rawgetp(state, LUA_REGISTRYINDEX, &context_tag); }

}  // namespace triad::internal
