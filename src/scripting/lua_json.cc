#include "scripting/lua_json.h"

#include "triad/event.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace triad::internal {
namespace {

char array_mark_tag;
char null_tag;

// Documents are served as JSON text, which must be UTF-8; refusing bad bytes here names the
// field instead of failing later at commit.
bool ValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    const uint32_t min_code = extra == 1 ? 0x80 : extra == 2 ? 0x800 : 0x10000;
    if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

std::string KeySegment(std::string_view key) { return "." + std::string(key); }
std::string IndexSegment(lua_Integer index) { return "[" + std::to_string(index) + "]"; }

// Prefixes the path of a failure as it unwinds: "at a.b[2]: ..." is assembled innermost first.
bool Fail(std::string* error, const std::string& what) {
  *error = what;
  return false;
}

bool HasArrayMark(lua_State* state, int index) {
  if (lua_getmetatable(state, index) == 0) return false;
  lua_rawgetp(state, LUA_REGISTRYINDEX, ArrayMarkKey());
  const bool marked = lua_rawequal(state, -1, -2) != 0;
  lua_pop(state, 2);
  return marked;
}

bool Convert(lua_State* state, int index, int depth, nlohmann::json* out, std::string* path,
             std::string* error);

bool ConvertTable(lua_State* state, int index, int depth, nlohmann::json* out, std::string* path,
                  std::string* error) {
  // `depth` tables enclose this one: it is level depth + 1.
  if (depth >= kMaxJsonDepth) {
    return Fail(error, "tables nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels (a table containing itself?)");
  }
  if (lua_checkstack(state, 4) == 0) return Fail(error, "Lua stack exhausted");
  // One pass decides array or object: an array has only the integer keys 1..n.
  const lua_Unsigned length = lua_rawlen(state, index);
  lua_Integer count = 0;
  bool all_sequence = true;
  bool string_keys = false;
  lua_pushnil(state);
  while (lua_next(state, index) != 0) {
    ++count;
    string_keys = string_keys || lua_type(state, -2) == LUA_TSTRING;
    if (lua_isinteger(state, -2) == 0) {
      all_sequence = false;
    } else {
      const lua_Integer key = lua_tointeger(state, -2);
      if (key < 1 || static_cast<lua_Unsigned>(key) > length) all_sequence = false;
    }
    lua_pop(state, 1);
  }
  const bool marked = HasArrayMark(state, index);
  const bool is_array = all_sequence && (count > 0 || marked);
  if (is_array) {
    *out = nlohmann::json::array();
    for (lua_Integer i = 1; i <= count; ++i) {
      lua_rawgeti(state, index, i);
      out->push_back(nullptr);
      const bool ok = Convert(state, lua_gettop(state), depth + 1, &out->back(), path, error);
      lua_pop(state, 1);
      if (!ok) {
        path->insert(0, IndexSegment(i));
        return false;
      }
    }
    return true;
  }
  if (marked && count > 0) return Fail(error, "a table marked as array has non-sequence keys");
  *out = nlohmann::json::object();
  lua_pushnil(state);
  while (lua_next(state, index) != 0) {
    if (lua_type(state, -2) != LUA_TSTRING) {
      const char* type_name = luaL_typename(state, -2);
      lua_pop(state, 2);
      if (string_keys) {
        return Fail(error, std::string("a table mixes string keys with a ") + type_name +
                               " key (objects need string keys, arrays the keys 1..n)");
      }
      return Fail(error, std::string("a ") + type_name +
                             " key in a table with string keys (objects need string keys, "
                             "arrays the keys 1..n)");
    }
    size_t key_size = 0;
    const char* key_data = lua_tolstring(state, -2, &key_size);
    const std::string_view key(key_data, key_size);
    if (!ValidUtf8(key)) {
      lua_pop(state, 2);
      return Fail(error, "a key is not valid UTF-8");
    }
    nlohmann::json& member = (*out)[std::string(key)];
    if (!Convert(state, lua_gettop(state), depth + 1, &member, path, error)) {
      path->insert(0, KeySegment(key));
      lua_pop(state, 2);
      return false;
    }
    lua_pop(state, 1);
  }
  return true;
}

bool Convert(lua_State* state, int index, int depth, nlohmann::json* out, std::string* path,
             std::string* error) {
  switch (lua_type(state, index)) {
    case LUA_TBOOLEAN:
      *out = lua_toboolean(state, index) != 0;
      return true;
    case LUA_TNUMBER: {
      if (lua_isinteger(state, index) != 0) {
        *out = static_cast<int64_t>(lua_tointeger(state, index));
        return true;
      }
      const double number = lua_tonumber(state, index);
      if (!std::isfinite(number)) return Fail(error, "NaN or infinite number");
      *out = number;
      return true;
    }
    case LUA_TSTRING: {
      size_t size = 0;
      const char* data = lua_tolstring(state, index, &size);
      if (!ValidUtf8({data, size})) return Fail(error, "string is not valid UTF-8");
      *out = std::string(data, size);
      return true;
    }
    case LUA_TTABLE:
      return ConvertTable(state, index, depth, out, path, error);
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(state, index) == NullSentinel()) {
        *out = nullptr;
        return true;
      }
      break;
    default:
      break;
  }
  return Fail(error, std::string("a ") + luaL_typename(state, index) +
                         " has no JSON form (use tables, strings, numbers, booleans, triad.null)");
}

}  // namespace

