#include "cli/ndjson_events.h"

#include "triad/json_keys.h"

#include <simdjson.h>

#include <string>
#include <utility>

namespace triad::cli {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n";

// The raw bytes of the object-valued field `key` of the line's root object, found with the
// On-Demand API, which (unlike the DOM) can point back into the input.
// REQUIRES: the DOM parse accepted the line and `key` holds an object.
Result<std::string> RawObjectField(const simdjson::padded_string& line, std::string_view key) {
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  if (parser.iterate(line).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS) {
    return InternalError("re-reading the line failed");
  }
  for (auto field_or : root) {
    simdjson::ondemand::field field;
    std::string_view name;
    if (std::move(field_or).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS) {
      return InternalError("re-reading the line failed");
    }
    if (name != key) continue;
    simdjson::ondemand::object object;
    std::string_view raw;
    if (field.value().get_object().get(object) != simdjson::SUCCESS ||
        object.raw_json().get(raw) != simdjson::SUCCESS) {
      return InternalError("re-reading " + std::string(key) + " failed");
    }
    return std::string(raw);
  }
  return InternalError(std::string(key) + " vanished on re-reading");
}

}  // namespace

Result<NewEvent> ParseEventLine(std::string_view line) {
  const simdjson::padded_string padded(line);
  // The DOM parser validates the whole line (the On-Demand API would accept trailing garbage).
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto error = parser.parse(padded).get(root); error != simdjson::SUCCESS) {
    return InvalidArgumentError(std::string("not valid JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidArgumentError("not a JSON object (expected {\"type\": ..., \"data\": {...}})");
  }
  // Repeated keys, in the envelope or inside data/metadata: the store's one check.
  if (Status unique = CheckJsonKeysUnique(line, "the event"); !unique.ok()) return unique;
  NewEvent event;
  bool has_type = false;
  for (const auto field : object) {
    const std::string_view key = field.key;
    if (key == "type" || key == "id") {
      std::string_view text;
      if (field.value.get_string().get(text) != simdjson::SUCCESS) {
        return InvalidArgumentError(std::string(key) + " is not a JSON string");
      }
      (key == "type" ? event.type : event.id).assign(text);
      has_type = has_type || key == "type";
    } else if (key == "data" || key == "metadata") {
      if (!field.value.is_object()) {
        return InvalidArgumentError(std::string(key) + " is not a JSON object");
      }
      auto raw = RawObjectField(padded, key);
      if (!raw.ok()) return raw.status();
      (key == "data" ? event.data : event.metadata) = std::move(*raw);
    } else {
      return InvalidArgumentError("unknown field '" + std::string(key) +
                                  "' (allowed: id, type, data, metadata)");
    }
  }
  if (!has_type) return InvalidArgumentError("type is missing");
  return event;
}

Result<std::vector<NewEvent>> ReadNdjsonEvents(std::istream& in) {
  std::vector<NewEvent> events;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(kWhitespace) == std::string::npos) continue;
    auto event = ParseEventLine(line);
    if (!event.ok()) {
      return event.status().Annotate("event " + std::to_string(events.size()) + " (line " +
                                     std::to_string(line_number) + ")");
    }
    events.push_back(std::move(*event));
  }
  if (in.bad()) return UnavailableError("reading stdin failed");
  if (events.empty()) {
    return InvalidArgumentError(
        "no events on stdin (expected NDJSON: one {\"type\": ..., \"data\": {...}} per line)");
  }
  return events;
}

}  // namespace triad::cli
