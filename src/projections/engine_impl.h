// ProjectionEngineImpl: the ProjectionEngine behind ProjectionEngine::Open.
//
// Threads: one worker per registered projection version after Start(); callers' threads run
// RunOnce, operator actions and queries. Locks, always taken in this order:
//   ProjectionRuntime::run_mu  one unit of work (batch, tick, reset, replay, record update) at a
//                              time per version, so RunOnce never races the worker;
//   route_mu_                  shared by queries while they read, exclusive while Promote
//                              switches versions, so no query reads a dropped collection;
//   mu_                        the in-memory state below; never held across storage calls.
// Workers wait on their runtime's cv, checkpoint waiters and min_position queries on cv_, all
// through the clock.
#pragma once

#include "triad/projection_engine.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "projections/batch_context.h"
#include "projections/batch_runner.h"

namespace triad::internal {

// One registered projection version.
struct ProjectionRuntime {
  ProjectionDefinition definition;
  StorageNames storage;
  std::mutex run_mu;
  // Above 0 while Stop(), Pause() or Reset() wants running work (a long Lua handler) to end at
  // once, uncommitted: a count, as they may overlap.
  std::atomic<int> interrupts{0};
  // The worker waits on its own condition variable (with the engine's mu_): a clock keeps one
  // registration per (mutex, cv) pair, so waiters must not share one with the worker.
  std::condition_variable cv;

  // ---- Guarded by the engine's mu_. ----
  // The record as last committed by this engine.
  ProjectionRecord record;
  // Reset since the engine started, and not yet at the head.
  bool rebuilding = false;
  // Manual "run now" requests, and the last one served.
  uint64_t trigger_requested = 0;
  uint64_t trigger_served = 0;
  // After a storage error, no work before this clock time.
  int64_t retry_at_us = 0;
  // The last storage failure of the worker (handler failures are in the record).
  std::string storage_error;
  struct RateSample {
    int64_t start_us;
    int64_t end_us;
    int64_t events;
  };
  std::deque<RateSample> rate;
  std::thread worker;

  // ---- Worker thread only. ----
  // The worker held the projection's lease on its last pass (false: standby, or just started).
  bool had_lease = false;
  // Clock time the worker last re-read the record from the store.
  int64_t record_read_us = 0;
};

// A collection's serving projection version.
struct Route {
  std::string name;
  int32_t version = 0;
  std::string storage;
  bool operator==(const Route&) const = default;
};

class ProjectionEngineImpl final : public ProjectionEngine {
 public:
  ProjectionEngineImpl(EventStore& store, std::unique_ptr<ReadModelBackend> owned,
                       ReadModelBackend& backend, const EngineOptions& options);
  ~ProjectionEngineImpl() override;

  Status Register(ProjectionDefinition definition) override;
  Status Start() override;
  void Stop() override;
  Result<Position> RunOnce(std::string_view name, std::optional<Position> up_to) override;
  Status Pause(std::string_view name, int32_t version) override;
  Status Resume(std::string_view name, int32_t version) override;
  Status Reset(std::string_view name, int32_t version) override;
  Status Trigger(std::string_view name, std::optional<Position> up_to, int32_t version) override;
  Status Skip(std::string_view name, int32_t version) override;
  Result<ProjectionDiff> Diff(std::string_view name) override;
  Status Promote(std::string_view name) override;
  Result<std::vector<ProjectionStatus>> ListStatus() override;
  Result<ProjectionStatus> GetStatus(std::string_view name, int32_t version) override;
  Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view name, int32_t version) override;
  Result<int64_t> ReplayDeadLetters(std::string_view name, std::optional<Position> position,
                                    int32_t version) override;
  Result<Position> WaitForCheckpoint(std::string_view name, Position position, int64_t timeout_us,
                                     int32_t version) override;
  Result<ProjectionStatus> ApplyClientBatch(const ClientBatch& batch) override;
  Result<DocumentRead> Get(std::string_view collection, std::string_view id,
                           const GetOptions& options) override;
  Result<QueryPage> Find(std::string_view collection, const Query& query,
                         const ReadOptions& options) override;
  Result<CountResult> Count(std::string_view collection, const Query& query,
                            const ReadOptions& options) override;
  std::string Describe() const override { return backend_.Describe(); }

 private:
  // A projection version named by an operator: its record, and its runtime if registered here.
  struct Target {
    std::string name;
    int32_t version = 0;
    ProjectionRuntime* runtime = nullptr;
  };
  // One worker step's result.
  struct Step {
    bool more = false;
    Status fault;
    Position checkpoint = 0;
  };

  WorkEnv Env() {
    return WorkEnv{store_, backend_, clock_, options_.batch_size, options_.max_batch_bytes};
  }
  static WorkTarget Work(ProjectionRuntime& rt) {
    return WorkTarget{rt.definition, rt.storage, &rt.interrupts};
  }

