// Validation of ProjectionDefinition (the rules are documented in projection.h).
#include <set>
#include <string>

#include "projections/engine_impl.h"

namespace triad::internal {

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status ValidateDefinition(const ProjectionDefinition& definition) {
  const std::string& name = definition.name;
  if (!ValidName(name)) {
    return InvalidArgumentError("projection name '" + name +
                                "' must be 1-64 characters of [a-z0-9_-] starting with a letter");
  }
  if (definition.version < 1) {
    return InvalidArgumentError("projection " + name + ": version must be >= 1, got " +
                                std::to_string(definition.version));
  }
  if (!definition.on_event) {
    return InvalidArgumentError("projection " + name + ": on_event is required");
  }
  if (definition.collections.empty()) {
    return InvalidArgumentError("projection " + name + ": declares no collection");
  }
  std::set<std::string, std::less<>> seen;
  for (const CollectionSpec& spec : definition.collections) {
    if (!ValidName(spec.name)) {
      return InvalidArgumentError("projection " + name + ": collection name '" + spec.name +
                                  "' must be 1-64 characters of [a-z0-9_-] starting with a letter");
    }
    if (!seen.insert(spec.name).second) {
      return InvalidArgumentError("projection " + name + ": collection '" + spec.name +
                                  "' is declared twice");
    }
  }
  if (definition.tick_interval_us < 0) {
    return InvalidArgumentError("projection " + name + ": tick_interval_us must be >= 0");
  }
  if (definition.tick_interval_us > 0 && !definition.on_tick) {
    return InvalidArgumentError("projection " + name + ": tick_interval_us is set without on_tick");
  }
  return Status::OK();
}

}  // namespace triad::internal
