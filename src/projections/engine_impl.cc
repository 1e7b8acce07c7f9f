#include "projections/engine_impl.h"

#include "util/status_macros.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace triad {

Result<std::unique_ptr<ProjectionEngine>> ProjectionEngine::Open(EventStore* store,
                                                                 const EngineOptions& options) {
  if (store == nullptr) return InvalidArgumentError("ProjectionEngine::Open: store is null");
  if (options.batch_size == 0) return InvalidArgumentError("EngineOptions::batch_size must be > 0");
  if (options.external_poll_interval_us <= 0) {
    return InvalidArgumentError("EngineOptions::external_poll_interval_us must be > 0");
  }
  if (options.retry_backoff_us < 0) {
    return InvalidArgumentError("EngineOptions::retry_backoff_us must be >= 0");
  }
  if (options.lease_retry_interval_us <= 0) {
    return InvalidArgumentError("EngineOptions::lease_retry_interval_us must be > 0");
  }
  std::unique_ptr<ReadModelBackend> owned;
  ReadModelBackend* backend = options.read_model;
  if (backend == nullptr) {
    const std::string uri = options.read_model_uri.empty() ? DefaultReadModelUri(store->Describe())
                                                           : options.read_model_uri;
    TRIAD_ASSIGN_OR_RETURN(owned, OpenReadModelBackend(options.read_model_options, uri));
    backend = owned.get();
  }
  auto engine =
      std::make_unique<internal::ProjectionEngineImpl>(*store, std::move(owned), *backend, options);
  return std::unique_ptr<ProjectionEngine>(std::move(engine));
}

namespace internal {

ProjectionEngineImpl::ProjectionEngineImpl(EventStore& store,
                                           std::unique_ptr<ReadModelBackend> owned,
                                           ReadModelBackend& backend, const EngineOptions& options)
    : store_(store),
      owned_backend_(std::move(owned)),
      backend_(backend),
      clock_(options.clock != nullptr ? *options.clock : *RealClock()),
      options_(options) {
  listener_id_ = store_.AddCommitListener([this](Position) {
    {
      std::lock_guard lock(mu_);
      WakeAllLocked();
    }
    cv_.notify_all();
  });
}

ProjectionEngineImpl::~ProjectionEngineImpl() {
  store_.RemoveCommitListener(listener_id_);
  Stop();
  // RunOnce may have taken leases without Start(). (A backend that closes with the engine frees
  // them anyway; an injected one outlives it.)
  ReleaseLeases();
}

void ProjectionEngineImpl::ReleaseLeases() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, rt] : runtimes_) {
      if (names.empty() || names.back() != key.first) names.push_back(key.first);
    }
  }
  for (const std::string& name : names) backend_.ReleaseLease(name);
}

void ProjectionEngineImpl::WakeAllLocked() {
  ++wake_seq_;
  for (auto& [key, rt] : runtimes_) rt->cv.notify_all();
  cv_.notify_all();
}

ProjectionRuntime* ProjectionEngineImpl::FindRuntime(std::string_view name, int32_t version) {
  auto it = runtimes_.find(std::make_pair(std::string(name), version));
  return it == runtimes_.end() ? nullptr : it->second.get();
}

ProjectionRuntime* ProjectionEngineImpl::NewestRuntime(std::string_view name) {
  ProjectionRuntime* newest = nullptr;
  for (auto& [key, rt] : runtimes_) {
    if (key.first == name) newest = rt.get();  // ordered by version
  }
  return newest;
}

