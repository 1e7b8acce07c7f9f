#include "cli/client/wire_json.h"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <cstdio>
#include <ctime>
#include <exception>
#include <utility>

namespace triad::cli {
namespace {

using Json = nlohmann::ordered_json;

Status Unexpected(std::string_view what) {
  return InternalError("unexpected answer from the server: " + std::string(what));
}

Result<Json> ParseObject(std::string_view body) {
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return Unexpected("not a JSON object: " + std::string(body.substr(0, 80)));
  return json;
}

// Microseconds from a timestamp string, or a number of microseconds; 0 when absent or null.
int64_t MicrosOf(const Json& json, const char* key) {
  if (!json.contains(key) || json[key].is_null()) return 0;
  if (json[key].is_number()) return json[key].get<int64_t>();
  auto parsed = ParseTimestamp(json[key].get<std::string>());
  return parsed.ok() ? *parsed : 0;
}

// Runs `decode` on the parsed `body`, turning a missing or mistyped field (nlohmann throws) into
// a Status.
template <typename T, typename Decoder>
Result<T> Decode(std::string_view body, Decoder decode) {
  auto json = ParseObject(body);
  if (!json.ok()) return json.status();
  try {
    return decode(*json);
  } catch (const std::exception& e) {
    return Unexpected(e.what());
  }
}

ProjectionStatus ProjectionOf(const Json& j) {
  ProjectionStatus s;
  s.name = j.at("name").get<std::string>();
  s.version = j.at("version").get<int32_t>();
  const auto state = j.at("state").get<std::string>();
  for (auto candidate :
       {ProjectionState::kRunning, ProjectionState::kPaused, ProjectionState::kCaughtUp,
        ProjectionState::kRebuilding, ProjectionState::kFaulted, ProjectionState::kRetired}) {
    if (ProjectionStateName(candidate) == state) s.state = candidate;
  }
  s.serving = j.value("serving", false);
  s.registered = j.value("registered", false);
  s.leased = j.value("leased", false);
  s.checkpoint = j.value("checkpoint", int64_t{0});
  s.head_position = j.value("head_position", int64_t{0});
  s.lag_events = j.value("lag_events", int64_t{0});
  s.lag_seconds = j.value("lag_seconds", 0.0);
  s.events_per_second = j.value("events_per_second", 0.0);
  s.last_error = j.value("last_error", std::string());
  s.last_error_position = j.value("last_error_position", int64_t{0});
  s.dead_letters = j.value("dead_letters", int64_t{0});
  s.collections = j.value("collections", std::vector<std::string>());
  s.error_policy = j.value("error_policy", std::string());
  s.trigger = j.value("trigger", std::string());
  return s;
}

Document DocumentOf(Json j) {
  Document document;
  if (j.contains("_meta")) {
    const Json& meta = j["_meta"];
    document.id = meta.value("id", std::string());
    document.meta.projection = meta.value("projection", std::string());
    document.meta.position = meta.value("position", int64_t{0});
    if (meta.contains("sources") && meta["sources"].is_object()) {
      for (const auto& [stream, version] : meta["sources"].items()) {
        document.meta.sources.emplace(stream, version.get<StreamVersion>());
      }
    }
    j.erase("_meta");
  }
  document.body = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  return document;
}

GroupInfo GroupOf(const Json& j) {
  GroupInfo g;
  g.name = j.at("name").get<std::string>();
  if (j.contains("settings") && j["settings"].is_object()) {
    const Json& s = j["settings"];
    g.settings.event_types = s.value("event_types", std::vector<std::string>());
    g.settings.categories = s.value("categories", std::vector<std::string>());
    g.settings.start_position = s.value("start_position", int64_t{1});
    g.settings.max_attempts = s.value("max_attempts", 5);
    g.settings.ack_timeout_us = s.value("ack_timeout_ms", int64_t{30'000}) * 1000;
    g.settings.member_lease_us = s.value("member_lease_ms", int64_t{10'000}) * 1000;
    g.settings.retry_backoff_us = s.value("retry_backoff_ms", int64_t{1'000}) * 1000;
    g.settings.max_retry_backoff_us = s.value("max_retry_backoff_ms", int64_t{60'000}) * 1000;
  }
  g.checkpoint = j.value("checkpoint", int64_t{0});
  g.head_position = j.value("head_position", int64_t{0});
  g.in_flight = j.value("in_flight", int64_t{0});
  g.retrying = j.value("retrying", int64_t{0});
  g.parked = j.value("parked", int64_t{0});
  g.created_at_us = MicrosOf(j, "created_at");
  if (j.contains("members") && j["members"].is_array()) {
    for (const Json& m : j["members"]) {
      g.members.push_back({.name = m.at("name").get<std::string>(),
                           .last_seen_us = MicrosOf(m, "last_seen"),
                           .in_flight = m.value("in_flight", int64_t{0}),
                           .streams = m.value("streams", std::vector<std::string>())});
    }
  }
  return g;
}

// The JSON text of an object value. Throws simdjson_error when it is not an object.
std::string RawObject(simdjson::ondemand::value value) {
  simdjson::ondemand::object object = value.get_object();
  return std::string(std::string_view(object.raw_json()));
}

// One envelope from simdjson's on-demand object: data and metadata stay the text the server
// sent (re-encoding them would change numbers and spacing that the embedded CLI prints as
// stored).
RecordedEvent EventOf(simdjson::ondemand::object object) {
  RecordedEvent event;
  for (auto field : object) {
    const std::string_view key = field.unescaped_key();
    simdjson::ondemand::value value = field.value();
    if (key == "id") {
      event.id = std::string_view(value.get_string());
    } else if (key == "stream") {
      event.stream = std::string_view(value.get_string());
    } else if (key == "version") {
      event.version = value.get_int64();
    } else if (key == "position") {
      event.position = value.get_int64();
    } else if (key == "type") {
      event.type = std::string_view(value.get_string());
    } else if (key == "data") {
      event.data = RawObject(value);
    } else if (key == "metadata") {
      event.metadata = RawObject(value);
    } else if (key == "correlation_id") {
      event.correlation_id = std::string_view(value.get_string());
    } else if (key == "causation_id") {
      event.causation_id = std::string_view(value.get_string());
    } else if (key == "recorded_at") {
      auto micros = ParseTimestamp(std::string_view(value.get_string()));
      if (micros.ok()) event.recorded_at_us = *micros;
    }
  }
  // raw_json() keeps the whitespace that followed the object's closing brace.
  for (std::string* text : {&event.data, &event.metadata}) {
    while (!text->empty() && (text->back() == ' ' || text->back() == '\n' || text->back() == '\t' ||
                              text->back() == '\r')) {
      text->pop_back();
    }
  }
  return event;
}

}  // namespace

Result<int64_t> ParseTimestamp(std::string_view text) {
  const std::string copy(text);
  std::tm tm{};
  int fraction_start = 0;
  if (sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,  // NOLINT
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &fraction_start) != 6) {
    return InvalidArgumentError("not an RFC 3339 timestamp: '" + copy + "'");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t micros = 0;
  size_t i = static_cast<size_t>(fraction_start);
  if (i < copy.size() && copy[i] == '.') {
    int digits = 0;
    for (++i; i < copy.size() && copy[i] >= '0' && copy[i] <= '9'; ++i, ++digits) {
      if (digits < 6) micros = micros * 10 + (copy[i] - '0');
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  if (i >= copy.size() || (copy[i] != 'Z' && copy[i] != 'z')) {
    return InvalidArgumentError("not a UTC RFC 3339 timestamp: '" + copy + "'");
  }
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000 + micros;
}

Result<RecordedEvent> DecodeEvent(std::string_view json) {
  try {
    const simdjson::padded_string padded(json);
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc = parser.iterate(padded);
    return EventOf(doc.get_object());
  } catch (const simdjson::simdjson_error& e) {
    return Unexpected(std::string("an event envelope: ") + e.what());
  }
}

Result<std::vector<RecordedEvent>> DecodeEvents(std::string_view body) {
  try {
    const simdjson::padded_string padded(body);
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc = parser.iterate(padded);
    std::vector<RecordedEvent> events;
    for (auto element : doc["events"].get_array()) events.push_back(EventOf(element.get_object()));
    return events;
  } catch (const simdjson::simdjson_error& e) {
    return Unexpected(std::string("the events: ") + e.what());
  }
}

Result<Position> DecodeHeadPosition(std::string_view body) {
  return Decode<Position>(body, [](const Json& j) { return j.at("head_position").get<int64_t>(); });
}

Result<AppendResult> DecodeAppendResult(std::string_view body) {
  return Decode<AppendResult>(body, [](const Json& j) {
    return AppendResult{.first_version = j.at("first_version").get<int64_t>(),
                        .last_version = j.at("last_version").get<int64_t>(),
                        .first_position = j.at("first_position").get<int64_t>(),
                        .last_position = j.at("last_position").get<int64_t>(),
                        .already_stored = j.value("already_stored", false)};
  });
}

Result<std::vector<StreamInfo>> DecodeStreams(std::string_view body) {
  return Decode<std::vector<StreamInfo>>(body, [](const Json& j) {
    std::vector<StreamInfo> streams;
    for (const Json& s : j.at("streams")) {
      streams.push_back({.name = s.at("name").get<std::string>(),
                         .category = s.value("category", std::string()),
                         .version = s.at("version").get<int64_t>(),
                         .first_position = s.value("first_position", int64_t{0}),
                         .last_position = s.value("last_position", int64_t{0}),
                         .event_count = s.value("event_count", int64_t{0}),
                         .last_recorded_at_us = MicrosOf(s, "last_recorded_at")});
    }
    return streams;
  });
}

Result<std::vector<ProjectionStatus>> DecodeProjections(std::string_view body) {
  return Decode<std::vector<ProjectionStatus>>(body, [](const Json& j) {
    std::vector<ProjectionStatus> list;
    for (const Json& s : j.at("projections")) list.push_back(ProjectionOf(s));
    return list;
  });
}

Result<ProjectionStatus> DecodeProjection(std::string_view body) {
  return Decode<ProjectionStatus>(body, ProjectionOf);
}

std::string ProjectionStatusToJson(const ProjectionStatus& s) {
  const Json json = {{"name", s.name},
                     {"version", s.version},
                     {"state", ProjectionStateName(s.state)},
                     {"serving", s.serving},
                     {"registered", s.registered},
                     {"leased", s.leased},
                     {"checkpoint", s.checkpoint},
                     {"head_position", s.head_position},
                     {"lag_events", s.lag_events},
                     {"lag_seconds", s.lag_seconds},
                     {"events_per_second", s.events_per_second},
                     {"last_error", s.last_error},
                     {"last_error_position", s.last_error_position},
                     {"dead_letters", s.dead_letters},
                     {"collections", s.collections},
                     {"error_policy", s.error_policy},
                     {"trigger", s.trigger}};
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<DocumentRead> DecodeDocumentRead(std::string_view body, std::string_view id) {
  return Decode<DocumentRead>(body, [id](const Json& j) {
    DocumentRead read;
    read.as_of = j.value("as_of", int64_t{0});
    if (j.contains("document") && j["document"].is_object()) {
      read.document = DocumentOf(j["document"]);
      read.document->id = std::string(id);
    }
    return read;
  });
}

Result<QueryPage> DecodeQueryPage(std::string_view body) {
  return Decode<QueryPage>(body, [](const Json& j) {
    QueryPage page;
    for (const Json& d : j.at("documents")) page.documents.push_back(DocumentOf(d));
    if (j.contains("next_after") && j["next_after"].is_string()) {
      page.next_cursor = j["next_after"].get<std::string>();
    }
    page.as_of = j.value("as_of", int64_t{0});
    return page;
  });
}

Result<CountResult> DecodeCount(std::string_view body) {
  return Decode<CountResult>(body, [](const Json& j) {
    return CountResult{.count = j.at("count").get<int64_t>(),
                       .as_of = j.value("as_of", int64_t{0})};
  });
}

Result<GroupInfo> DecodeGroup(std::string_view body) { return Decode<GroupInfo>(body, GroupOf); }

Result<std::vector<GroupInfo>> DecodeGroups(std::string_view body) {
  return Decode<std::vector<GroupInfo>>(body, [](const Json& j) {
    std::vector<GroupInfo> groups;
    for (const Json& g : j.at("groups")) groups.push_back(GroupOf(g));
    return groups;
  });
}

Result<std::vector<ParkedMessage>> DecodeParked(std::string_view body) {
  return Decode<std::vector<ParkedMessage>>(body, [](const Json& j) {
    std::vector<ParkedMessage> parked;
    for (const Json& p : j.at("parked")) {
      parked.push_back({.position = p.at("position").get<int64_t>(),
                        .stream = p.value("stream", std::string()),
                        .type = p.value("type", std::string()),
                        .attempts = p.value("attempts", 0),
                        .last_error = p.value("last_error", std::string()),
                        .parked_at_us = MicrosOf(p, "parked_at")});
    }
    return parked;
  });
}

}  // namespace triad::cli
