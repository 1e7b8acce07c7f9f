#include "cli/cli.h"

#include "cli/commands/command.h"
#include "cli/context.h"
#include "cli/exit_codes.h"

#include <CLI/CLI.hpp>

#include <exception>
#include <memory>
#include <ostream>
#include <vector>

#ifndef TRIAD_VERSION
#define TRIAD_VERSION "unknown"
#endif

namespace triad::cli {
namespace {

constexpr const char* kUsageHint = "run 'triad --help' or 'triad VERB --help' for usage";

constexpr const char* kRootFooter =
    "Global options go before or after the verb. Output is a table for people, or with --json\n"
    "NDJSON for scripts (one event envelope per line).\n"
    "Exit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 conflict (wrong expected version),\n"
    "4 not found.\n"
    "Environment: TRIAD_DATA names the store when --data is absent; NO_COLOR disables styling.\n"
    "Full reference: docs/cli.md";

// Reports a CLI11 parse outcome: help and --version go to stdout with exit 0, errors to stderr
// with exit 2.
int ReportParseError(const CLI::App& app, const CLI::ParseError& e, CliIo& io) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    // CLI11 prints the help of the verb being parsed, or --version's text.
    return app.exit(e, io.out, io.err);
  }
  if (app.get_subcommands().empty()) {
    const auto extras = app.remaining();
    if (!extras.empty() && !extras.front().starts_with("-")) {
      io.err << "triad: unknown verb '" << extras.front()
             << "' (verbs: append, read, events, streams, stats, check); " << kUsageHint << '\n';
      return kExitUsage;
    }
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && extras.empty()) {
      io.err << "triad: a verb is required (append, read, events, streams, stats, check); "
             << kUsageHint << '\n';
      return kExitUsage;
    }
  }
  io.err << "triad: ";
  // CLI11's messages do not say which verb they are about ("STREAM is required").
  if (!app.get_subcommands().empty()) io.err << app.get_subcommands().front()->get_name() << ": ";
  io.err << e.what() << "; " << kUsageHint << '\n';
  return kExitUsage;
}

int RunOrThrow(int argc, const char* const* argv, CliIo& io) {
  CLI::App app("triad: the command-line tool of the Triad event store.", "triad");
  app.require_subcommand(1);
  // Options a verb does not know are handed to the root: global options after the verb work.
  app.fallthrough();
  app.set_version_flag("--version", std::string("triad ") + TRIAD_VERSION);
  app.footer(kRootFooter);

  Context ctx{.io = io, .global = {}};
  app.add_option("--data", ctx.global.data,
                 "The store: a file path, sqlite:PATH or memory: (default: $TRIAD_DATA, else "
                 "./triad.db)")
      ->check([](const std::string& value) {
        return value.empty() ? std::string("the store path is empty") : std::string();
      })
      ->option_text("PATH|URI");
  app.add_flag("--json", ctx.global.json,
               "Machine-readable output: NDJSON, one JSON value per line");

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(NewAppendCommand());
  commands.push_back(NewReadCommand());
  commands.push_back(NewEventsCommand());
  commands.push_back(NewStreamsCommand());
  commands.push_back(NewStatsCommand());
  commands.push_back(NewCheckCommand());
  std::vector<CLI::App*> verbs;
  for (auto& command : commands) verbs.push_back(command->Register(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ReportParseError(app, e, io);
  }

  for (size_t i = 0; i < commands.size(); ++i) {
    if (!verbs[i]->parsed()) continue;
    const Status status = commands[i]->Execute(ctx);
    io.out.flush();
    if (!status.ok()) {
      io.err << "triad: " << status.message() << '\n';
      return ExitCodeFor(status.code());
    }
    if (!io.out) {
      io.err << "triad: writing the output failed\n";
      return kExitFailure;
    }
    return kExitOk;
  }
  io.err << "triad: no verb given; " << kUsageHint << '\n';
  return kExitUsage;
}

}  // namespace

int Run(int argc, const char* const* argv, CliIo& io) {
  // CLI11 reports through exceptions, and a bug or std::bad_alloc must still end in one
  // "triad: ..." line and exit 1 rather than std::terminate.
  try {
    return RunOrThrow(argc, argv, io);
  } catch (const std::exception& e) {
    io.err << "triad: internal error: " << e.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace triad::cli
