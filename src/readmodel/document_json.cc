// The public free functions of triad/document.h.
#include "triad/document.h"
#include "triad/event_json.h"

#include <string>

#include "readmodel/json_text.h"

namespace triad {

std::string DocumentMetaToJson(const DocumentMeta& meta) {
  std::string out = "{\"projection\":";
  triad::AppendJsonString(out, meta.projection);
  out += ",\"position\":";
  out += std::to_string(meta.position);
  out += ",\"sources\":";
  out += internal::readmodel::EncodeSources(meta.sources);
  out.push_back('}');
  return out;
}

std::string DocumentToJson(const Document& document) {
  const std::string& body = document.body;
  // The object's closing brace, and whether any member precedes it.
  size_t close = body.find_last_not_of(" \t\r\n");
  if (close == std::string::npos || body[close] != '}') close = body.size();
  const size_t before =
      close == 0 ? std::string::npos : body.find_last_not_of(" \t\r\n", close - 1);
  const bool empty = before == std::string::npos || body[before] == '{';
  std::string out;
  out.reserve(body.size() + 96);
  if (close == body.size()) {
    out.push_back('{');  // not an object (a REQUIRES violation): still emit valid JSON
  } else {
    out.append(body, 0, close);
    if (!empty) out.push_back(',');
  }
  // The id leads `_meta`, so that query answers say which document each one is.
  out += "\"_meta\":{\"id\":";
  triad::AppendJsonString(out, document.id);
  out.push_back(',');
  out += std::string_view(DocumentMetaToJson(document.meta)).substr(1);
  out.push_back('}');
  return out;
}

std::string_view IndexTypeName(IndexType type) {
  switch (type) {
    case IndexType::kString:
      return "string";
    case IndexType::kNumber:
      return "number";
    case IndexType::kBool:
      return "bool";
  }
  return "unknown";
}

std::string_view FilterOpName(FilterOp op) {
  switch (op) {
    case FilterOp::kEq:
      return "eq";
    case FilterOp::kNe:
      return "ne";
    case FilterOp::kLt:
      return "lt";
    case FilterOp::kLe:
      return "le";
    case FilterOp::kGt:
      return "gt";
    case FilterOp::kGe:
      return "ge";
    case FilterOp::kIn:
      return "in";
    case FilterOp::kPrefix:
      return "prefix";
  }
  return "unknown";
}

}  // namespace triad
