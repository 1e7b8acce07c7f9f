// What the route handlers share: the library objects the server runs on, its limits and its
// metrics. Built by the server at start (server.cc) and passed to each Register*Routes().
//
// Thread-safety: the pointers are set once before the server accepts connections; the objects
// they point to are themselves thread-safe.
#pragma once

#include "triad/clock.h"
#include "triad/consumer_groups.h"
#include "triad/event_store.h"
#include "triad/projection_engine.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace triad::server {

class Metrics;
class ScriptedProjections;

// Request limits (docs/operations.md). Every limit refused answers 4xx with a JSON error naming
// the limit and its value.
struct Limits {
  // Largest request body accepted (413 "body_too_large" past it).
  size_t max_body_bytes = size_t{4} * 1024 * 1024;
  // Largest request header block (431).
  size_t max_header_bytes = size_t{16} * 1024;
  // Events in one append (400 "too_many_events").
  size_t max_events_per_append = 1000;
  // Events or documents returned by one read (larger `limit` values are refused with 400).
  int64_t max_read_limit = 10'000;
  // Longest wait a request may ask for (wait_ms, poll wait).
  int64_t max_wait_ms = 60'000;
  // Concurrent SSE clients (503 "too_many_subscribers" past it).
  size_t max_sse_clients = 1000;
  // Requests parked at once waiting for min_position or a poll's messages; they hold no worker
  // thread (503 "too_many_waiters", retryable, past it).
  size_t max_waiters = 1000;
  // Bytes all SSE subscribers together may hold for their writes; a subscriber that would go
  // over waits (holding nothing) until others' writes complete or time out.
  size_t max_sse_buffer_bytes = size_t{64} << 20;
};

struct ServerContext {
  EventStore* store = nullptr;
  ProjectionEngine* engine = nullptr;
  ConsumerGroups* groups = nullptr;
  ScriptedProjections* scripts = nullptr;
  Metrics* metrics = nullptr;
  Clock* clock = nullptr;
  Limits limits;
};

}  // namespace triad::server
