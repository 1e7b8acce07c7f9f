// Strict parsing of JSON request bodies for the route handlers (docs/http-api.md, "Errors"): the
// body must be a UTF-8 JSON object whose members are all known; typed getters name the member
// that is missing or of the wrong type. Appends parse with simdjson instead (the hot path).
//
// Thread-safety: pure functions.
#pragma once

#include "triad/result.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.h"

namespace triad::server {

// Parses request.body as a JSON object whose member names are all in `allowed`, in which no
// object (at any depth) repeats a member name. An empty body counts as {} when `empty_is_object`.
// Errors (as HttpResponse, ready to return): 400 invalid_json (not JSON, not UTF-8, not an
// object), 400 invalid_argument naming the unknown members or the repeated key.
Result<nlohmann::json> ParseObjectBody(const HttpRequest& request,
                                       std::initializer_list<std::string_view> allowed,
                                       bool empty_is_object = false);

// The HTTP error for a failed ParseObjectBody (invalid_json vs invalid_argument).
HttpResponse BodyErrorResponse(const Status& status);

// Typed members. Absent members give nullopt; present members of another type (or integers out
// of [min, max]) are kInvalidArgument naming the member.
Result<std::optional<std::string>> OptionalString(const nlohmann::json& body,
                                                  std::string_view member);
Result<std::optional<int64_t>> OptionalInt(const nlohmann::json& body, std::string_view member,
                                           int64_t min, int64_t max);
Result<std::optional<bool>> OptionalBool(const nlohmann::json& body, std::string_view member);
Result<std::optional<std::vector<std::string>>> OptionalStringArray(const nlohmann::json& body,
                                                                    std::string_view member);
Result<std::optional<std::vector<int64_t>>> OptionalIntArray(const nlohmann::json& body,
                                                             std::string_view member, int64_t min,
                                                             int64_t max);

}  // namespace triad::server
