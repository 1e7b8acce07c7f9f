#include "store/event_validator.h"

#include "util/json_keys.h"
#include "util/quote.h"
#include "util/uuid.h"

#include <simdjson.h>

#include <algorithm>
#include <string>
#include <unordered_set>

namespace triad::internal {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// Reads an optional string field of a metadata object into `out`.
Status ExtractIdField(simdjson::dom::object metadata, std::string_view field, std::string& out) {
  simdjson::dom::element value;
  if (metadata.at_key(field).get(value) != simdjson::SUCCESS) return Status::OK();
  if (value.is_null()) return Status::OK();
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return InvalidArgumentError("metadata." + std::string(field) + " must be a string");
  }
  out.assign(text);
  return Status::OK();
}

// The deepest nesting of objects and arrays in `json`, counting no further than `stop_above`
// + 1. Brackets inside strings are skipped; the text is otherwise not checked (the parser does).
int NestingDepth(std::string_view json, int stop_above) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > stop_above) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// Checked before parsing, so that JSON deeper than the parser's own bound (1,024) also gets this
// message rather than a generic parse error.
Status ValidateDepth(std::string_view json, std::string_view what) {
  if (NestingDepth(json, kMaxJsonDepth) <= kMaxJsonDepth) return Status::OK();
  return InvalidArgumentError(std::string(what) + " nests objects and arrays deeper than " +
                              std::to_string(kMaxJsonDepth) + " levels; the limit is " +
                              std::to_string(kMaxJsonDepth));
}

}  // namespace

Status ValidateStreamName(std::string_view stream, const Options& options) {
  if (stream.empty()) return InvalidArgumentError("stream name is empty");
  if (stream.size() > options.max_stream_name_bytes) {
    return InvalidArgumentError("stream name " + Quote(stream) + " is " +
                                std::to_string(stream.size()) + " bytes; the limit is " +
                                std::to_string(options.max_stream_name_bytes));
  }
  if (!IsAlnum(stream[0]) && stream[0] != '_') {
    return InvalidArgumentError("stream name " + Quote(stream) +
                                " must start with a letter, a digit or '_'");
  }
  for (char c : stream) {
    if (!IsAlnum(c) && std::string_view("-_.:@+=~").find(c) == std::string_view::npos) {
      return InvalidArgumentError("stream name " + Quote(stream) +
                                  " may contain only letters, digits and - _ . : @ + = ~");
    }
  }
  return Status::OK();
}

Status ValidateEventType(std::string_view type, const Options& options) {
  if (type.empty()) return InvalidArgumentError("event type is empty");
  if (type.size() > options.max_event_type_bytes) {
    return InvalidArgumentError("event type " + Quote(type) + " is " + std::to_string(type.size()) +
                                " bytes; the limit is " +
                                std::to_string(options.max_event_type_bytes));
  }
  if (!IsLetter(type[0])) {
    return InvalidArgumentError("event type " + Quote(type) + " must start with a letter");
  }
  for (char c : type) {
    if (!IsAlnum(c) && std::string_view("_.:-").find(c) == std::string_view::npos) {
      return InvalidArgumentError("event type " + Quote(type) +
                                  " may contain only letters, digits and _ . : -");
    }
  }
  return Status::OK();
}

namespace {

// `json` parsed by this thread's parser, if it is a JSON object; valid until the thread's next
// parse. Errors: kInvalidArgument naming `what`.
Result<simdjson::dom::element> ParseJsonObject(std::string_view json, std::string_view what) {
  simdjson::dom::element root;
  const auto error = ThreadParser().parse(json.data(), json.size()).get(root);
  if (error != simdjson::SUCCESS) {
    return InvalidArgumentError(std::string(what) +
                                " is not valid JSON: " + simdjson::error_message(error));
  }
  if (!root.is_object()) return InvalidArgumentError(std::string(what) + " is not a JSON object");
  return root;
}

}  // namespace

Status ValidateJsonObject(std::string_view json, std::string_view what) {
  return ParseJsonObject(json, what).status();
}

Status ValidateNewJsonObject(std::string_view json, std::string_view what) {
  auto root = ParseJsonObject(json, what);
  if (!root.ok()) return root.status();
  return CheckUniqueKeys(*root, what);
}

Result<std::vector<PreparedEvent>> PrepareEvents(std::span<const NewEvent> events,
                                                 const Options& options, Clock& clock,
                                                 std::vector<bool>& client_ids) {
  if (events.empty()) return InvalidArgumentError("an append needs at least one event");
  if (events.size() > options.max_events_per_append) {
    return InvalidArgumentError("an append has " + std::to_string(events.size()) +
                                " events; the limit is " +
                                std::to_string(options.max_events_per_append));
  }
  std::vector<PreparedEvent> prepared;
  prepared.reserve(events.size());
  client_ids.assign(events.size(), false);
  std::unordered_set<std::string> seen_ids;
  size_t total_bytes = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const NewEvent& in = events[i];
    const std::string where = "event " + std::to_string(i);
    auto fail = [&](const Status& s) { return s.Annotate(where); };
    if (Status s = ValidateEventType(in.type, options); !s.ok()) return fail(s);
    const size_t bytes = in.type.size() + in.data.size() + in.metadata.size();
    if (bytes > options.max_event_bytes) {
      return fail(InvalidArgumentError("event is " + std::to_string(bytes) +
                                       " bytes (type + data + metadata); the limit is " +
                                       std::to_string(options.max_event_bytes)));
    }
    total_bytes += bytes;
    if (total_bytes > options.max_append_bytes) {
      return InvalidArgumentError("the append is over " + std::to_string(options.max_append_bytes) +
                                  " bytes, the limit for one append");
    }
    PreparedEvent out;
    if (in.id.empty()) {
      out.id = GenerateUuidV7(clock);
    } else {
      auto canonical = CanonicalUuid(in.id);
      if (!canonical) {
        return fail(
            InvalidArgumentError("id " + Quote(in.id) + " is not a UUID (8-4-4-4-12 hex digits)"));
      }
      out.id = std::move(*canonical);
      client_ids[i] = true;
    }
    if (!seen_ids.insert(out.id).second) {
      return fail(InvalidArgumentError("id " + out.id + " appears twice in the append"));
    }
    if (Status s = ValidateDepth(in.data, "data"); !s.ok()) return fail(s);
    if (Status s = ValidateNewJsonObject(in.data, "data"); !s.ok()) return fail(s);
    const std::string_view metadata = in.metadata.empty() ? std::string_view("{}") : in.metadata;
    if (Status s = ValidateDepth(metadata, "metadata"); !s.ok()) return fail(s);
    auto root = ParseJsonObject(metadata, "metadata");
    if (!root.ok()) return fail(root.status());
    if (Status s = CheckUniqueKeys(*root, "metadata"); !s.ok()) return fail(s);
    const simdjson::dom::object object = root->get_object().value_unsafe();  // checked above
    if (Status s = ExtractIdField(object, "correlation_id", out.correlation_id); !s.ok()) {
      return fail(s);
    }
    if (Status s = ExtractIdField(object, "causation_id", out.causation_id); !s.ok()) {
      return fail(s);
    }
    out.type = in.type;
    out.data = in.data;
    out.metadata = std::string(metadata);
    prepared.push_back(std::move(out));
  }
  return prepared;
}

}  // namespace triad::internal