  // ---- engine_impl.cc: workers and batches ----
  void SpawnWorker(ProjectionRuntime& rt);  // REQUIRES: mu_ held
  // Wakes every worker and waiter. REQUIRES: mu_ held.
  void WakeAllLocked();
  void WorkerLoop(ProjectionRuntime& rt);
  // The worker's lease step: takes (or keeps) the lease of rt's projection name and, when it was
  // just taken or rt.record_read_us is older than external_poll_interval_us, re-reads the record
  // (another node may have changed it). Returns false in standby (another node holds the lease,
  // or storage failed: then storage_error says why). Worker thread only.
  bool HoldLease(ProjectionRuntime& rt);
  // Takes the lease of `name` for work outside the worker (RunOnce, dead-letter replays).
  // Errors: kFailedPrecondition (another node runs it), storage errors.
  Status RequireLease(std::string_view name);
  // Releases the lease of every registered projection name (the workers are stopped).
  void ReleaseLeases();
  // Runs one batch up to min(head, stop_at, up_to).
  Result<Step> RunStep(ProjectionRuntime& rt, std::optional<Position> up_to);
  Status RunTickNow(ProjectionRuntime& rt, int64_t now_us);
  // Takes rt.run_mu; if work holds it, interrupts that work first (it is abandoned uncommitted
  // and done again later), so an operator action does not wait for a long handler.
  std::unique_lock<std::mutex> LockRunInterrupting(ProjectionRuntime& rt);
  // Lowers rt.interrupts and wakes the workers and waiters that wait for it to reach 0.
  void EndInterrupt(ProjectionRuntime& rt);
  // Re-reads the record from the store after another writer moved it.
  Status ReloadRecord(ProjectionRuntime& rt);
  ProjectionRuntime* FindRuntime(std::string_view name, int32_t version);  // REQUIRES: mu_
  // The newest registered version of `name`, or nullptr. REQUIRES: mu_ held.
  ProjectionRuntime* NewestRuntime(std::string_view name);
  // Waits until the checkpoint of name@version is >= position or the clock reaches deadline.
  Result<Position> WaitCheckpoint(std::string_view name, int32_t version, Position position,
                                  int64_t deadline_us, bool fail_if_faulted);
  // The stored record of name@version.
  Result<ProjectionRecord> StoredRecord(std::string_view name, int32_t version);

  // ---- engine_lifecycle.cc ----
  // The version an operator names: `version`, or for 0 the serving version (without one, the
  // newest not retired). Errors: kNotFound.
  Result<Target> Resolve(std::string_view name, int32_t version);
  // Changes the stored record of `target` in one transaction and mirrors it in memory. With
  // `interrupt_running`, work in progress is abandoned (LockRunInterrupting) instead of awaited.
  // Errors: kNotFound, kFailedPrecondition (the version is retired), `change`'s, storage errors.
  Status UpdateRecord(const Target& target, const std::function<Status(ProjectionRecord&)>& change,
                      bool interrupt_running = false);
  // After a committed change of `target`'s record: mirrors it in memory (with `rebuilding`, as a
  // reset leaves it: rebuilding, rate forgotten), clears the retry delay and wakes the workers.
  void MirrorRecord(const Target& target, ProjectionRecord record, bool rebuilding = false);

  // ---- engine_queries.cc ----
  Result<Route> FindRoute(std::string_view collection);
  Status RefreshRoutes();
  Result<ProjectionStatus> StatusOf(const ProjectionRecord& record, Position head);
  // Runs `read` on the serving version of `collection` once its checkpoint is >= min_position,
  // with route_mu_ shared so that Promote cannot drop the collection meanwhile.
  template <typename T>
  Result<T> ReadServing(std::string_view collection, const ReadOptions& options,
                        const std::function<Result<T>(const Route&)>& read);

  EventStore& store_;
  std::unique_ptr<ReadModelBackend> owned_backend_;
  ReadModelBackend& backend_;
  Clock& clock_;
  const EngineOptions options_;
  uint64_t listener_id_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<ProjectionRuntime>, std::less<>>
      runtimes_;
  bool started_ = false;
  bool stopping_ = false;
  // Bumped by commits and operator actions; idle workers wait until it changes.
  uint64_t wake_seq_ = 0;

  std::shared_mutex route_mu_;
  std::map<std::string, Route, std::less<>> routes_;
  // Bumped by Promote under route_mu_, so a refresh that read the records before it does not
  // install stale routes.
  uint64_t route_generation_ = 0;
};

// True iff `name` is 1-64 characters of [a-z0-9_-] starting with a letter (projection and
// collection names).
bool ValidName(std::string_view name);

// Checks a definition. Errors: kInvalidArgument naming the bad field.
Status ValidateDefinition(const ProjectionDefinition& definition);

// Runs `definition` on the events of `document`'s source streams newer than it (a fresh read).
Result<DocumentRead> FreshRead(EventStore& store, ReadModelBackend& backend, Clock& clock,
                               const WorkTarget& work, const Route& route, std::string_view id);

}  // namespace triad::internal