Status ProjectionEngineImpl::Register(ProjectionDefinition definition) {
  TRIAD_RETURN_IF_ERROR(ValidateDefinition(definition));
  const std::string name = definition.name;  // a copy: `definition` is moved below
  const int32_t version = definition.version;
  const std::string key = ProjectionKeyString(name, version);
  {
    std::lock_guard lock(mu_);
    if (FindRuntime(name, version) != nullptr) {
      return AlreadyExistsError("projection " + key + " is already registered");
    }
  }
  TRIAD_ASSIGN_OR_RETURN(auto records, backend_.ListProjections());
  bool other_version = false;
  for (const ProjectionRecord& r : records) {
    if (r.name == name && r.version == version && r.retired) {
      return FailedPreconditionError("projection " + key + " was retired");
    }
    if (r.retired) continue;
    if (r.name == name && r.version != version) other_version = true;
    if (r.name == name) continue;
    for (const CollectionSpec& owned : r.collections) {
      for (const CollectionSpec& wanted : definition.collections) {
        if (owned.name == wanted.name) {
          return InvalidArgumentError("collection '" + wanted.name + "' belongs to projection " +
                                      r.name + ", not " + name);
        }
      }
    }
  }

  auto rt = std::make_unique<ProjectionRuntime>();
  for (const CollectionSpec& spec : definition.collections) {
    rt->storage.emplace(spec.name, CollectionStorageName(name, version, spec.name));
  }
  {
    TRIAD_ASSIGN_OR_RETURN(auto txn, backend_.BeginWrite());
    for (const CollectionSpec& spec : definition.collections) {
      TRIAD_RETURN_IF_ERROR(txn->EnsureCollection(rt->storage[spec.name], spec));
    }
    TRIAD_ASSIGN_OR_RETURN(auto existing, txn->GetProjection(name, version));
    ProjectionRecord record;
    if (existing) {
      record = std::move(*existing);
    } else {
      record.name = name;
      record.version = version;
      record.serving = !other_version;
    }
    record.collections = definition.collections;
    // The first tick comes one interval after registration, not at once.
    if (definition.tick_interval_us > 0 && record.last_tick_us == 0) {
      record.last_tick_us = clock_.NowMicros();
    }
    TRIAD_RETURN_IF_ERROR(txn->PutProjection(record));
    TRIAD_RETURN_IF_ERROR(txn->Commit());
    rt->record = std::move(record);
  }
  rt->definition = std::move(definition);
  {
    std::lock_guard lock(mu_);
    if (FindRuntime(name, version) != nullptr) {
      return AlreadyExistsError("projection " + key + " is already registered");
    }
    ProjectionRuntime& ref = *rt;
    runtimes_.emplace(std::make_pair(name, version), std::move(rt));
    if (started_ && !stopping_) SpawnWorker(ref);
  }
  return RefreshRoutes();
}

Status ProjectionEngineImpl::Start() {
  std::lock_guard lock(mu_);
  if (stopping_) return FailedPreconditionError("the engine is stopping");
  started_ = true;
  for (auto& [key, rt] : runtimes_) {
    if (!rt->worker.joinable()) SpawnWorker(*rt);
  }
  return Status::OK();
}

void ProjectionEngineImpl::SpawnWorker(ProjectionRuntime& rt) {
  rt.worker = std::thread([this, &rt] { WorkerLoop(rt); });
}

void ProjectionEngineImpl::Stop() {
  std::vector<std::thread> workers;
  // Runtimes are never removed, so the pointers stay valid; one registered meanwhile is not
  // interrupted and must not be counted down.
  std::vector<ProjectionRuntime*> interrupted;
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    WakeAllLocked();
    for (auto& [key, rt] : runtimes_) {
      // Running work is abandoned: it was not committed, and is done again after a restart.
      ++rt->interrupts;
      interrupted.push_back(rt.get());
      if (rt->worker.joinable()) workers.push_back(std::move(rt->worker));
    }
  }
  cv_.notify_all();
  for (std::thread& t : workers) t.join();
  for (ProjectionRuntime* rt : interrupted) EndInterrupt(*rt);
  // The workers stopped for good: let another node take the projections over now rather than
  // when this process exits.
  ReleaseLeases();
  std::lock_guard lock(mu_);
  started_ = false;
  stopping_ = false;
}

bool ProjectionEngineImpl::HoldLease(ProjectionRuntime& rt) {
  auto leased = backend_.TryAcquireLease(rt.definition.name);
  if (!leased.ok() || !*leased) {
    rt.had_lease = false;
    std::lock_guard lock(mu_);
    if (!leased.ok()) rt.storage_error = leased.status().ToString();
    return false;
  }
  // Another node may have changed the record (pause, resume, reset, trigger, promote) while it
  // ran the projection or while this worker idled: re-read it when the lease is (re)taken and
  // every external poll interval. Running batches also verify it in their transaction
  // (batch_runner.h), so this matters for idle and blocked (paused, faulted) workers. A failed
  // read is retried on the next pass; meanwhile those in-transaction checks keep batches right.
  const int64_t now = clock_.NowMicros();
  if (!rt.had_lease || now - rt.record_read_us >= options_.external_poll_interval_us) {
    Status reloaded;
    {
      std::lock_guard run(rt.run_mu);
      reloaded = ReloadRecord(rt);
    }
    std::lock_guard lock(mu_);
    if (reloaded.ok()) {
      rt.record_read_us = now;
      if (!rt.had_lease) rt.storage_error.clear();
    } else {
      rt.storage_error = reloaded.ToString();
    }
  }
  rt.had_lease = true;
  return true;
}

