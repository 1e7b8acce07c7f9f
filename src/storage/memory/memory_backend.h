// MemoryBackend: a Backend kept in process memory, for tests. Same contract as the durable
// backends (tests/conformance), no persistence.
#pragma once

#include "triad/backend.h"

#include <memory>

namespace triad::internal {

// Creates an empty memory backend.
std::unique_ptr<Backend> NewMemoryBackend();

}  // namespace triad::internal
