// `triad serve` as a library: opens the event store, the projection engine, the consumer groups
// and the Lua projections of a ServerConfig, registers every route, and serves HTTP until asked
// to stop; then shuts down gracefully (docs/operations.md, "Graceful shutdown").
//
//   auto server = Server::Start(config, {});
//   if (!server.ok()) return server.status();
//   std::cout << "port " << (*server)->port() << "\n";
//   ... (*server)->RequestStop(); Status done = (*server)->Wait();
//
// Thread-safety: RequestStop() may be called from any thread (not from a signal handler: set a
// flag there and call it from a thread); Wait() from one thread.
#pragma once

#include "triad/event_store.h"
#include "triad/projection_engine.h"
#include "triad/result.h"
#include "triad/status.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/config.h"
#include "server/router.h"

namespace triad::server {

// What an application embedding the server adds to it.
struct ServerHooks {
  // Registers the application's C++ projections before the engine starts. Its error aborts
  // Start().
  std::function<Status(ProjectionEngine&)> register_projections;
};

class Server {
 public:
  // Opens everything `config` names (the store is created if missing), starts the projection
  // engine and listens. Errors: the store's, engine's and scripts' open errors (annotated with
  // what failed), HttpServer::Start's (kUnavailable when the address is taken), the hook's.
  static Result<std::unique_ptr<Server>> Start(ServerConfig config, ServerHooks hooks = {});

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // RequestStop() and Wait() when still running.
  ~Server();

  // The port listened on (the chosen one for a ":0" listen address).
  uint16_t port() const;
  // "http://HOST:PORT".
  std::string url() const;
  // The route table, e.g. for the authorization-matrix and OpenAPI tests.
  const Router& router() const;
  EventStore* store() const;
  const ServerConfig& config() const;

  // Asks Wait() to shut down. Idempotent.
  void RequestStop();

  // Blocks until RequestStop(), then: stops accepting; /health answers 503; running requests
  // finish (up to shutdown_timeout_ms); SSE clients get `event: disconnect`; the engine stops
  // (running projection work is interrupted and abandoned uncommitted; work stuck in one long C
  // call is waited for up to shutdown_timeout_ms, then the process exits with status 0 without
  // it); the store closes. Returns OK after a clean shutdown. Idempotent.
  Status Wait();

 private:
  struct Parts;
  explicit Server(std::unique_ptr<Parts> parts);

  std::unique_ptr<Parts> parts_;
  std::mutex mutex_;
  std::condition_variable stop_requested_cv_;
  bool stop_requested_ = false;
  bool stopped_ = false;
};

}  // namespace triad::server
