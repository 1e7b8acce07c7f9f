#include "server/routes/append_body.h"

#include "triad/json_keys.h"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <string>

namespace triad::server {
namespace {

namespace od = simdjson::ondemand;

HttpResponse InvalidJson(std::string message) {
  return ErrorResponse(400, "invalid_json", message);
}

HttpResponse InvalidField(std::string message) {
  return ErrorResponse(400, "invalid_argument", message);
}

// Reads a JSON object value as its raw bytes. `what` names it in errors ("events[0].data").
std::variant<std::string, HttpResponse> RawObject(od::value value, const std::string& what) {
  od::object object;
  std::string_view raw;
  if (value.get_object().get(object) != simdjson::SUCCESS ||
      object.raw_json().get(raw) != simdjson::SUCCESS) {
    return InvalidField(what + " must be a JSON object");
  }
  return std::string(raw);
}

std::variant<NewEvent, HttpResponse> ParseEvent(od::value value, size_t index) {
  const std::string where = "events[" + std::to_string(index) + "]";
  od::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS) {
    return InvalidField(where + " must be a JSON object");
  }
  NewEvent event;
  bool has_type = false;
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return InvalidJson("the body is not valid JSON (in " + where + ")");
    }
    const std::string name(key);
    if (name == "id" || name == "type") {
      std::string_view text;
      if (field.value().get_string().get(text) != simdjson::SUCCESS) {
        return InvalidField(where + "." + name + " must be a string");
      }
      (name == "id" ? event.id : event.type) = std::string(text);
      has_type = has_type || name == "type";
    } else if (name == "data" || name == "metadata") {
      auto raw = RawObject(field.value(), where + "." + name);
      if (auto* error = std::get_if<HttpResponse>(&raw)) return std::move(*error);
      (name == "data" ? event.data : event.metadata) = std::move(std::get<std::string>(raw));
    } else {
      return InvalidField(where + " has an unknown field '" + name +
                          "' (allowed: id, type, data, metadata)");
    }
  }
  if (!has_type) return InvalidField(where + ".type is missing");
  return event;
}

std::variant<ExpectedVersion, HttpResponse> ParseExpected(od::value value) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) {
    return InvalidJson("the body is not valid JSON (in expected_version)");
  }
  if (type == od::json_type::string) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      return InvalidJson("expected_version is not a valid string");
    }
    auto parsed = ExpectedVersion::Parse(text);
    if (!parsed.ok()) {
      return InvalidField("expected_version '" + std::string(text) +
                          "' is not any, no_stream, exists or a version");
    }
    return *parsed;
  }
  int64_t version = 0;
  if (type != od::json_type::number || value.get_int64().get(version) != simdjson::SUCCESS ||
      version < -1) {
    return InvalidField(
        "expected_version must be \"any\", \"no_stream\", \"exists\" or an integer >= -1");
  }
  return ExpectedVersion::Exact(version);
}

}  // namespace

std::variant<AppendBody, HttpResponse> ParseAppendBody(std::string_view body, size_t max_events) {
  // On-demand parsing validates only what it visits and raw_json() skips objects unchecked, so
  // the whole document is validated first (syntax and UTF-8): bad input must never be stored.
  thread_local simdjson::dom::parser validator;
  thread_local od::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root_element;
  if (auto error = validator.parse(padded).get(root_element); error != simdjson::SUCCESS) {
    if (error == simdjson::UTF8_ERROR) return InvalidJson("the body is not valid UTF-8");
    return InvalidJson(std::string("the body is not valid JSON: ") +
                       simdjson::error_message(error));
  }
  if (!root_element.is_object()) return InvalidJson("the body is not a JSON object");
  // Every level, `data` and `metadata` included: {"events":[A],"events":[B]} must not mean
  // whichever one a reader happens to keep.
  if (Status unique = CheckJsonKeysUnique(body, "the body"); !unique.ok()) {
    return InvalidField(unique.message());
  }

  od::document document;
  od::object root;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS ||
      document.get_object().get(root) != simdjson::SUCCESS) {
    return InvalidJson("the body is not a JSON object");
  }
  AppendBody out;
  bool has_events = false;
  for (auto field_result : root) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return InvalidJson("the body is not valid JSON");
    }
    if (key == "expected_version") {
      auto expected = ParseExpected(field.value());
      if (auto* error = std::get_if<HttpResponse>(&expected)) return std::move(*error);
      out.expected = std::get<ExpectedVersion>(expected);
    } else if (key == "events") {
      od::array events;
      if (field.value().get_array().get(events) != simdjson::SUCCESS) {
        return InvalidField("events must be an array of events");
      }
      has_events = true;
      for (auto element : events) {
        od::value value;
        if (element.get(value) != simdjson::SUCCESS)
          return InvalidJson("the body is not valid JSON");
        if (out.events.size() >= max_events) {
          nlohmann::json details = {{"limit", max_events}};
          return ErrorResponse(400, "too_many_events",
                               "an append may carry at most " + std::to_string(max_events) +
                                   " events (limits.max_events_per_append)",
                               &details);
        }
        auto event = ParseEvent(value, out.events.size());
        if (auto* error = std::get_if<HttpResponse>(&event)) return std::move(*error);
        out.events.push_back(std::move(std::get<NewEvent>(event)));
      }
    } else {
      return InvalidField("unknown field '" + std::string(key) +
                          "' (allowed: expected_version, events)");
    }
  }
  if (!has_events) return InvalidField("events is missing");
  if (out.events.empty())
    return InvalidField("events is empty: an append needs at least one event");
  return out;
}

}  // namespace triad::server
