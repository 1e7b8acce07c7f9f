// `triad check`: verifies the store's invariants (EventStore::Check()).
#include "cli/commands/command.h"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace triad::cli {
namespace {

class CheckCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("check", "Verify the store's invariants");
    app->footer(VerbFooter(
        "Read the whole log and verify that positions are dense from 1, each stream's versions "
        "are dense from 0, stream summaries match their events, every data and metadata is a "
        "JSON object, and the storage engine's own integrity check passes. Prints the report; "
        "exits 1 if any problem was found. O(events). Embedded stores only (--data)."));
    return app;
  }

  Status Execute(Context& ctx) override {
    auto client = ctx.client();
    if (!client.ok()) return client.status();
    auto answer = (*client)->Check();
    if (!answer.ok()) return answer.status();
    const CheckReport* report = &answer->report;

    const auto problems = static_cast<int64_t>(report->problems.size());
    const std::string counts = CountOf(report->events_checked, "event") + " in " +
                               CountOf(report->streams_checked, "stream") + ", head position " +
                               std::to_string(report->head_position);
    if (ctx.global.json) {
      const nlohmann::ordered_json json = {
          {"store", answer->store},
          {"ok", report->ok()},
          {"head_position", report->head_position},
          {"events_checked", report->events_checked},
          {"streams_checked", report->streams_checked},
          {"problems", report->problems},
      };
      ctx.io.out << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else if (report->ok()) {
      ctx.io.out << "ok: " << answer->store << ": " << counts << '\n';
    } else {
      ctx.io.out << CountOf(problems, "problem") << " in " << answer->store << " (" << counts
                 << "):\n";
      for (const std::string& problem : report->problems) ctx.io.out << "  " << problem << '\n';
    }
    if (report->ok()) return Status::OK();
    return DataLossError("check found " + CountOf(problems, "problem") +
                         "; see the report on stdout");
  }
};

}  // namespace

std::unique_ptr<Command> NewCheckCommand() { return std::make_unique<CheckCommand>(); }

}  // namespace triad::cli