void ProjectionEngineImpl::WorkerLoop(ProjectionRuntime& rt) {
  const ProjectionDefinition& def = rt.definition;
  const bool ticks = def.tick_interval_us > 0 && def.on_tick;
  rt.had_lease = false;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Standby: another node runs this projection (or storage failed). Retry every
    // lease_retry_interval_us, ignoring commit wake-ups (each retry is a round trip), so the
    // projection moves here about that long after its node dies.
    lock.unlock();
    const bool leased = HoldLease(rt);
    lock.lock();
    if (!leased) {
      const int64_t deadline = clock_.NowMicros() + options_.lease_retry_interval_us;
      while (!stopping_ && clock_.NowMicros() < deadline) clock_.WaitUntil(lock, rt.cv, deadline);
      continue;
    }
    const uint64_t seen = wake_seq_;
    const ProjectionRecord& rec = rt.record;
    int64_t now = clock_.NowMicros();
    const bool blocked = rec.retired || rec.paused || rec.faulted || now < rt.retry_at_us;
    const uint64_t trigger = rt.trigger_requested;
    const bool run_events = !blocked && (def.trigger == TriggerMode::kPush ||
                                         trigger != rt.trigger_served || rec.stop_at > 0);
    const bool tick_due = !blocked && ticks && now >= rec.last_tick_us + def.tick_interval_us;
    lock.unlock();

    bool more = false;
    bool interrupted = false;
    Status failure;
    if (run_events) {
      auto step = RunStep(rt, std::nullopt);
      if (step.ok()) {
        more = step->more;
      } else if (step.status().code() == StatusCode::kAborted) {
        more = true;  // the record was reloaded or the lease lost: try again at once
      } else if (step.status().code() == StatusCode::kCancelled) {
        // Stop, Pause or Reset interrupted the batch: decide again once it has acted (the
        // trigger is not served yet).
        interrupted = more = true;
      } else if (step.status().code() != StatusCode::kFailedPrecondition) {
        failure = step.status();
      }
    }
    if (tick_due && failure.ok()) {
      Status ticked = RunTickNow(rt, now);
      if (!ticked.ok() && ticked.code() != StatusCode::kAborted &&
          ticked.code() != StatusCode::kCancelled) {
        failure = ticked;
      }
    }

    lock.lock();
    while (interrupted && !stopping_ && rt.interrupts.load() > 0) {
      clock_.WaitUntil(lock, rt.cv, clock_.NowMicros() + options_.external_poll_interval_us);
    }
    now = clock_.NowMicros();
    if (!failure.ok()) {
      rt.retry_at_us = now + options_.retry_backoff_us;
      rt.storage_error = failure.ToString();
    } else if (run_events || tick_due) {
      rt.storage_error.clear();
    }
    if (run_events && !more && failure.ok()) rt.trigger_served = trigger;
    if (more || stopping_ || wake_seq_ != seen) continue;
    int64_t deadline = now + options_.external_poll_interval_us;
    const ProjectionRecord& after = rt.record;
    if (rt.retry_at_us > now) {
      deadline = std::min(deadline, rt.retry_at_us);
    } else if (ticks && !after.retired && !after.paused && !after.faulted) {
      deadline = std::min(deadline, after.last_tick_us + def.tick_interval_us);
    }
    if (deadline <= now) continue;  // a tick fell due meanwhile
    clock_.WaitUntil(lock, rt.cv, deadline);
  }
}

