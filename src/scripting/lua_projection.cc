#include "triad/lua_projection.h"

#include <memory>
#include <string>
#include <utility>

#include "projections/engine_impl.h"
#include "scripting/lua_declaration.h"
#include "scripting/lua_runtime.h"

namespace triad {

Result<ProjectionDefinition> CompileLuaProjection(std::string_view name, int32_t version,
                                                  std::string_view source,
                                                  const LuaLimits& limits) {
  const std::string context = "Lua projection " + std::string(name);
  if (!internal::ValidName(name)) {
    return InvalidArgumentError("projection name '" + std::string(name) +
                                "' must be 1-64 characters of [a-z0-9_-] starting with a letter");
  }
  if (version < 0) return InvalidArgumentError(context + ": version must be >= 1");
  nlohmann::json declaration;
  Result<std::unique_ptr<internal::LuaRuntime>> runtime =
      internal::LuaRuntime::Create(std::string(name), std::string(source), limits, &declaration);
  if (!runtime.ok()) return runtime.status().Annotate(context);
  Result<ProjectionDefinition> def =
      internal::ParseDeclaration(declaration, name, version, (*runtime)->has_tick());
  if (!def.ok()) return def.status().Annotate(context);
  // Shared: the engine copies the definition (and fresh reads use the copy), and every copy
  // must reach the one state and its mutex.
  std::shared_ptr<internal::LuaRuntime> shared = *std::move(runtime);
  def->on_event = [shared](const EventView& event, ProjectionContext& ctx) {
    return shared->OnEvent(event, ctx);
  };
  if (shared->has_tick()) {
    def->on_tick = [shared](int64_t now_us, ProjectionContext& ctx) {
      return shared->OnTick(now_us, ctx);
    };
  }
  if (Status valid = internal::ValidateDefinition(*def); !valid.ok()) return valid;
  return def;
}

}  // namespace triad
