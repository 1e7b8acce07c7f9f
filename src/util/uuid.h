// UUIDs for event ids: generation (UUIDv7, time-ordered so the id index grows at its end) and
// parsing of client-given ids into the canonical lowercase form.
#pragma once

#include "triad/clock.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace triad::internal {

// A new UUIDv7 (RFC 9562): 48 bits of Unix milliseconds from `clock`, then random bits.
// Thread-safe.
std::string GenerateUuidV7(Clock& clock);

// The UUIDv7 text for `unix_millis` and the random bits `r1` (12 used) and `r2` (62 used), for
// callers with their own random source (a seeded benchmark).
std::string FormatUuidV7(uint64_t unix_millis, uint64_t r1, uint64_t r2);

// The canonical form (36 characters, lowercase hex, hyphens at 8-4-4-4-12) of `text`, or nullopt
// if `text` is not a UUID in that layout (either case accepted).
std::optional<std::string> CanonicalUuid(std::string_view text);

}  // namespace triad::internal