Result<ProjectionEngineImpl::Step> ProjectionEngineImpl::RunStep(ProjectionRuntime& rt,
                                                                 std::optional<Position> up_to) {
  std::lock_guard run(rt.run_mu);
  ProjectionRecord record;
  {
    std::lock_guard lock(mu_);
    record = rt.record;
  }
  const std::string key = ProjectionKeyString(record.name, record.version);
  if (record.retired) return FailedPreconditionError("projection " + key + " is retired");
  if (record.paused) return FailedPreconditionError("projection " + key + " is paused");
  if (record.faulted) {
    return FailedPreconditionError("projection " + key + " is faulted at position " +
                                   std::to_string(record.last_error_position) + ": " +
                                   record.last_error);
  }
  TRIAD_ASSIGN_OR_RETURN(Position head, store_.HeadPosition());
  Position target = head;
  if (record.stop_at > 0) target = std::min(target, record.stop_at);
  if (up_to) target = std::min(target, *up_to);
  const int64_t start_us = clock_.NowMicros();
  auto outcome = RunBatch(Env(), Work(rt), record, target);
  if (!outcome.ok()) {
    if (outcome.status().code() == StatusCode::kAborted) TRIAD_RETURN_IF_ERROR(ReloadRecord(rt));
    return outcome.status();
  }
  Step step;
  step.checkpoint = outcome->record.checkpoint;
  step.fault = outcome->fault;
  step.more = step.fault.ok() && step.checkpoint < target && !outcome->record.paused;
  {
    std::lock_guard lock(mu_);
    rt.record = std::move(outcome->record);
    if (rt.record.checkpoint >= head) rt.rebuilding = false;
    const int64_t end_us = clock_.NowMicros();
    // Only batches that did work: idle polls would drown the rate.
    if (outcome->events > 0 || rt.record.checkpoint != record.checkpoint) {
      rt.rate.push_back({start_us, end_us, outcome->events});
    }
    // A window of recent batches: the rate describes now, not the whole run.
    while (rt.rate.size() > 1 &&
           (rt.rate.size() > 64 || rt.rate.front().end_us < end_us - 10'000'000)) {
      rt.rate.pop_front();
    }
  }
  cv_.notify_all();
  return step;
}

Status ProjectionEngineImpl::RunTickNow(ProjectionRuntime& rt, int64_t now_us) {
  std::lock_guard run(rt.run_mu);
  ProjectionRecord record;
  {
    std::lock_guard lock(mu_);
    record = rt.record;
  }
  if (record.retired || record.paused || record.faulted) return Status::OK();
  if (now_us < record.last_tick_us + rt.definition.tick_interval_us) return Status::OK();
  auto ticked = RunTick(Env(), Work(rt), record, now_us);
  if (!ticked.ok()) {
    if (ticked.status().code() == StatusCode::kAborted) TRIAD_RETURN_IF_ERROR(ReloadRecord(rt));
    return ticked.status();
  }
  {
    std::lock_guard lock(mu_);
    rt.record = std::move(*ticked);
  }
  cv_.notify_all();
  return Status::OK();
}

std::unique_lock<std::mutex> ProjectionEngineImpl::LockRunInterrupting(ProjectionRuntime& rt) {
  std::unique_lock run(rt.run_mu, std::try_to_lock);
  if (run.owns_lock()) return run;
  ++rt.interrupts;
  run.lock();
  EndInterrupt(rt);
  return run;
}

void ProjectionEngineImpl::EndInterrupt(ProjectionRuntime& rt) {
  {
    // Under mu_, so that a waiter checking the count under mu_ cannot miss the wake-up.
    std::lock_guard lock(mu_);
    --rt.interrupts;
  }
  rt.cv.notify_all();
  cv_.notify_all();
}

Result<ProjectionRecord> ProjectionEngineImpl::StoredRecord(std::string_view name,
                                                            int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(auto records, backend_.ListProjections());
  for (ProjectionRecord& r : records) {
    if (r.name == name && r.version == version) return std::move(r);
  }
  return NotFoundError("no projection " + ProjectionKeyString(name, version));
}

Status ProjectionEngineImpl::ReloadRecord(ProjectionRuntime& rt) {
  TRIAD_ASSIGN_OR_RETURN(ProjectionRecord record,
                         StoredRecord(rt.definition.name, rt.definition.version));
  {
    std::lock_guard lock(mu_);
    // Reset by another node: rebuilding from 0 (for status).
    if (record.checkpoint < rt.record.checkpoint) rt.rebuilding = true;
    rt.record = std::move(record);
  }
  cv_.notify_all();
  return Status::OK();
}

