// UTF-8 well-formedness, shared by the JSON writer (util/event_json.cc) and the read model's
// query bounds (readmodel/utf8_bound.cc).
#pragma once

#include <cstddef>
#include <string_view>

namespace triad::internal {

// The length (1-4) of the well-formed UTF-8 sequence at the start of `text`, or 0 when `text` is
// empty or does not start with one (overlong forms, surrogates and code points above U+10FFFF
// are malformed, per RFC 3629).
size_t Utf8SequenceLength(std::string_view text);

}  // namespace triad::internal
