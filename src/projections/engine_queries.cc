// Queries (routed to the serving version, with min_position waits and fresh reads) and status.
#include "util/status_macros.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "projections/engine_impl.h"

namespace triad::internal {

Status ProjectionEngineImpl::RefreshRoutes() {
  uint64_t generation;
  {
    std::shared_lock lock(route_mu_);
    generation = route_generation_;
  }
  TRIAD_ASSIGN_OR_RETURN(auto records, backend_.ListProjections());
  std::map<std::string, Route, std::less<>> routes;
  for (const ProjectionRecord& r : records) {
    if (!r.serving || r.retired) continue;
    for (const CollectionSpec& spec : r.collections) {
      routes[spec.name] =
          Route{r.name, r.version, CollectionStorageName(r.name, r.version, spec.name)};
    }
  }
  std::unique_lock lock(route_mu_);
  if (generation == route_generation_) routes_ = std::move(routes);
  return Status::OK();
}

Result<Route> ProjectionEngineImpl::FindRoute(std::string_view collection) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::shared_lock lock(route_mu_);
      auto it = routes_.find(collection);
      if (it != routes_.end()) return it->second;
    }
    // Unknown here: another engine may have registered or promoted it since.
    TRIAD_RETURN_IF_ERROR(RefreshRoutes());
  }
  return NotFoundError("no projection writes collection '" + std::string(collection) + "'");
}

template <typename T>
Result<T> ProjectionEngineImpl::ReadServing(std::string_view collection, const ReadOptions& options,
                                            const std::function<Result<T>(const Route&)>& read) {
  const int64_t deadline = clock_.NowMicros() + std::max<int64_t>(options.timeout_us, 0);
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(Route route, FindRoute(collection));
    if (options.min_position > 0) {
      TRIAD_RETURN_IF_ERROR(WaitCheckpoint(route.name, route.version, options.min_position,
                                           deadline, /*fail_if_faulted=*/false)
                                .status());
    }
    std::shared_lock lock(route_mu_);
    auto it = routes_.find(collection);
    if (it == routes_.end() || !(it->second == route)) continue;  // promoted meanwhile
    Result<T> answer = read(route);
    if (!answer.ok() || answer->as_of >= options.min_position) return answer;
    // The checkpoint went back (a reset) between the wait and the read: wait again.
    if (clock_.NowMicros() >= deadline) {
      return DeadlineExceededError("projection " + ProjectionKeyString(route.name, route.version) +
                                   " is at checkpoint " + std::to_string(answer->as_of) +
                                   ", not yet at position " + std::to_string(options.min_position));
    }
  }
}

Result<DocumentRead> ProjectionEngineImpl::Get(std::string_view collection, std::string_view id,
                                               const GetOptions& options) {
  return ReadServing<DocumentRead>(
      collection, options, [&](const Route& route) -> Result<DocumentRead> {
        if (!options.fresh) return backend_.Get(route.storage, id, route.name, route.version);
        ProjectionRuntime* rt;
        {
          std::lock_guard lock(mu_);
          rt = FindRuntime(route.name, route.version);
        }
        const std::string key = ProjectionKeyString(route.name, route.version);
        if (rt == nullptr) {
          return FailedPreconditionError("fresh read: projection " + key +
                                         " is not registered in this engine");
        }
        if (!rt->definition.record_sources) {
          return FailedPreconditionError("fresh read: projection " + key +
                                         " does not record _meta.sources");
        }
        return FreshRead(store_, backend_, clock_, Work(*rt), route, id);
      });
}

Result<QueryPage> ProjectionEngineImpl::Find(std::string_view collection, const Query& query,
                                             const ReadOptions& options) {
  return ReadServing<QueryPage>(collection, options, [&](const Route& route) {
    return backend_.Find(route.storage, query, route.name, route.version);
  });
}

Result<CountResult> ProjectionEngineImpl::Count(std::string_view collection, const Query& query,
                                                const ReadOptions& options) {
  return ReadServing<CountResult>(collection, options, [&](const Route& route) {
    return backend_.Count(route.storage, query, route.name, route.version);
  });
}

