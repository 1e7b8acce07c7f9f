// Small JSON text helpers for the read-model store's own formats: escaping strings and the
// `sources` version vector ({"stream": version, ...}) stored beside each document. Decoding
// sources by hand keeps a full JSON parser off the get-by-id path.
#pragma once

#include "triad/document.h"
#include "triad/result.h"

#include <string>
#include <string_view>

namespace triad::internal::readmodel {

// Appends `text` as a JSON string literal (quotes, backslash and control characters escaped;
// other bytes copied as they are).
void AppendJsonString(std::string& out, std::string_view text);

// `sources` as a JSON object text, keys in map order.
std::string EncodeSources(const std::map<std::string, StreamVersion, std::less<>>& sources);

// Parses the text EncodeSources() wrote (any JSON object of integers is accepted).
// Errors: kDataLoss when `text` is not such an object.
Result<std::map<std::string, StreamVersion, std::less<>>> DecodeSources(std::string_view text);

}  // namespace triad::internal::readmodel
