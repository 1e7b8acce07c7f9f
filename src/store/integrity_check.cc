#include "store/integrity_check.h"

#include "store/event_validator.h"
#include "util/status_macros.h"

#include <string>
#include <unordered_map>

namespace triad::internal {
namespace {

constexpr size_t kPage = 10000;
constexpr size_t kMaxProblems = 100;

struct SeenStream {
  int64_t count = 0;
  Position first_position = 0;
  Position last_position = 0;
};

}  // namespace

Result<CheckReport> CheckIntegrity(Backend& backend) {
  CheckReport report;
  auto problem = [&](std::string text) {
    if (report.problems.size() < kMaxProblems) report.problems.push_back(std::move(text));
  };
  TRIAD_ASSIGN_OR_RETURN(report.head_position, backend.HeadPosition());

  std::unordered_map<std::string, SeenStream> streams;
  Position expected_position = 1;
  ReadAllOptions page;
  page.limit = kPage;
  while (true) {
    page.from_position = expected_position;
    TRIAD_ASSIGN_OR_RETURN(auto events, backend.ReadAll(page));
    if (events.empty()) break;
    for (const RecordedEvent& e : events) {
      if (e.position != expected_position) {
        problem("position gap: expected " + std::to_string(expected_position) + ", found " +
                std::to_string(e.position));
      }
      expected_position = e.position + 1;
      SeenStream& s = streams[e.stream];
      if (e.version != s.count) {
        problem("stream '" + e.stream + "': event at position " + std::to_string(e.position) +
                " has version " + std::to_string(e.version) + ", expected " +
                std::to_string(s.count));
      }
      if (s.count == 0) s.first_position = e.position;
      s.count = e.version + 1;
      s.last_position = e.position;
      if (Status st = ValidateJsonObject(e.data, "data"); !st.ok()) {
        problem("position " + std::to_string(e.position) + ": " + st.message());
      }
      if (Status st = ValidateJsonObject(e.metadata, "metadata"); !st.ok()) {
        problem("position " + std::to_string(e.position) + ": " + st.message());
      }
      ++report.events_checked;
    }
  }
  if (expected_position - 1 != report.head_position) {
    problem("head position is " + std::to_string(report.head_position) + " but the log ends at " +
            std::to_string(expected_position - 1));
  }

  ListStreamsOptions list;
  list.limit = kPage;
  int64_t listed = 0;
  while (true) {
    TRIAD_ASSIGN_OR_RETURN(auto infos, backend.ListStreams(list));
    if (infos.empty()) break;
    for (const StreamInfo& info : infos) {
      ++listed;
      auto it = streams.find(info.name);
      if (it == streams.end()) {
        problem("stream '" + info.name + "' is listed but has no events");
        continue;
      }
      const SeenStream& s = it->second;
      if (info.version != s.count - 1 || info.event_count != s.count ||
          info.first_position != s.first_position || info.last_position != s.last_position) {
        problem("stream '" + info.name + "': summary (version " + std::to_string(info.version) +
                ", " + std::to_string(info.event_count) + " events, positions " +
                std::to_string(info.first_position) + ".." + std::to_string(info.last_position) +
                ") differs from its events (version " + std::to_string(s.count - 1) + ", " +
                std::to_string(s.count) + " events, positions " + std::to_string(s.first_position) +
                ".." + std::to_string(s.last_position) + ")");
      }
    }
    list.after = infos.back().name;
  }
  if (listed != static_cast<int64_t>(streams.size())) {
    problem(std::to_string(streams.size()) + " streams have events but " + std::to_string(listed) +
            " are listed");
  }
  report.streams_checked = static_cast<int64_t>(streams.size());

  TRIAD_ASSIGN_OR_RETURN(auto storage_problems, backend.CheckStorage());
  for (std::string& p : storage_problems) problem(std::move(p));
  return report;
}

}  // namespace triad::internal
