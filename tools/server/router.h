// Maps (method, path) to a route: its handler and the role it needs. Patterns are literal
// segments and `{name}` segments that match one non-empty path segment:
//   router.Add("POST", "/streams/{stream}", Role::kWrite, "append", AppendHandler);
//
// Thread-safety: Add() before the server starts; Match() and Routes() are then safe from any
// thread (the table is not changed again).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.h"

namespace triad::server {

// A blocking handler: runs on the server's worker pool, never on an io thread, so it may
// commit, wait for a position (bounded by the request's wait_ms) or read the log.
// It must not throw; the transport still answers 500 "internal" if it does.
using Handler = std::function<HttpResponse(HttpRequest& request)>;

struct RouteInfo {
  std::string method;
  // "/streams/{stream}"
  std::string pattern;
  Role min_role = Role::kRead;
  // A stable name for logs and metrics labels: "append", "read_stream".
  std::string name;
  // True for text/event-stream routes served by the transport itself (GET /subscribe); their
  // Handler is empty.
  bool streaming = false;
};

struct RouteMatch {
  const RouteInfo* route = nullptr;
  const Handler* handler = nullptr;
  std::vector<std::pair<std::string, std::string>> path_params;
};

class Router {
 public:
  // Registers a route. A second route with the same method and pattern replaces nothing: it is a
  // programming error and aborts in debug builds.
  void Add(std::string method, std::string pattern, Role min_role, std::string name,
           Handler handler);
  // Registers a streaming route handled by the transport (SSE).
  void AddStreaming(std::string method, std::string pattern, Role min_role, std::string name);

  // The route for `method` and decoded `path`. Literal segments win over `{param}` segments.
  // nullopt when nothing matches; *path_known (when not null) says whether some pattern matched
  // the path with another method (the transport answers 405 then, else 404).
  std::optional<RouteMatch> Match(std::string_view method, std::string_view path,
                                  bool* path_known) const;

  // Every route, in registration order (the OpenAPI test compares these with docs/openapi.json).
  std::vector<RouteInfo> Routes() const;

 private:
  struct Entry {
    RouteInfo info;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Entry> entries_;
};

}  // namespace triad::server
