#include "triad/event_json.h"

#include <cstdio>

namespace triad {
namespace {

constexpr std::string_view kReplacementCharacter = "\\ufffd";

// Length of the well-formed UTF-8 sequence starting at text[i], or 0 if it is malformed
// (overlong forms, surrogates and code points above U+10FFFF included, per RFC 3629).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // overlong
    if (lead == 0xED) max_second = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;  // overlong
    if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

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
      const size_t length = Utf8SequenceLength(text, i);
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
