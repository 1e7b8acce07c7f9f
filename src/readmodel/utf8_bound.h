// Byte-string bounds over valid UTF-8 text. A query value may be any bytes (a prefix cut inside a
// multi-byte character, say), but PostgreSQL text holds only valid UTF-8 and refuses other
// parameters. Because valid UTF-8 sorts byte-wise exactly as its code points do, every byte
// string B has a smallest valid string at or above it, and for every valid v: v >= B iff
// v >= SmallestValidAtLeast(B), and v < B iff v < SmallestValidAtLeast(B). Comparisons against
// invalid values can so be rewritten into comparisons against valid ones without changing the
// result.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace triad::internal::readmodel {

// Whether `bytes` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// The smallest valid UTF-8 string that is byte-wise >= `bytes`, or nullopt when every valid
// string is smaller.
std::optional<std::string> SmallestValidAtLeast(std::string_view bytes);

}  // namespace triad::internal::readmodel
