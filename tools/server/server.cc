#include "server/server.h"

#include "triad/consumer_groups.h"

#include <chrono>
#include <future>
#include <string>
#include <utility>

#include "server/auth.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/request_log.h"
#include "server/routes/document_routes.h"
#include "server/routes/group_routes.h"
#include "server/routes/health_routes.h"
#include "server/routes/ping_route.h"
#include "server/routes/projection_routes.h"
#include "server/routes/stream_routes.h"
#include "server/scripted_projections.h"
#include "server/server_context.h"

namespace triad::server {

// Declared in destruction order's reverse: the transport goes first, the store last.
struct Server::Parts {
  ServerConfig config;
  Metrics metrics;
  Authenticator auth{{}};
  std::unique_ptr<EventStore> store;
  std::unique_ptr<ProjectionEngine> engine;
  std::unique_ptr<ConsumerGroups> groups;
  std::unique_ptr<ScriptedProjections> scripts;
  ServerContext context;
  Router router;
  std::unique_ptr<HttpServer> http;
  std::string host;
};

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Server::~Server() {
  RequestStop();
  Wait().IgnoreError();
}

Result<std::unique_ptr<Server>> Server::Start(ServerConfig config, ServerHooks hooks) {
  auto format = ParseLogFormat(config.log_format);
  if (!format.ok()) return format.status();
  Status logging = ConfigureLogging(config.log_level, *format);
  if (!logging.ok()) return logging;
  auto listen = ParseListen(config.listen);
  if (!listen.ok()) return listen.status();
  Status auth_ok = CheckAuthConfig(config.tokens, listen->first);
  if (!auth_ok.ok()) return auth_ok;

  auto parts = std::make_unique<Parts>();
  parts->config = config;
  parts->host = listen->first;
  parts->auth = Authenticator(config.tokens);

  Options store_options;
  store_options.create_if_missing = true;
  auto store = EventStore::Open(store_options, config.data);
  if (!store.ok()) {
    // A URI may carry a password; the store's own message names it masked.
    const bool uri = config.data.find("://") != std::string::npos;
    return store.status().Annotate(uri ? "opening the store"
                                       : "opening the store '" + config.data + "'");
  }
  parts->store = std::move(*store);

  // From the URI as given: the store's Describe() masks a password.
  EngineOptions engine_options;
  engine_options.read_model_uri = DefaultReadModelUri(config.data);
  auto engine = ProjectionEngine::Open(parts->store.get(), engine_options);
  if (!engine.ok()) return engine.status().Annotate("opening the projection engine");
  parts->engine = std::move(*engine);

  // Consumer groups live where the configuration says (by default beside an SQLite store, and in
  // the same schema as a PostgreSQL store, where every node shares them).
  ConsumerGroupsOptions group_options;
  group_options.uri = config.groups;
  auto groups = ConsumerGroups::Open(parts->store.get(), group_options);
  if (!groups.ok()) return groups.status().Annotate("opening the consumer groups");
  parts->groups = std::move(*groups);

  if (hooks.register_projections) {
    Status registered = hooks.register_projections(*parts->engine);
    if (!registered.ok()) return registered.Annotate("registering the application's projections");
  }
  parts->scripts =
      std::make_unique<ScriptedProjections>(parts->engine.get(), config.scripts_dir, LuaLimits{});
  Status scripts = parts->scripts->LoadDirectory();
  if (!scripts.ok()) return scripts.Annotate("loading the scripts in '" + config.scripts_dir + "'");

  parts->context = ServerContext{.store = parts->store.get(),
                                 .engine = parts->engine.get(),
                                 .groups = parts->groups.get(),
                                 .scripts = parts->scripts.get(),
                                 .metrics = &parts->metrics,
                                 .clock = nullptr,
                                 .limits = config.limits};
  Router& router = parts->router;
  RegisterHealthRoutes(router, parts->context);
  RegisterStreamRoutes(router, parts->context);
  RegisterPingRoute(router);
  RegisterProjectionRoutes(router, parts->context);
  RegisterDocumentRoutes(router, parts->context);
  RegisterGroupRoutes(router, parts->context);

  Status started = parts->engine->Start();
  if (!started.ok()) return started.Annotate("starting the projection engine");

  HttpServerOptions http_options{.host = listen->first,
                                 .port = listen->second,
                                 .io_threads = config.io_threads,
                                 .worker_threads = config.worker_threads,
                                 .idle_timeout_ms = config.idle_timeout_ms,
                                 .sse = config.sse};
  auto http = HttpServer::Start(parts->router, parts->context, parts->auth, http_options);
  if (!http.ok()) {
    parts->engine->Stop();
    return http.status();
  }
  parts->http = std::move(*http);
  LogEvent("info", "listening",
           {{"url", "http://" + parts->host + ":" + std::to_string(parts->http->port())},
            {"store", parts->store->Describe()},
            {"scripts_dir", config.scripts_dir},
            {"auth", parts->auth.enabled() ? "tokens" : "none (loopback only)"},
            {"io_threads", std::to_string(config.io_threads)},
            {"worker_threads", std::to_string(config.worker_threads)}});
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

uint16_t Server::port() const { return parts_->http->port(); }

std::string Server::url() const {
  const bool v6 = parts_->host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + parts_->host + "]" : parts_->host) + ":" + std::to_string(port());
}

const Router& Server::router() const { return parts_->router; }
EventStore* Server::store() const { return parts_->store.get(); }
const ServerConfig& Server::config() const { return parts_->config; }

void Server::RequestStop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  stop_requested_cv_.notify_all();
}

Status Server::Wait() {
  std::unique_lock lock(mutex_);
  stop_requested_cv_.wait(lock, [this] { return stop_requested_; });
  if (stopped_) return Status::OK();
  stopped_ = true;
  lock.unlock();
  LogEvent("info", "shutting down",
           {{"in_flight", std::to_string(parts_->http->in_flight())},
            {"timeout_ms", std::to_string(parts_->config.shutdown_timeout_ms)}});
  parts_->http->Stop(parts_->config.shutdown_timeout_ms);
  // Stop() interrupts projection handlers between Lua instructions, but not inside one long C
  // call (a pathological string.find). Such work is waited for at most shutdown_timeout_ms too;
  // then the process exits without it: the batch was never committed, and the projection goes
  // on from its checkpoint at the next start. (The engine cannot be destroyed under a thread
  // that still runs in it, so exiting is the only way to keep the bound.)
  auto engine_stopped = std::async(std::launch::async, [this] { parts_->engine->Stop(); });
  if (engine_stopped.wait_for(std::chrono::milliseconds(parts_->config.shutdown_timeout_ms)) !=
      std::future_status::ready) {
    LogEvent("error", "projection work did not stop within shutdown_timeout_ms; exiting without it",
             {{"timeout_ms", std::to_string(parts_->config.shutdown_timeout_ms)}});
    std::_Exit(0);
  }
  // Closing in reverse order of opening; the store flushes as it closes.
  parts_->http.reset();
  parts_->scripts.reset();
  parts_->groups.reset();
  parts_->engine.reset();
  parts_->store.reset();
  LogEvent("info", "stopped");
  return Status::OK();
}

}  // namespace triad::server
