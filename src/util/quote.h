// Quoting untrusted text for error messages.
#pragma once

#include <string>
#include <string_view>

namespace triad::internal {

// A printable rendering of untrusted text for error messages: in single quotes, at most 60
// bytes (then "..."), control bytes escaped as \xNN. Thread-safe.
std::string Quote(std::string_view text);

}  // namespace triad::internal
