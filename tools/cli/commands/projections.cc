// `triad projections`: the status of every projection version.
#include "cli/client/wire_json.h"
#include "cli/commands/command.h"
#include "cli/table.h"

#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

namespace triad::cli {
namespace {

std::string Rate(double events_per_second) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f/s", events_per_second);
  return text;
}

class ProjectionsCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("projections", "List projections and their progress");
    app->footer(VerbFooter(
        "Print every projection version known to the read model, by name then version: its "
        "state (running, paused, caught_up, rebuilding, faulted, retired), whether it serves "
        "queries, its checkpoint, lag behind the head in events, rate and last error. With "
        "--data no handlers run in this process, so every version is shown as unregistered "
        "(its stored progress); the server (--url) shows the ones it runs."));
    return app;
  }

  Status Execute(Context& ctx) override {
    auto client = ctx.client();
    if (!client.ok()) return client.status();
    auto statuses = (*client)->ListProjections();
    if (!statuses.ok()) return statuses.status();
    if (ctx.global.json) {
      for (const ProjectionStatus& s : *statuses) ctx.io.out << ProjectionStatusToJson(s) << '\n';
      return Status::OK();
    }
    if (statuses->empty()) {
      ctx.io.out << "(no projections)\n";
      return Status::OK();
    }
    TableWriter table(ctx.io.out,
                      {{"NAME"},
                       {"VERSION", true},
                       {"STATE"},
                       {"SERVING"},
                       {"CHECKPOINT", true},
                       {"LAG", true},
                       {"RATE", true},
                       {"LAST_ERROR"}},
                      ctx.color());
    std::vector<TableWriter::Row> rows;
    for (const ProjectionStatus& s : *statuses) {
      std::string state(ProjectionStateName(s.state));
      if (!s.registered) {
        state += " (unregistered)";
      } else if (!s.leased) {
        state += " (standby)";  // another node sharing the store runs it
      }
      std::string error = s.last_error;
      if (!error.empty() && s.last_error_position > 0) {
        error = "at " + std::to_string(s.last_error_position) + ": " + error;
      }
      rows.push_back({s.name, std::to_string(s.version), state, s.serving ? "yes" : "no",
                      std::to_string(s.checkpoint) + "/" + std::to_string(s.head_position),
                      std::to_string(s.lag_events), Rate(s.events_per_second), error});
    }
    table.Write(rows);
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<Command> NewProjectionsCommand() { return std::make_unique<ProjectionsCommand>(); }

}  // namespace triad::cli
