// The one place where the CLI turns an HTTP error answer of the server (docs/http-api.md,
// "Errors": {"error": {"code", "message", ...details}}) back into the Status the embedded store
// would have returned, so that `triad --url` exits with the same codes as `triad --data`.
//
// Thread-safety: a pure function; safe from any thread.
#pragma once

#include "triad/status.h"

#include <string_view>

namespace triad::cli {

// The Status that an error answer with HTTP status `http_status` and body `body` stands for.
// The JSON `error.code` decides when the body has one (wrong_expected_version → kAborted with
// `current_version`; not_found → kNotFound; invalid_json, invalid_argument, too_many_events,
// body_too_large, headers_too_large → kInvalidArgument; already_exists → kAlreadyExists;
// failed_precondition, unauthorized, forbidden, method_not_allowed → kFailedPrecondition;
// deadline_exceeded → kDeadlineExceeded; resource_exhausted, too_many_subscribers →
// kResourceExhausted; unavailable, shutting_down → kUnavailable; internal → kInternal), else the
// HTTP status does. The message is the server's `error.message` (with a hint about --token for
// 401/403), or "server answered HTTP <status>: <body start>" when the body is not an error
// object. REQUIRES: http_status >= 400.
Status StatusOfErrorResponse(int http_status, std::string_view body);

}  // namespace triad::cli
