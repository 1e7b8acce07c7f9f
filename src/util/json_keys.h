// The DOM form of CheckJsonKeysUnique (include/triad/json_keys.h), for callers that have parsed
// the document already.
//
// Thread-safety: pure function.
#pragma once

#include "triad/status.h"

#include <simdjson.h>

#include <string_view>

namespace triad::internal {

// OK iff no object in `root` has a member name twice. Errors: kInvalidArgument naming the key,
// where it is, and `what`.
Status CheckUniqueKeys(simdjson::dom::element root, std::string_view what);

}  // namespace triad::internal
