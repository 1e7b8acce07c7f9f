// The checks every backend applies to a document before storing it (docs/queries.md,
// "Documents"): bad input is refused, never stored (promise 7).
#pragma once

#include "triad/document.h"
#include "triad/status.h"

namespace triad::internal::readmodel {

// OK iff the id has 1-512 bytes and the body is a JSON object.
// Errors: kInvalidArgument naming the document.
Status ValidateDocument(const Document& document);

}  // namespace triad::internal::readmodel