void* ArrayMarkKey() { return &array_mark_tag; }
void* NullSentinel() { return &null_tag; }

void RegisterArrayMark(lua_State* state) {
  lua_createtable(state, 0, 2);
  lua_pushliteral(state, "array");
  lua_setfield(state, -2, "__name");
  // Out of the scripts' reach (getmetatable answers false): a script that could add __gc to it
  // would have every array marked for finalization (lua_sandbox.h).
  lua_pushboolean(state, 0);
  lua_setfield(state, -2, "__metatable");
  lua_rawsetp(state, LUA_REGISTRYINDEX, ArrayMarkKey());
}

namespace {

// Locals are pointers and trivially destructible iterators only: a Lua error (memory) may
// longjmp out of any frame of this recursion.
// `depth` containers enclose `value`. The bound is the store's (appends deeper than it are
// refused), so every event's data can be pushed; it also keeps this recursion's C stack small.
void PushAt(lua_State* state, const nlohmann::json& value, int depth) {
  if (value.is_structured() && depth >= kMaxJsonDepth) {
    luaL_error(state, "JSON nested deeper than %d levels", kMaxJsonDepth);
  }
  luaL_checkstack(state, 4, "JSON nested too deeply");
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      lua_pushlightuserdata(state, NullSentinel());
      return;
    case nlohmann::json::value_t::boolean:
      lua_pushboolean(state, value.get<bool>() ? 1 : 0);
      return;
    case nlohmann::json::value_t::number_integer:
      lua_pushinteger(state, value.get<int64_t>());
      return;
    case nlohmann::json::value_t::number_unsigned: {
      const auto number = value.get<uint64_t>();
      if (number <= static_cast<uint64_t>(std::numeric_limits<lua_Integer>::max())) {
        lua_pushinteger(state, static_cast<lua_Integer>(number));
      } else {
        lua_pushnumber(state, static_cast<lua_Number>(number));
      }
      return;
    }
    case nlohmann::json::value_t::number_float:
      lua_pushnumber(state, value.get<double>());
      return;
    case nlohmann::json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      lua_pushlstring(state, text.data(), text.size());
      return;
    }
    case nlohmann::json::value_t::array: {
      const auto& items = value.get_ref<const nlohmann::json::array_t&>();
      lua_createtable(state, static_cast<int>(items.size()), 0);
      lua_Integer i = 0;
      for (auto it = items.begin(); it != items.end(); ++it) {
        PushAt(state, *it, depth + 1);
        lua_rawseti(state, -2, ++i);
      }
      lua_rawgetp(state, LUA_REGISTRYINDEX, ArrayMarkKey());
      lua_setmetatable(state, -2);
      return;
    }
    case nlohmann::json::value_t::object: {
      const auto& members = value.get_ref<const nlohmann::json::object_t&>();
      lua_createtable(state, 0, static_cast<int>(members.size()));
      for (auto it = members.begin(); it != members.end(); ++it) {
        lua_pushlstring(state, it->first.data(), it->first.size());
        PushAt(state, it->second, depth + 1);
        lua_rawset(state, -3);
      }
      return;
    }
    default:  // binary, discarded: never produced by parsing text
      lua_pushnil(state);
      return;
  }
}

}  // namespace

void PushJson(lua_State* state, const nlohmann::json& value) { PushAt(state, value, 0); }

bool ToJson(lua_State* state, int index, nlohmann::json* out, std::string* error) {
  std::string path;
  if (Convert(state, lua_absindex(state, index), 0, out, &path, error)) return true;
  if (!path.empty()) {
    if (path[0] == '.') path.erase(0, 1);
    *error = "at " + path + ": " + *error;
  }
  return false;
}

}  // namespace triad::internal
