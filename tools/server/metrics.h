// The server's Prometheus metrics (docs/operations.md, "Metrics"): request counts and latency
// histograms by route, append counters, the SSE subscriber gauge, and, read at scrape time, the
// head position and each projection's checkpoint and lag.
//
// Thread-safety: every method is safe to call concurrently; recording takes a short mutex.
#pragma once

#include "triad/event_store.h"
#include "triad/projection_engine.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace triad::server {

class Metrics {
 public:
  // Upper bounds (seconds) of the request-duration histogram buckets, before +Inf.
  static constexpr std::array<double, 12> kDurationBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5};

  // Counts one answered request of route `route` (its RouteInfo::name, or "unmatched") with HTTP
  // `status`, which took `seconds`.
  void RecordRequest(std::string_view route, int status, double seconds);
  // Counts one successful append that wrote `events` events (0 for an idempotent retry).
  void RecordAppend(int64_t events);
  // The SSE subscriber gauge.
  void AddSseSubscriber() { sse_subscribers_.fetch_add(1); }
  void RemoveSseSubscriber() { sse_subscribers_.fetch_sub(1); }
  int64_t sse_subscribers() const { return sse_subscribers_.load(); }
  // The parked-requests gauge (requests waiting for min_position or poll messages).
  void AddWaitingRequests(int64_t delta) { waiting_requests_.fetch_add(delta); }
  int64_t waiting_requests() const { return waiting_requests_.load(); }
  // Bytes held for SSE subscribers' writes (sse.max_buffer_bytes each, limits.max_sse_buffer_bytes
  // in all).
  void AddSseBufferedBytes(int64_t delta) { sse_buffered_bytes_.fetch_add(delta); }
  int64_t sse_buffered_bytes() const { return sse_buffered_bytes_.load(); }

  // The Prometheus text exposition (format 0.0.4) of every metric. `store` and `engine` may be
  // null (their gauges are then left out); their read errors leave the gauge out too, so a
  // scrape never fails.
  std::string Render(EventStore* store, ProjectionEngine* engine) const;

 private:
  struct Histogram {
    std::array<int64_t, kDurationBuckets.size()> buckets{};
    int64_t count = 0;
    double sum = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (route, status) → count
  std::map<std::string, Histogram, std::less<>> durations_;  // route → histogram
  int64_t appends_ = 0;
  int64_t appended_events_ = 0;
  std::atomic<int64_t> sse_subscribers_{0};
  std::atomic<int64_t> waiting_requests_{0};
  std::atomic<int64_t> sse_buffered_bytes_{0};
};

}  // namespace triad::server
