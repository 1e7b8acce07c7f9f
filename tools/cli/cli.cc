#include "cli/cli.h"

#include "cli/commands/command.h"
#include "cli/context.h"
#include "cli/exit_codes.h"

#include "triad/version.h"

#include <CLI/CLI.hpp>

#include <exception>
#include <memory>
#include <ostream>
#include <vector>

namespace triad::cli {
namespace {

constexpr const char* kVerbList =
    "append, read, events, streams, stats, check, projections, projection, get, find, groups, "
    "serve";

constexpr const char* kUsageHint = "run 'triad --help' or 'triad VERB --help' for usage";

constexpr const char* kRootFooter =
    "Global options go before or after the verb. Output is a table for people, or with --json\n"
    "NDJSON for scripts (one event envelope per line).\n"
    "Exit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 conflict (wrong expected version),\n"
    "4 not found.\n"
    "--url URL (or $TRIAD_URL) talks to a server (`triad serve`) instead of opening a store;\n"
    "stats and check need --data, trigger and --wait need --url.\n"
    "Environment: TRIAD_DATA names the store when --data is absent, TRIAD_URL the server when\n"
    "--url and --data are absent, TRIAD_TOKEN the bearer token when --token is absent; NO_COLOR\n"
    "disables styling.\n"
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
      io.err << "triad: unknown verb '" << extras.front() << "' (verbs: " << kVerbList << "); "
             << kUsageHint << '\n';
      return kExitUsage;
    }
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && extras.empty()) {
      io.err << "triad: a verb is required (" << kVerbList << "); " << kUsageHint << '\n';
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
  app.set_version_flag("--version", std::string("triad ") + triad::Version());
  app.footer(kRootFooter);

  Context ctx{.io = io, .global = {}};
  app.add_option("--data", ctx.global.data,
                 "The store: a file path, sqlite:PATH, postgresql://URI or memory: (default: "
                 "$TRIAD_DATA, else "
                 "./triad.db)")
      ->check([](const std::string& value) {
        return value.empty() ? std::string("the store path is empty") : std::string();
      })
      ->option_text("PATH|URI");
  app.add_option("--url", ctx.global.url,
                 "The server to talk to instead of a store, e.g. http://127.0.0.1:7700 (default: "
                 "$TRIAD_URL unless --data is given); exclusive with --data")
      ->check([](const std::string& value) {
        return value.empty() ? std::string("the server URL is empty") : std::string();
      })
      ->option_text("URL");
  app.add_option("--token", ctx.global.token,
                 "With --url: the bearer token to send (default: $TRIAD_TOKEN)")
      ->option_text("TOKEN");
  app.add_flag("--json", ctx.global.json,
               "Machine-readable output: NDJSON, one JSON value per line");

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(NewAppendCommand());
  commands.push_back(NewReadCommand());
  commands.push_back(NewEventsCommand());
  commands.push_back(NewStreamsCommand());
  commands.push_back(NewStatsCommand());
  commands.push_back(NewCheckCommand());
  commands.push_back(NewProjectionsCommand());
  commands.push_back(NewProjectionCommand());
  commands.push_back(NewGetCommand());
  commands.push_back(NewFindCommand());
  commands.push_back(NewGroupsCommand());
  commands.push_back(NewServeCommand());
  std::vector<CLI::App*> verbs;
  for (auto& command : commands) verbs.push_back(command->Register(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ReportParseError(app, e, io);
  }

  if (const Status options = ctx.CheckGlobalOptions(); !options.ok()) {
    io.err << "triad: " << options.message() << "; " << kUsageHint << '\n';
    return kExitUsage;
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
