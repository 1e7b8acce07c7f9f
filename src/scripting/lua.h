// The Lua 5.4 C API. Debian's liblua5.4 is compiled as C, so its headers need C linkage; every
// file of this folder includes Lua through this header.
#pragma once

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}
