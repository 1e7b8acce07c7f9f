// Splits and percent-decodes an HTTP request target ("/streams/a%2Fb?type=A&type=B").
//
// Thread-safety: pure functions.
#pragma once

#include "triad/result.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::server {

struct DecodedTarget {
  // The decoded path, e.g. "/streams/a b" for "/streams/a%20b". An encoded '/' decodes to a
  // segment separator (stream names cannot hold '/', docs/concepts.md).
  std::string path;
  // Decoded query parameters in order; '+' decodes to a space.
  std::vector<std::pair<std::string, std::string>> query;
};

// Decodes `target`. Errors: kInvalidArgument naming the part that is not valid percent-encoding
// (a '%' not followed by two hex digits), a path that does not start with '/', or a decoded path
// segment holding a NUL byte.
Result<DecodedTarget> DecodeTarget(std::string_view target);

}  // namespace triad::server
