#include "server/router.h"

#include <cassert>
#include <utility>

namespace triad::server {
namespace {

// "/a/b" → {"a", "b"}; "/" → {}. Empty segments are kept ("/a//b", "/a/") so that they fail
// to match a `{param}`, which needs a non-empty segment.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.empty()) return segments;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Whether `segments` of a pattern match `path`; on a match, `literal_mask` has one entry per
// segment, true where the pattern's segment is literal (used to prefer literal routes).
bool Matches(const std::vector<std::string>& segments, const std::vector<std::string_view>& path,
             std::vector<bool>* literal_mask) {
  if (segments.size() != path.size()) return false;
  literal_mask->clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (IsParam(segments[i])) {
      if (path[i].empty()) return false;
      literal_mask->push_back(false);
    } else {
      if (segments[i] != path[i]) return false;
      literal_mask->push_back(true);
    }
  }
  return true;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Role min_role, std::string name,
                 Handler handler) {
  Entry entry;
  for (std::string_view segment : SplitPath(pattern)) entry.segments.emplace_back(segment);
  for (const Entry& existing : entries_) {
    // Two routes for one method and pattern would make one of them unreachable.
    assert(!(existing.info.method == method && existing.info.pattern == pattern));
    (void)existing;
  }
  entry.info = RouteInfo{.method = std::move(method),
                         .pattern = std::move(pattern),
                         .min_role = min_role,
                         .name = std::move(name),
                         .streaming = false};
  entry.handler = std::move(handler);
  entries_.push_back(std::move(entry));
}

void Router::AddStreaming(std::string method, std::string pattern, Role min_role,
                          std::string name) {
  Add(std::move(method), std::move(pattern), min_role, std::move(name), Handler{});
  entries_.back().info.streaming = true;
}

std::optional<RouteMatch> Router::Match(std::string_view method, std::string_view path,
                                        bool* path_known) const {
  const std::vector<std::string_view> segments = SplitPath(path);
  const Entry* best = nullptr;
  std::vector<bool> best_mask;
  std::vector<bool> mask;
  bool known = false;
  for (const Entry& entry : entries_) {
    if (!Matches(entry.segments, segments, &mask)) continue;
    known = true;
    if (entry.info.method != method) continue;
    // Literal segments win over `{param}` ones, comparing from the left: /groups/{g}/parked
    // beats /groups/{g}/{action} for ".../parked".
    if (best == nullptr || mask > best_mask) {
      best = &entry;
      best_mask = mask;
    }
  }
  if (path_known != nullptr) *path_known = known;
  if (best == nullptr) return std::nullopt;
  RouteMatch match{.route = &best->info, .handler = &best->handler, .path_params = {}};
  for (size_t i = 0; i < best->segments.size(); ++i) {
    const std::string& segment = best->segments[i];
    if (IsParam(segment)) {
      match.path_params.emplace_back(segment.substr(1, segment.size() - 2),
                                     std::string(segments[i]));
    }
  }
  return match;
}

std::vector<RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> routes;
  routes.reserve(entries_.size());
  for (const Entry& entry : entries_) routes.push_back(entry.info);
  return routes;
}

}  // namespace triad::server
