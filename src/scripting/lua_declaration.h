// The declaration table a script returns, turned into a ProjectionDefinition (without handlers).
//
// Keys: name, version, event_types, categories, key, error_policy, trigger, record_sources,
// collections, tick_interval_ms, batch_size, max_batch_bytes (on_event/on_tick are taken out
// before). Any other key is an error naming it, so a typo ("categorys") does not silently widen
// the filter.
//
// Thread-safety: a pure function.
#pragma once

#include "triad/projection.h"
#include "triad/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string_view>

namespace triad::internal {

// `version` 0: the declaration's version (default 1). Errors: kInvalidArgument naming the key
// and what was expected, a name or version that disagrees with the arguments, tick_interval_ms
// without on_tick or the reverse.
Result<ProjectionDefinition> ParseDeclaration(const nlohmann::json& declaration,
                                              std::string_view name, int32_t version,
                                              bool has_on_tick);

}  // namespace triad::internal
