// `triad stats`: counts and sizes of the store.
#include "cli/commands/command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace triad::cli {
namespace {

class StatsCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("stats", "Show counts and sizes of the store");
    app->footer(VerbFooter(
        "Print the store's description, its head position (the last committed position), the "
        "number of events, streams and snapshots, and the bytes it uses on disk (database file "
        "plus write-ahead log; 0 for memory:). Embedded stores only (--data): over --url, the "
        "server's GET /metrics has its counters."));
    return app;
  }

  Status Execute(Context& ctx) override {
    auto client = ctx.client();
    if (!client.ok()) return client.status();
    auto answer = (*client)->Stats();
    if (!answer.ok()) return answer.status();
    const BackendStats* stats = &answer->stats;

    const std::vector<std::pair<std::string, std::string>> fields = {
        {"store", answer->store},
        {"head_position", std::to_string(stats->head_position)},
        {"events", std::to_string(stats->event_count)},
        {"streams", std::to_string(stats->stream_count)},
        {"snapshots", std::to_string(stats->snapshot_count)},
        {"bytes", std::to_string(stats->storage_bytes)},
    };
    if (ctx.global.json) {
      const nlohmann::ordered_json json = {
          {"store", answer->store},
          {"head_position", stats->head_position},
          {"events", stats->event_count},
          {"streams", stats->stream_count},
          {"snapshots", stats->snapshot_count},
          {"bytes", stats->storage_bytes},
      };
      ctx.io.out << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      return Status::OK();
    }
    size_t width = 0;
    for (const auto& [name, value] : fields) width = std::max(width, name.size());
    for (const auto& [name, value] : fields) {
      ctx.io.out << name << std::string(width - name.size() + 2, ' ') << value << '\n';
    }
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<Command> NewStatsCommand() { return std::make_unique<StatsCommand>(); }

}  // namespace triad::cli
