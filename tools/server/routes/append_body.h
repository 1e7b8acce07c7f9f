// Parses the body of POST /streams/{stream} (docs/http-api.md), an untrusted input, strictly:
//   {"expected_version": "any" | "no_stream" | "exists" | N,
//    "events": [{"id"?: "uuid", "type": "T", "data"?: {...}, "metadata"?: {...}}]}
// `data` and `metadata` keep the exact bytes received (promise: stored as sent).
//
// Thread-safety: safe from any thread (the parsers are per thread).
#pragma once

#include "triad/event.h"
#include "triad/expected_version.h"

#include <cstddef>
#include <string_view>
#include <variant>
#include <vector>

#include "server/http_types.h"

namespace triad::server {

struct AppendBody {
  ExpectedVersion expected = ExpectedVersion::Any();
  std::vector<NewEvent> events;
};

// The parsed body, or the HTTP error to answer: 400 "invalid_json" (not JSON, not UTF-8, not an
// object), 400 "invalid_argument" (a missing, unknown or mistyped field, or a key repeated in any
// object of the body, `data` and `metadata` included, named), 400
// "too_many_events" (more than `max_events`).
std::variant<AppendBody, HttpResponse> ParseAppendBody(std::string_view body, size_t max_events);

}  // namespace triad::server
