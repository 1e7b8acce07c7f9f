#include "server/metrics.h"

#include <fmt/format.h>

namespace triad::server {
namespace {

// Label values are route names and projection names; escape what the text format requires.
std::string LabelValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

void Metrics::RecordRequest(std::string_view route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
  auto it = durations_.find(route);
  if (it == durations_.end()) it = durations_.emplace(std::string(route), Histogram{}).first;
  Histogram& histogram = it->second;
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    if (seconds <= kDurationBuckets[i]) ++histogram.buckets[i];
  }
  ++histogram.count;
  histogram.sum += seconds;
}

void Metrics::RecordAppend(int64_t events) {
  std::lock_guard lock(mutex_);
  ++appends_;
  appended_events_ += events;
}

std::string Metrics::Render(EventStore* store, ProjectionEngine* engine) const {
  std::string out;
  auto line = [&out](std::string_view text) { out.append(text).push_back('\n'); };
  {
    std::lock_guard lock(mutex_);
    Header(out, "triad_http_requests_total", "counter",
           "HTTP requests answered, by route and status.");
    for (const auto& [key, count] : requests_) {
      line(fmt::format("triad_http_requests_total{{route=\"{}\",status=\"{}\"}} {}",
                       LabelValue(key.first), key.second, count));
    }
    Header(out, "triad_http_request_duration_seconds", "histogram",
           "Time from a request's last byte read to its response handed to the socket.");
    for (const auto& [route, histogram] : durations_) {
      const std::string label = LabelValue(route);
      for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
        line(fmt::format("triad_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}",
                         label, kDurationBuckets[i], histogram.buckets[i]));
      }
      line(fmt::format("triad_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}",
                       label, histogram.count));
      line(fmt::format("triad_http_request_duration_seconds_sum{{route=\"{}\"}} {}", label,
                       histogram.sum));
      line(fmt::format("triad_http_request_duration_seconds_count{{route=\"{}\"}} {}", label,
                       histogram.count));
    }
    Header(out, "triad_appends_total", "counter", "Successful appends (requests).");
    line(fmt::format("triad_appends_total {}", appends_));
    Header(out, "triad_appended_events_total", "counter", "Events written by appends.");
    line(fmt::format("triad_appended_events_total {}", appended_events_));
  }
  Header(out, "triad_sse_subscribers", "gauge", "Open GET /subscribe streams.");
  line(fmt::format("triad_sse_subscribers {}", sse_subscribers()));
  Header(out, "triad_waiting_requests", "gauge",
         "Requests parked waiting for min_position or consumer-group messages.");
  line(fmt::format("triad_waiting_requests {}", waiting_requests()));
  Header(out, "triad_sse_buffered_bytes", "gauge",
         "Bytes held for SSE subscribers' writes (limits.max_sse_buffer_bytes).");
  line(fmt::format("triad_sse_buffered_bytes {}", sse_buffered_bytes()));
  if (store != nullptr) {
    if (auto head = store->HeadPosition(); head.ok()) {
      Header(out, "triad_head_position", "gauge", "The last committed position of the log.");
      line(fmt::format("triad_head_position {}", *head));
    }
  }
  if (engine != nullptr) {
    if (auto statuses = engine->ListStatus(); statuses.ok()) {
      std::string checkpoint;
      std::string lag_events;
      std::string lag_seconds;
      std::string leased;
      for (const ProjectionStatus& status : *statuses) {
        // A retired version never runs again: its lag would only raise false alerts.
        if (status.state == ProjectionState::kRetired) continue;
        const std::string label = LabelValue(fmt::format("{}@{}", status.name, status.version));
        fmt::format_to(std::back_inserter(checkpoint),
                       "triad_projection_checkpoint{{projection=\"{}\"}} {}\n", label,
                       status.checkpoint);
        fmt::format_to(std::back_inserter(lag_events),
                       "triad_projection_lag_events{{projection=\"{}\"}} {}\n", label,
                       status.lag_events);
        fmt::format_to(std::back_inserter(lag_seconds),
                       "triad_projection_lag_seconds{{projection=\"{}\"}} {}\n", label,
                       status.lag_seconds);
        fmt::format_to(std::back_inserter(leased),
                       "triad_projection_leased{{projection=\"{}\"}} {}\n", label,
                       status.leased ? 1 : 0);
      }
      Header(out, "triad_projection_checkpoint", "gauge", "Last position a projection processed.");
      out += checkpoint;
      Header(out, "triad_projection_lag_events", "gauge",
             "Events a projection is behind the head.");
      out += lag_events;
      Header(out, "triad_projection_lag_seconds", "gauge",
             "Age of a projection's oldest unprocessed event.");
      out += lag_seconds;
      Header(out, "triad_projection_leased", "gauge",
             "1 iff this node runs the projection (holds its lease), 0 in standby.");
      out += leased;
    }
  }
  return out;
}

}  // namespace triad::server
