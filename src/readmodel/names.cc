#include "readmodel/names.h"

#include <string>

namespace triad::internal::readmodel {
namespace {

bool IsFieldChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

Status ValidateFieldPath(std::string_view field) {
  if (field.empty()) return InvalidArgumentError("field path is empty");
  size_t segment = 0;
  for (size_t i = 0; i <= field.size(); ++i) {
    if (i == field.size() || field[i] == '.') {
      if (segment == 0 || segment > 64) {
        return InvalidArgumentError("field path " + Quote(field) +
                                    " is invalid: each dot-separated segment must be 1-64 "
                                    "characters of [A-Za-z0-9_]");
      }
      segment = 0;
    } else if (!IsFieldChar(field[i])) {
      return InvalidArgumentError("field path " + Quote(field) +
                                  " is invalid: only [A-Za-z0-9_] and '.' between segments");
    } else {
      ++segment;
    }
  }
  return Status::OK();
}

Status ValidateCollectionName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] >= 'a' && name[0] <= 'z';
  for (const char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) {
    return InvalidArgumentError("collection name " + Quote(name) +
                                " is invalid: 1-64 characters of [a-z0-9_-], starting with a "
                                "letter");
  }
  return Status::OK();
}

Status ValidateStorageName(std::string_view storage_name) {
  if (storage_name.empty() || storage_name.size() > 512) {
    return InvalidArgumentError("collection storage name " + Quote(storage_name) +
                                " must be 1-512 bytes");
  }
  for (const char c : storage_name) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return InvalidArgumentError("collection storage name " + Quote(storage_name) +
                                  " holds a control character");
    }
  }
  return Status::OK();
}

std::string IndexExpression(std::string_view field, IndexType type) {
  const std::string path = "'$." + std::string(field) + "'";
  switch (type) {
    case IndexType::kString:
      return "CASE WHEN json_type(body, " + path + ") = 'text' THEN json_extract(body, " + path +
             ") END";
    case IndexType::kNumber:
      return "CASE WHEN json_type(body, " + path +
             ") IN ('integer', 'real') THEN CAST(json_extract(body, " + path + ") AS REAL) END";
    case IndexType::kBool:
      return "CASE json_type(body, " + path + ") WHEN 'true' THEN 1 WHEN 'false' THEN 0 END";
  }
  return "NULL";
}

std::string_view ProjectionOfStorageName(std::string_view storage_name) {
  const size_t slash = storage_name.find('/');
  return slash == std::string_view::npos ? storage_name : storage_name.substr(0, slash);
}

}  // namespace triad::internal::readmodel
