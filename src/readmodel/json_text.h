// Small JSON text helpers for the read-model store's own formats: the
// `sources` version vector ({"stream": version, ...}) stored beside each document. Decoding
// sources by hand keeps a full JSON parser off the get-by-id path.
#pragma once

#include "triad/document.h"
#include "triad/result.h"

#include <string>
#include <string_view>

namespace triad::internal::readmodel {

// `sources` as a JSON object text, keys in map order.
std::string EncodeSources(const std::map<std::string, StreamVersion, std::less<>>& sources);

// Parses the text EncodeSources() wrote (any JSON object of integers is accepted).
// Errors: kDataLoss when `text` is not such an object.
Result<std::map<std::string, StreamVersion, std::less<>>> DecodeSources(std::string_view text);

}  // namespace triad::internal::readmodel
