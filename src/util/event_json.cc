#include "triad/event_json.h"

#include "util/utf8.h"

#include <cstdio>

namespace triad {
namespace {

constexpr std::string_view kReplacementCharacter = "\\ufffd";

// Appends a stored JSON object. Raw line breaks can only be whitespace between tokens in valid
// JSON (inside strings they must be escaped), so turning them into spaces keeps the value and
// keeps the envelope on one line.
void AppendRawObject(std::string& out, std::string_view json) {
  if (json.empty()) {
    out += "{}";
    return;
  }
  for (char c : json) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
}

void AppendField(std::string& out, std::string_view name) {
  if (out.size() > 1) out.push_back(',');
  AppendJsonString(out, name);
  out.push_back(':');
}

void AppendIntField(std::string& out, std::string_view name, int64_t value) {
  AppendField(out, name);
  out += std::to_string(value);
}

void AppendStringField(std::string& out, std::string_view name, std::string_view value) {
  AppendField(out, name);
  AppendJsonString(out, value);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = internal::Utf8SequenceLength(text.substr(i));
      if (length == 0) {
        out += kReplacementCharacter;
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string EventToJson(const RecordedEvent& event) {
  std::string out = "{";
  out.reserve(160 + event.data.size() + event.metadata.size());
  AppendStringField(out, "id", event.id);
  AppendStringField(out, "stream", event.stream);
  AppendIntField(out, "version", event.version);
  AppendIntField(out, "position", event.position);
  AppendStringField(out, "type", event.type);
  AppendField(out, "data");
  AppendRawObject(out, event.data);
  AppendField(out, "metadata");
  AppendRawObject(out, event.metadata);
  if (!event.correlation_id.empty()) {
    AppendStringField(out, "correlation_id", event.correlation_id);
  }
  if (!event.causation_id.empty()) AppendStringField(out, "causation_id", event.causation_id);
  AppendStringField(out, "recorded_at", FormatTimestamp(event.recorded_at_us));
  out.push_back('}');
  return out;
}

std::string AppendResultToJson(std::string_view stream, const AppendResult& result) {
  std::string out = "{";
  AppendStringField(out, "stream", stream);
  AppendIntField(out, "first_version", result.first_version);
  AppendIntField(out, "last_version", result.last_version);
  AppendIntField(out, "first_position", result.first_position);
  AppendIntField(out, "last_position", result.last_position);
  AppendField(out, "already_stored");
  out += result.already_stored ? "true" : "false";
  out.push_back('}');
  return out;
}

std::string StreamInfoToJson(const StreamInfo& info) {
  std::string out = "{";
  AppendStringField(out, "stream", info.name);
  AppendStringField(out, "category", info.category);
  AppendIntField(out, "version", info.version);
  AppendIntField(out, "event_count", info.event_count);
  AppendIntField(out, "first_position", info.first_position);
  AppendIntField(out, "last_position", info.last_position);
  AppendStringField(out, "last_recorded_at", FormatTimestamp(info.last_recorded_at_us));
  out.push_back('}');
  return out;
}

}  // namespace triad
