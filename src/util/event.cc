#include "triad/event.h"

#include <cstdio>
#include <ctime>

namespace triad {

std::string_view CategoryOf(std::string_view stream) {
  const size_t dash = stream.find('-');
  return dash == std::string_view::npos ? stream : stream.substr(0, dash);
}

EventView ViewOf(const RecordedEvent& event) {
  return EventView{.id = event.id,
                   .stream = event.stream,
                   .version = event.version,
                   .position = event.position,
                   .type = event.type,
                   .data = event.data,
                   .metadata = event.metadata,
                   .correlation_id = event.correlation_id,
                   .causation_id = event.causation_id,
                   .recorded_at_us = event.recorded_at_us};
}

std::string FormatTimestamp(int64_t micros_since_epoch) {
  int64_t seconds = micros_since_epoch / 1'000'000;
  int64_t micros = micros_since_epoch % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

}  // namespace triad
