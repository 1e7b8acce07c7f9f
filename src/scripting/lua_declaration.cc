#include "scripting/lua_declaration.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace triad::internal {
namespace {

Status Bad(std::string_view key, std::string_view want) {
  return InvalidArgumentError("declaration: '" + std::string(key) + "' must be " +
                              std::string(want));
}

// An empty Lua table encodes as {}: accepted wherever a list is expected.
bool IsList(const nlohmann::json& value) {
  return value.is_array() || (value.is_object() && value.empty());
}

Result<std::vector<std::string>> StringList(const nlohmann::json& value, std::string_view key) {
  if (!IsList(value)) return Bad(key, "a list of strings");
  std::vector<std::string> out;
  for (const nlohmann::json& item : value) {
    if (!item.is_string()) return Bad(key, "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::string> OneOf(const nlohmann::json& value, std::string_view key,
                          const std::vector<std::string>& allowed) {
  std::string want = "one of";
  for (const std::string& a : allowed) want += " \"" + a + "\"";
  if (!value.is_string()) return Bad(key, want);
  const auto text = value.get<std::string>();
  for (const std::string& a : allowed) {
    if (text == a) return text;
  }
  return Bad(key, want + ", not \"" + text + "\"");
}

bool ValidIndexPath(const std::string& path) {
  size_t segment = 0;
  for (char c : path) {
    if (c == '.') {
      if (segment == 0) return false;
      segment = 0;
      continue;
    }
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok || ++segment > 64) return false;
  }
  return segment > 0;
}

Result<IndexSpec> ParseIndex(const nlohmann::json& index, const std::string& where) {
  if (!index.is_object()) return Bad(where, "a table {path = \"field\", type = \"string\"}");
  IndexSpec spec;
  for (const auto& [key, value] : index.items()) {
    if (key == "path") {
      if (!value.is_string() || !ValidIndexPath(value.get<std::string>())) {
        return Bad(where + ".path",
                   "a dotted path of 1-64 character [A-Za-z0-9_] segments, e.g. \"address.city\"");
      }
      spec.field = value.get<std::string>();
    } else if (key == "type") {
      Result<std::string> type = OneOf(value, where + ".type", {"string", "number", "bool"});
      if (!type.ok()) return type.status();
      spec.type = *type == "string"   ? IndexType::kString
                  : *type == "number" ? IndexType::kNumber
                                      : IndexType::kBool;
    } else {
      return InvalidArgumentError("declaration: unknown key '" + key + "' in " + where +
                                  " (path, type)");
    }
  }
  if (spec.field.empty()) return Bad(where + ".path", "set");
  if (!index.contains("type")) return Bad(where + ".type", "set");
  return spec;
}

Result<std::vector<CollectionSpec>> ParseCollections(const nlohmann::json& value) {
  if (!value.is_object() || value.empty()) {
    return Bad("collections", "a table of at least one collection: {name = {indexes = {...}}}");
  }
  std::vector<CollectionSpec> out;
  for (const auto& [name, spec] : value.items()) {
    const std::string where = "collections." + name;
    if (!spec.is_object()) return Bad(where, "a table {indexes = {...}}");
    CollectionSpec collection{.name = name, .indexes = {}};
    for (const auto& [key, indexes] : spec.items()) {
      if (key != "indexes") {
        return InvalidArgumentError("declaration: unknown key '" + key + "' in " + where +
                                    " (indexes)");
      }
      if (!IsList(indexes)) return Bad(where + ".indexes", "a list of {path, type}");
      size_t i = 0;
      for (const nlohmann::json& index : indexes) {
        Result<IndexSpec> parsed =
            ParseIndex(index, where + ".indexes[" + std::to_string(++i) + "]");
        if (!parsed.ok()) return parsed.status();
        collection.indexes.push_back(*std::move(parsed));
      }
    }
    out.push_back(std::move(collection));
  }
  return out;
}

Result<int64_t> PositiveInteger(const nlohmann::json& value, std::string_view key) {
  if (!value.is_number_integer() || value.get<int64_t>() < 1) return Bad(key, "an integer >= 1");
  return value.get<int64_t>();
}

}  // namespace

Result<ProjectionDefinition> ParseDeclaration(const nlohmann::json& declaration,
                                              std::string_view name, int32_t version,
                                              bool has_on_tick) {
  ProjectionDefinition def;
  def.name = std::string(name);
  def.version = version == 0 ? 1 : version;
  if (!declaration.is_object()) return InvalidArgumentError("the declaration must be a table");
  static const std::set<std::string, std::less<>> kKnown = {
      "name",        "version",      "event_types",      "categories",
      "key",         "error_policy", "trigger",          "record_sources",
      "collections", "batch_size",   "tick_interval_ms", "max_batch_bytes"};
  std::string unknown;
  for (const auto& [key, value] : declaration.items()) {
    if (!kKnown.contains(key)) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
  }
  if (!unknown.empty()) {
    return InvalidArgumentError(
        "declaration: unknown keys " + unknown +
        " (known: name, version, event_types, categories, key, error_policy, trigger, "
        "record_sources, collections, batch_size, max_batch_bytes, tick_interval_ms, on_event, "
        "on_tick)");
  }
  if (const auto it = declaration.find("name"); it != declaration.end()) {
    if (!it->is_string()) return Bad("name", "a string");
    if (it->get<std::string>() != name) {
      return InvalidArgumentError("declaration: name '" + it->get<std::string>() +
                                  "' disagrees with the projection name '" + std::string(name) +
                                  "'");
    }
  }
  if (const auto it = declaration.find("version"); it != declaration.end()) {
    Result<int64_t> declared = PositiveInteger(*it, "version");
    if (!declared.ok()) return declared.status();
    if (*declared > INT32_MAX) return Bad("version", "below 2^31");
    if (version != 0 && *declared != version) {
      return InvalidArgumentError("declaration: version " + std::to_string(*declared) +
                                  " disagrees with the version being deployed, " +
                                  std::to_string(version));
    }
    def.version = static_cast<int32_t>(*declared);
  }
  for (const auto& [key, value] : declaration.items()) {
    if (key == "event_types" || key == "categories") {
      Result<std::vector<std::string>> list = StringList(value, key);
      if (!list.ok()) return list.status();
      (key == "event_types" ? def.event_types : def.categories) = *std::move(list);
    } else if (key == "key") {
      Result<std::string> k = OneOf(value, key, {"stream", "handler"});
      if (!k.ok()) return k.status();
      def.key = *k == "stream" ? DocumentKey::kStream : DocumentKey::kHandlerChosen;
    } else if (key == "error_policy") {
      Result<std::string> p = OneOf(value, key, {"stop", "skip", "dead_letter"});
      if (!p.ok()) return p.status();
      def.error_policy = *p == "stop"   ? ErrorPolicy::kStop
                         : *p == "skip" ? ErrorPolicy::kSkip
                                        : ErrorPolicy::kDeadLetter;
    } else if (key == "trigger") {
      Result<std::string> t = OneOf(value, key, {"push", "manual"});
      if (!t.ok()) return t.status();
      def.trigger = *t == "push" ? TriggerMode::kPush : TriggerMode::kManual;
    } else if (key == "record_sources") {
      if (!value.is_boolean()) return Bad(key, "true or false");
      def.record_sources = value.get<bool>();
    } else if (key == "collections") {
      Result<std::vector<CollectionSpec>> collections = ParseCollections(value);
      if (!collections.ok()) return collections.status();
      def.collections = *std::move(collections);
    } else if (key == "batch_size") {
      Result<int64_t> size = PositiveInteger(value, key);
      if (!size.ok()) return size.status();
      def.batch_size = static_cast<size_t>(*size);
    } else if (key == "max_batch_bytes") {
      Result<int64_t> bytes = PositiveInteger(value, key);
      if (!bytes.ok()) return bytes.status();
      def.max_batch_bytes = static_cast<size_t>(*bytes);
    } else if (key == "tick_interval_ms") {
      Result<int64_t> ms = PositiveInteger(value, key);
      if (!ms.ok()) return ms.status();
      if (*ms > INT64_MAX / 1000) return Bad(key, "at most 2^63 microseconds");
      def.tick_interval_us = *ms * 1000;
    }
  }
  if (def.collections.empty()) {
    return Bad("collections", "a table of at least one collection: {name = {indexes = {...}}}");
  }
  if (has_on_tick && def.tick_interval_us == 0) {
    return InvalidArgumentError("declaration: on_tick needs tick_interval_ms");
  }
  if (!has_on_tick && def.tick_interval_us > 0) {
    return InvalidArgumentError("declaration: tick_interval_ms is set without on_tick");
  }
  return def;
}

}  // namespace triad::internal
