#include "server/json_body.h"

#include "triad/json_keys.h"

#include <string>
#include <utility>

namespace triad::server {
namespace {

// The message prefix that tells BodyErrorResponse to answer invalid_json.
constexpr std::string_view kInvalidJsonPrefix = "the request body is not ";

Status WrongType(std::string_view member, std::string_view expected) {
  return Status(StatusCode::kInvalidArgument,
                "'" + std::string(member) + "' must be " + std::string(expected));
}

}  // namespace

Result<nlohmann::json> ParseObjectBody(const HttpRequest& request,
                                       std::initializer_list<std::string_view> allowed,
                                       bool empty_is_object) {
  if (request.body.empty() && empty_is_object) return nlohmann::json::object();
  // nlohmann rejects ill-formed UTF-8 inside strings, so invalid UTF-8 is invalid JSON here.
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Status(StatusCode::kInvalidArgument,
                  std::string(kInvalidJsonPrefix) + "valid UTF-8 JSON");
  }
  if (!body.is_object()) {
    return Status(StatusCode::kInvalidArgument, std::string(kInvalidJsonPrefix) + "a JSON object");
  }
  // nlohmann keeps the last of repeated keys; refuse them instead, at every level.
  if (Status unique = CheckJsonKeysUnique(request.body, "the request body"); !unique.ok()) {
    return unique;
  }
  std::string unknown;
  for (const auto& item : body.items()) {
    bool known = false;
    for (std::string_view name : allowed) known = known || item.key() == name;
    if (!known) unknown += (unknown.empty() ? "'" : ", '") + item.key() + "'";
  }
  if (!unknown.empty()) {
    std::string names;
    for (std::string_view name : allowed) {
      names += (names.empty() ? "" : ", ") + std::string(name);
    }
    return Status(StatusCode::kInvalidArgument,
                  "unknown field(s) " + unknown + " (known: " + names + ")");
  }
  return body;
}

HttpResponse BodyErrorResponse(const Status& status) {
  if (status.message().starts_with(kInvalidJsonPrefix)) {
    return ErrorResponse(400, "invalid_json", status.message());
  }
  return ErrorFromStatus(status);
}

Result<std::optional<std::string>> OptionalString(const nlohmann::json& body,
                                                  std::string_view member) {
  auto it = body.find(member);
  if (it == body.end()) return std::optional<std::string>();
  if (!it->is_string()) return WrongType(member, "a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<int64_t>> OptionalInt(const nlohmann::json& body, std::string_view member,
                                           int64_t min, int64_t max) {
  auto it = body.find(member);
  if (it == body.end()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return WrongType(member, "an integer");
  const bool is_unsigned = it->is_number_unsigned();
  if (is_unsigned && it->get<uint64_t>() > static_cast<uint64_t>(max)) {
    return WrongType(member,
                     "an integer between " + std::to_string(min) + " and " + std::to_string(max));
  }
  const int64_t value = it->get<int64_t>();
  if (value < min || value > max) {
    return WrongType(member,
                     "an integer between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return std::optional<int64_t>(value);
}

Result<std::optional<bool>> OptionalBool(const nlohmann::json& body, std::string_view member) {
  auto it = body.find(member);
  if (it == body.end()) return std::optional<bool>();
  if (!it->is_boolean()) return WrongType(member, "true or false");
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<std::vector<std::string>>> OptionalStringArray(const nlohmann::json& body,
                                                                    std::string_view member) {
  auto it = body.find(member);
  if (it == body.end()) return std::optional<std::vector<std::string>>();
  if (!it->is_array()) return WrongType(member, "an array of strings");
  std::vector<std::string> values;
  for (const auto& value : *it) {
    if (!value.is_string()) return WrongType(member, "an array of strings");
    values.push_back(value.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(values));
}

Result<std::optional<std::vector<int64_t>>> OptionalIntArray(const nlohmann::json& body,
                                                             std::string_view member, int64_t min,
                                                             int64_t max) {
  auto it = body.find(member);
  if (it == body.end()) return std::optional<std::vector<int64_t>>();
  const std::string expected =
      "an array of integers between " + std::to_string(min) + " and " + std::to_string(max);
  if (!it->is_array()) return WrongType(member, expected);
  std::vector<int64_t> values;
  for (const auto& value : *it) {
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max))) {
      return WrongType(member, expected);
    }
    const int64_t v = value.get<int64_t>();
    if (v < min || v > max) return WrongType(member, expected);
    values.push_back(v);
  }
  return std::optional<std::vector<int64_t>>(std::move(values));
}

}  // namespace triad::server
