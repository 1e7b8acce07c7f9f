#include "bank/json_fields.h"

#include <string>
#include <utility>

namespace bank {

triad::Result<nlohmann::json> ParseObject(std::string_view text, std::string_view what) {
  // allow_exceptions = false: a parse error yields a "discarded" value instead of throwing.
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return triad::DataLossError(std::string(what) + " is not a JSON object");
  }
  return parsed;
}

triad::Result<int64_t> IntField(const nlohmann::json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) {
    return triad::DataLossError("field '" + std::string(key) + "' is missing or not an integer");
  }
  return it->get<int64_t>();
}

triad::Result<std::string> StringField(const nlohmann::json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    return triad::DataLossError("field '" + std::string(key) + "' is missing or not a string");
  }
  return it->get<std::string>();
}

triad::Result<std::string> Dump(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception& e) {
    // The only throw of dump(): a string that is not UTF-8 (error 316).
    return triad::InvalidArgumentError(std::string("text is not valid UTF-8: ") + e.what());
  }
}

}  // namespace bank
