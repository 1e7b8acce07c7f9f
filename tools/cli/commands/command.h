// One verb of the CLI. Each lives in its own file (commands/<verb>.cc) and is created by the
// factory below; cli.cc registers them all and runs the one the command line names.
#pragma once

#include "cli/context.h"

#include "triad/status.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace triad::cli {

class Command {
 public:
  Command() = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;
  virtual ~Command() = default;

  // Adds the verb's subcommand, options and help text to `root` and returns it. Option values
  // bind to members of this object, so it must outlive the parse.
  virtual CLI::App* Register(CLI::App& root) = 0;

  // Runs the verb after a successful parse. Writes results to ctx.io.out. Returns the error to
  // report (Run() prints it as "triad: <message>" and maps its code to the exit code).
  virtual Status Execute(Context& ctx) = 0;
};

std::unique_ptr<Command> NewAppendCommand();
std::unique_ptr<Command> NewReadCommand();
std::unique_ptr<Command> NewEventsCommand();
std::unique_ptr<Command> NewStreamsCommand();
std::unique_ptr<Command> NewStatsCommand();
std::unique_ptr<Command> NewCheckCommand();
std::unique_ptr<Command> NewProjectionsCommand();
std::unique_ptr<Command> NewProjectionCommand();
std::unique_ptr<Command> NewGetCommand();
std::unique_ptr<Command> NewFindCommand();
std::unique_ptr<Command> NewGroupsCommand();
// `triad serve`: runs the HTTP server (commands/serve.cc, written with the server).
std::unique_ptr<Command> NewServeCommand();

// The help footer of a verb: `details` (what the verb does, at length), then the global options
// and exit codes, which a verb's own option list does not show.
std::string VerbFooter(std::string_view details);

// "1 event", "2 events": `n` and `noun`, plural with an "s" unless n is 1.
std::string CountOf(int64_t n, std::string_view noun);

}  // namespace triad::cli
