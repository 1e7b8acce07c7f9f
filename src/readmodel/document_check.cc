#include "readmodel/document_check.h"

#include "util/quote.h"

#include <simdjson.h>

#include <string>

namespace triad::internal::readmodel {
namespace {

constexpr size_t kMaxIdBytes = 512;

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

Status ValidateDocument(const Document& document) {
  if (document.id.empty() || document.id.size() > kMaxIdBytes) {
    return InvalidArgumentError("document id " + Quote(document.id) + " must be 1-512 bytes, got " +
                                std::to_string(document.id.size()));
  }
  simdjson::dom::element root;
  const auto error = ThreadParser().parse(document.body).get(root);
  if (error != simdjson::SUCCESS) {
    return InvalidArgumentError("body of document " + Quote(document.id) +
                                " is not valid JSON: " + simdjson::error_message(error));
  }
  if (!root.is_object()) {
    return InvalidArgumentError("body of document " + Quote(document.id) +
                                " must be a JSON object");
  }
  return Status::OK();
}

}  // namespace triad::internal::readmodel
