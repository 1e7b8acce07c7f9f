// `triad streams`: stream summaries in name order, filtered, paged through.
#include "cli/commands/command.h"
#include "cli/option_checks.h"
#include "cli/table.h"

#include "triad/event_json.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace triad::cli {
namespace {

// Streams fetched per call; bounds memory while listing many streams.
constexpr int64_t kPageSize = 1000;

class StreamsCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("streams", "List streams");
    app->add_option("--prefix", prefix_, "Keep only streams whose name starts with P")
        ->option_text("P");
    app->add_option("--category", category_,
                    "Keep only streams of category C (the name's text before its first '-')")
        ->option_text("C");
    app->add_option("--limit", limit_, "Print at most N streams (default: all)")
        ->check(PositiveInteger())
        ->option_text("N");
    app->footer(VerbFooter(
        "Print every stream (or those matching --prefix and --category) in name order with its "
        "version, event count, first and last positions and the time of its last event."));
    return app;
  }

  Status Execute(Context& ctx) override {
    auto client = ctx.client();
    if (!client.ok()) return client.status();

    TableWriter table(ctx.io.out,
                      {{"STREAM"},
                       {"CATEGORY"},
                       {"VERSION", true},
                       {"EVENTS", true},
                       {"FIRST_POSITION", true},
                       {"LAST_POSITION", true},
                       {"LAST_RECORDED_AT"}},
                      ctx.color());
    ListStreamsOptions list;
    list.prefix = prefix_;
    list.category = category_;
    int64_t printed = 0;
    while (!limit_ || printed < *limit_) {
      if (ctx.stop_requested()) return CancelledError("interrupted");
      const int64_t want = limit_ ? std::min(kPageSize, *limit_ - printed) : kPageSize;
      list.limit = static_cast<size_t>(want);
      auto streams = (*client)->ListStreams(list);
      if (!streams.ok()) return streams.status();
      if (ctx.global.json) {
        for (const StreamInfo& info : *streams) ctx.io.out << StreamInfoToJson(info) << '\n';
      } else {
        std::vector<TableWriter::Row> rows;
        for (const StreamInfo& info : *streams) {
          rows.push_back({info.name, info.category, std::to_string(info.version),
                          std::to_string(info.event_count), std::to_string(info.first_position),
                          std::to_string(info.last_position),
                          FormatTimestamp(info.last_recorded_at_us)});
        }
        table.Write(rows);
      }
      printed += static_cast<int64_t>(streams->size());
      if (static_cast<int64_t>(streams->size()) < want) break;
      list.after = streams->back().name;
    }
    if (!ctx.global.json && printed == 0) ctx.io.out << "(no streams)\n";
    return Status::OK();
  }

 private:
  std::string prefix_;
  std::string category_;
  std::optional<int64_t> limit_;
};

}  // namespace

std::unique_ptr<Command> NewStreamsCommand() { return std::make_unique<StreamsCommand>(); }

}  // namespace triad::cli