Result<Position> ProjectionEngineImpl::RunOnce(std::string_view name,
                                               std::optional<Position> up_to) {
  ProjectionRuntime* rt;
  {
    std::lock_guard lock(mu_);
    rt = NewestRuntime(name);
  }
  if (rt == nullptr) return NotFoundError("no projection '" + std::string(name) + "' registered");
  TRIAD_RETURN_IF_ERROR(RequireLease(name));
  Position target;
  if (up_to) {
    target = *up_to;
  } else {
    TRIAD_ASSIGN_OR_RETURN(target, store_.HeadPosition());
  }
  // A bounded number of lost races with another engine before giving up.
  int aborts = 0;
  for (;;) {
    auto step = RunStep(*rt, target);
    if (!step.ok()) {
      if (step.status().code() == StatusCode::kAborted && ++aborts < 10) {
        TRIAD_RETURN_IF_ERROR(RequireLease(name));  // aborted because the lease was lost?
        continue;
      }
      // Interrupted by Stop, Pause or Reset: try again once it has acted (a paused projection
      // then fails with kFailedPrecondition).
      if (step.status().code() == StatusCode::kCancelled && ++aborts < 10) {
        std::unique_lock lock(mu_);
        while (rt->interrupts.load() > 0) {
          clock_.WaitUntil(lock, cv_, clock_.NowMicros() + options_.external_poll_interval_us);
        }
        continue;
      }
      return step.status();
    }
    if (!step->fault.ok()) {
      return step->fault.Annotate("projection " +
                                  ProjectionKeyString(name, rt->definition.version) +
                                  " faulted at position " + std::to_string(step->checkpoint + 1));
    }
    if (!step->more) return step->checkpoint;
  }
}

Status ProjectionEngineImpl::RequireLease(std::string_view name) {
  TRIAD_ASSIGN_OR_RETURN(const bool leased, backend_.TryAcquireLease(name));
  if (leased) return Status::OK();
  return FailedPreconditionError("projection '" + std::string(name) +
                                 "' runs on another node sharing the read-model store " +
                                 backend_.Describe());
}

Result<Position> ProjectionEngineImpl::WaitCheckpoint(std::string_view name, int32_t version,
                                                      Position position, int64_t deadline_us,
                                                      bool fail_if_faulted) {
  const std::string key = ProjectionKeyString(name, version);
  Position polled = 0;
  bool polled_faulted = false;
  std::string polled_error;
  // Another node holds the lease (this one is in standby): its in-memory record is stale, only
  // the store knows. (HoldsLease never touches storage.)
  const bool runs_here = backend_.HoldsLease(name);
  std::unique_lock lock(mu_);
  // Not registered here, or run elsewhere: only the store knows, so look there first.
  bool poll = FindRuntime(name, version) == nullptr || !runs_here;
  for (;;) {
    if (poll) {
      // Another process may run this projection: look at the store itself now and then.
      lock.unlock();
      auto stored = StoredRecord(name, version);
      lock.lock();
      if (!stored.ok()) return stored.status();
      polled = stored->checkpoint;
      polled_faulted = stored->faulted;
      polled_error = stored->last_error;
    }
    ProjectionRuntime* rt = FindRuntime(name, version);
    Position checkpoint = polled;
    bool faulted = polled_faulted;
    std::string error = polled_error;
    if (rt != nullptr) {
      checkpoint = std::max(checkpoint, rt->record.checkpoint);
      faulted = rt->record.faulted;
      error = rt->record.last_error;
    }
    if (checkpoint >= position) return checkpoint;
    if (faulted && fail_if_faulted) {
      return FailedPreconditionError("projection " + key + " is faulted at checkpoint " +
                                     std::to_string(checkpoint) + ": " + error);
    }
    const int64_t now = clock_.NowMicros();
    if (now >= deadline_us) {
      return DeadlineExceededError("projection " + key + " is at checkpoint " +
                                   std::to_string(checkpoint) + ", not yet at position " +
                                   std::to_string(position));
    }
    const int64_t poll_at = now + options_.external_poll_interval_us;
    const bool notified = clock_.WaitUntil(lock, cv_, std::min(deadline_us, poll_at));
    poll = !notified || rt == nullptr || !runs_here;
  }
}

Result<Position> ProjectionEngineImpl::WaitForCheckpoint(std::string_view name, Position position,
                                                         int64_t timeout_us, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  return WaitCheckpoint(target.name, target.version, position, clock_.NowMicros() + timeout_us,
                        /*fail_if_faulted=*/true);
}

}  // namespace internal
}  // namespace triad
