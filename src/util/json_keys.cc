#include "util/json_keys.h"

#include "util/quote.h"

#include "triad/json_keys.h"

#include <algorithm>
#include <string>
#include <vector>

namespace triad {
namespace internal {
namespace {

// Objects with at most this many members are checked pairwise (no allocation); larger ones are
// sorted.
constexpr size_t kPairwiseMembers = 16;

// Finds a repeated key in `element` or below. `path` is where `element` is ("" at the top);
// on failure *repeated holds the key and `path` where its object is.
bool FindRepeated(simdjson::dom::element element, std::string& path, std::string* repeated) {
  simdjson::dom::array array;
  if (element.get_array().get(array) == simdjson::SUCCESS) {
    size_t index = 0;
    for (simdjson::dom::element item : array) {
      const size_t size = path.size();
      path += '[';
      path += std::to_string(index++);
      path += ']';
      if (FindRepeated(item, path, repeated)) return true;
      path.resize(size);
    }
    return false;
  }
  simdjson::dom::object object;
  if (element.get_object().get(object) != simdjson::SUCCESS) return false;
  std::vector<std::string_view> keys;
  keys.reserve(object.size());
  for (const simdjson::dom::key_value_pair field : object) {
    if (keys.size() < kPairwiseMembers &&
        std::find(keys.begin(), keys.end(), field.key) != keys.end()) {
      *repeated = std::string(field.key);
      return true;
    }
    keys.push_back(field.key);
  }
  if (keys.size() > kPairwiseMembers) {
    std::sort(keys.begin(), keys.end());
    if (auto it = std::adjacent_find(keys.begin(), keys.end()); it != keys.end()) {
      *repeated = std::string(*it);
      return true;
    }
  }
  for (const simdjson::dom::key_value_pair field : object) {
    const size_t size = path.size();
    if (!path.empty()) path += '.';
    path += field.key;
    if (FindRepeated(field.value, path, repeated)) return true;
    path.resize(size);
  }
  return false;
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

Status CheckUniqueKeys(simdjson::dom::element root, std::string_view what) {
  std::string path;
  std::string repeated;
  if (!FindRepeated(root, path, &repeated)) return Status::OK();
  return InvalidArgumentError(
      std::string(what) + ": key " + Quote(repeated) + " appears twice " +
      (path.empty() ? std::string("at the top level") : "in " + Quote(path)));
}

}  // namespace internal

Status CheckJsonKeysUnique(std::string_view json, std::string_view what) {
  simdjson::dom::element root;
  const auto error = internal::ThreadParser().parse(json.data(), json.size()).get(root);
  if (error != simdjson::SUCCESS) {
    return InvalidArgumentError(std::string(what) +
                                " is not valid JSON: " + simdjson::error_message(error));
  }
  return internal::CheckUniqueKeys(root, what);
}

}  // namespace triad
