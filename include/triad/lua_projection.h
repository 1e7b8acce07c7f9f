// Projections written in Lua 5.4 (docs/scripted-projections.md).
//
//   auto def = triad::CompileLuaProjection("owners", 1, source, triad::LuaLimits{});
//   if (!def.ok()) return def.status();   // syntax error, bad declaration: named in the message
//   engine->Register(*std::move(def));
//
// The script returns a table declaring the projection (filters, collections and indexes, key,
// error policy, trigger, on_event, optional on_tick) and the handlers use a `ctx` object to read
// and write documents. The result is an ordinary ProjectionDefinition: the engine gives it the
// same semantics as a C++ projection (exactly-once, lifecycle, blue/green, error policies).
//
// Sandbox: only the base functions without load/loadfile/dofile/require/collectgarbage/print/
// xpcall, plus string, table, math (without random), utf8 (no io, os, debug, package); globals
// are read-only once the script has loaded. Each handler call is limited in
// instructions and in memory; past a limit the call fails with kResourceExhausted naming the
// limit, so the projection faults (or skips / dead-letters under its policy) instead of hanging
// the server or exhausting its memory.
//
// Thread-safety: the returned definition's handlers share one Lua state guarded by a mutex, so
// the engine worker and fresh reads may call them from different threads.
#pragma once

#include "triad/projection.h"
#include "triad/result.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace triad {

struct LuaLimits {
  // Lua VM instructions per handler call. Default: 10 million (tens of milliseconds).
  int64_t max_instructions_per_call = 10'000'000;
  // Bytes the Lua state may hold in all. Default: 64 MiB.
  size_t max_memory_bytes = size_t{64} * 1024 * 1024;
};

// Compiles `source` and returns the projection it declares, named `name` at `version` (the
// script's own `name`/`version` fields, if any, must agree). `version` 0: the script's `version`
// field, default 1 (hand-written scripts in a folder).
// Handler errors become the handler's Status: kInvalidArgument with the Lua message (line
// included) for error() and bad ctx arguments, kResourceExhausted naming the limit, the
// context's storage errors unchanged (the engine retries those), kDataLoss for event data that
// is not JSON. The engine then applies the projection's error policy.
// Errors: kInvalidArgument with the Lua error (line number included) for a syntax error, a
// runtime error while loading, a missing or malformed declaration (unknown keys named), bad
// limits, or a disagreeing name/version; kResourceExhausted when loading exceeds the limits.
Result<ProjectionDefinition> CompileLuaProjection(std::string_view name, int32_t version,
                                                  std::string_view source,
                                                  const LuaLimits& limits = {});

}  // namespace triad
