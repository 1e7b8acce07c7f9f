#include "cli/event_printer.h"

#include "triad/event_json.h"

#include <ostream>
#include <string>
#include <vector>

namespace triad::cli {
namespace {

std::vector<TableWriter::Column> ColumnsFor(EventPrinter::Layout layout) {
  if (layout == EventPrinter::Layout::kStream) {
    return {{"VERSION", true}, {"POSITION", true}, {"TYPE"}, {"RECORDED_AT"}, {"DATA"}};
  }
  return {{"POSITION", true}, {"STREAM"}, {"VERSION", true}, {"TYPE"}, {"RECORDED_AT"}, {"DATA"}};
}

}  // namespace

EventPrinter::EventPrinter(const Context& ctx, Layout layout)
    : ctx_(ctx), layout_(layout), table_(ctx.io.out, ColumnsFor(layout), ctx.color()) {}

void EventPrinter::Print(std::span<const RecordedEvent> events) {
  if (events.empty()) return;
  count_ += static_cast<int64_t>(events.size());
  std::ostream& out = ctx_.io.out;
  if (ctx_.global.json) {
    for (const RecordedEvent& e : events) out << EventToJson(e) << '\n';
  } else {
    std::vector<TableWriter::Row> rows;
    rows.reserve(events.size());
    for (const RecordedEvent& e : events) {
      if (layout_ == Layout::kStream) {
        rows.push_back({std::to_string(e.version), std::to_string(e.position), e.type,
                        FormatTimestamp(e.recorded_at_us), e.data});
      } else {
        rows.push_back({std::to_string(e.position), e.stream, std::to_string(e.version), e.type,
                        FormatTimestamp(e.recorded_at_us), e.data});
      }
    }
    table_.Write(rows);
  }
  out.flush();
}

void EventPrinter::Finish() {
  if (!ctx_.global.json && count_ == 0) ctx_.io.out << "(no events)\n";
  ctx_.io.out.flush();
}

}  // namespace triad::cli
