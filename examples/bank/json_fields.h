// Exception-free access to nlohmann::json for the bank example.
//
// nlohmann::json reports bad input by throwing; Triad's rule is that no exception crosses an API
// (docs/contributing.md, Errors), so every call into the library that can throw is wrapped here,
// once, and turned into a Status that names the field.
//
// Thread-safety: free functions on values.
#pragma once

#include "triad/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace bank {

// Parses `text` as a JSON object. Errors: kDataLoss naming `what` when it is not one (stored
// events and snapshots are the only inputs, so bad JSON there means damaged data).
triad::Result<nlohmann::json> ParseObject(std::string_view text, std::string_view what);

// The integer field `key` of `object`. Errors: kDataLoss when it is missing or not an integer.
triad::Result<int64_t> IntField(const nlohmann::json& object, std::string_view key);

// The string field `key` of `object`. Errors: kDataLoss when it is missing or not a string.
triad::Result<std::string> StringField(const nlohmann::json& object, std::string_view key);

// Serializes `value` compactly. Errors: kInvalidArgument when a string in it is not valid UTF-8.
triad::Result<std::string> Dump(const nlohmann::json& value);

}  // namespace bank
