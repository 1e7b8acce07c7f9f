// `triad serve`: runs the HTTP/JSON + SSE server (tools/server) on a store until SIGINT/SIGTERM.
#include "cli/commands/command.h"

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <thread>

#include "server/config.h"
#include "server/server.h"

namespace triad::cli {
namespace {

class ServeCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("serve", "Run the HTTP/JSON and Server-Sent Events server");
    app->add_option("--listen", listen_,
                    "HOST:PORT to listen on (default 127.0.0.1:7700; port 0 "
                    "picks a free one)");
    app->add_option("--config", config_file_, "JSON configuration file (docs/operations.md)");
    app->add_option("--scripts", scripts_dir_,
                    "Folder of Lua projections (default: the store path + .scripts)");
    app->add_option("--log-level", log_level_, "trace, debug, info, warn, error or off");
    app->add_option("--io-threads", io_threads_, "Threads running the network loop (default 1)");
    app->add_option("--workers", worker_threads_, "Threads running requests (default 64)");
    app->footer(VerbFooter(
        "Serve the store named by --data (or $TRIAD_DATA, default ./triad.db; created if "
        "missing) over HTTP: the API of docs/http-api.md. Settings come from the --config file, "
        "then the environment (TRIAD_CONFIG, TRIAD_DATA, TRIAD_LISTEN, TRIAD_LOG_LEVEL, "
        "TRIAD_SCRIPTS), then these flags, each winning over the one before. Prints "
        "\"triad: listening on http://HOST:PORT\" once listening; logs go to stderr. SIGINT or "
        "SIGTERM shut down gracefully: running requests finish, subscribers are told, the store "
        "is closed."));
    return app;
  }

  Status Execute(Context& ctx) override {
    server::ConfigFlags flags{.config_file = config_file_,
                              .listen = listen_,
                              .data = std::nullopt,
                              .scripts_dir = scripts_dir_,
                              .log_level = log_level_,
                              .io_threads = io_threads_,
                              .worker_threads = worker_threads_};
    if (!ctx.global.data.empty()) flags.data = ctx.global.data;
    server::EnvLookup env = [&ctx](std::string_view name) -> std::optional<std::string> {
      std::string value = ctx.Env(std::string(name).c_str());
      if (value.empty()) return std::nullopt;
      return value;
    };
    auto config = server::ResolveConfig(flags, env);
    if (!config.ok()) return config.status();
    auto server = server::Server::Start(std::move(*config));
    if (!server.ok()) return server.status();
    ctx.io.out << "triad: listening on " << (*server)->url() << std::endl;
    // The stop flag is set by main.cc's signal handler, which can do nothing else safely, so it
    // is polled.
    while (!ctx.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (*server)->RequestStop();
    return (*server)->Wait();
  }

 private:
  std::optional<std::string> listen_;
  std::optional<std::string> config_file_;
  std::optional<std::string> scripts_dir_;
  std::optional<std::string> log_level_;
  std::optional<int> io_threads_;
  std::optional<int> worker_threads_;
};

}  // namespace

std::unique_ptr<Command> NewServeCommand() { return std::make_unique<ServeCommand>(); }

}  // namespace triad::cli