Result<ProjectionStatus> ProjectionEngineImpl::StatusOf(const ProjectionRecord& record,
                                                        Position head) {
  ProjectionStatus s;
  s.name = record.name;
  s.version = record.version;
  s.serving = record.serving;
  s.checkpoint = record.checkpoint;
  s.head_position = head;
  s.lag_events = std::max<int64_t>(0, head - record.checkpoint);
  s.last_error = record.last_error;
  s.last_error_position = record.last_error_position;
  for (const CollectionSpec& spec : record.collections) s.collections.push_back(spec.name);
  bool rebuilding = false;
  {
    std::lock_guard lock(mu_);
    ProjectionRuntime* rt = FindRuntime(record.name, record.version);
    if (rt != nullptr) {
      s.registered = true;
      rebuilding = rt->rebuilding;
      s.error_policy = std::string(ErrorPolicyName(rt->definition.error_policy));
      s.trigger = std::string(TriggerModeName(rt->definition.trigger));
      if (s.last_error.empty()) s.last_error = rt->storage_error;
      // Batches of the last 10 s of the engine's clock: an idle projection's rate falls to 0.
      const int64_t since = clock_.NowMicros() - 10'000'000;
      int64_t events = 0;
      int64_t first_start = 0;
      int64_t last_end = 0;
      bool any = false;
      for (const auto& sample : rt->rate) {
        if (sample.end_us < since) continue;
        if (!any) first_start = sample.start_us;
        any = true;
        events += sample.events;
        last_end = sample.end_us;
      }
      if (any && last_end > first_start) {
        s.events_per_second = static_cast<double>(events) * 1e6 / (last_end - first_start);
      }
    }
  }
  // In memory only (no round trip): whether this engine's backend holds the lease now.
  s.leased = s.registered && backend_.HoldsLease(record.name);
  const bool behind = record.checkpoint < head;
  if (record.retired) {
    s.state = ProjectionState::kRetired;
  } else if (record.faulted) {
    s.state = ProjectionState::kFaulted;
  } else if (record.paused) {
    s.state = ProjectionState::kPaused;
  } else if (behind && (rebuilding || !record.serving)) {
    s.state = ProjectionState::kRebuilding;
  } else if (behind) {
    s.state = ProjectionState::kRunning;
  } else {
    s.state = ProjectionState::kCaughtUp;
  }
  if (behind && !record.retired) {
    TRIAD_ASSIGN_OR_RETURN(auto next, store_.ReadAll(ReadAllOptions{
                                          .from_position = record.checkpoint + 1, .limit = 1}));
    if (!next.empty()) {
      const int64_t age = clock_.NowMicros() - next.front().recorded_at_us;
      s.lag_seconds = static_cast<double>(std::max<int64_t>(age, 0)) / 1e6;
    }
  }
  TRIAD_ASSIGN_OR_RETURN(auto letters, backend_.ListDeadLetters(record.name, record.version));
  s.dead_letters = static_cast<int64_t>(letters.size());
  return s;
}

Result<std::vector<ProjectionStatus>> ProjectionEngineImpl::ListStatus() {
  TRIAD_ASSIGN_OR_RETURN(auto records, backend_.ListProjections());
  TRIAD_ASSIGN_OR_RETURN(Position head, store_.HeadPosition());
  std::vector<ProjectionStatus> out;
  out.reserve(records.size());
  for (const ProjectionRecord& r : records) {
    TRIAD_ASSIGN_OR_RETURN(ProjectionStatus s, StatusOf(r, head));
    out.push_back(std::move(s));
  }
  return out;
}

Result<ProjectionStatus> ProjectionEngineImpl::GetStatus(std::string_view name, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  TRIAD_ASSIGN_OR_RETURN(ProjectionRecord record, StoredRecord(target.name, target.version));
  TRIAD_ASSIGN_OR_RETURN(Position head, store_.HeadPosition());
  return StatusOf(record, head);
}

}  // namespace triad::internal
