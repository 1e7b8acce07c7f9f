// FaultInjectionBackend: a Backend that forwards every call to another Backend and fails chosen
// calls on command, so tests can show how the EventStore behaves when storage fails (promises 1,
// 2, 4 and 7 of docs/design.md). After leveldb's db/fault_injection_test.cc and rocksdb's
// utilities/fault_injection_fs.h.
//
// Faults are armed as countdowns and fire once: FailNthCommit(1) fails the next Commit(),
// FailNthCommit(3) the third Commit() from the moment it is armed. The kinds:
//   - BeginWrite() fails: no transaction starts.
//   - Insert() fails, either before the insert reaches the wrapped transaction or after it (the
//     rows are then in the transaction, as when a backend fails half-way through a batch, and the
//     store must roll them back with the writer's savepoint).
//   - Commit() fails and is not applied: the wrapped transaction is rolled back when dropped.
//   - Commit() is applied but its acknowledgement is lost: the wrapped commit succeeds and the
//     caller gets an error anyway (a connection lost right after COMMIT).
//   - Commit latency: every Commit() first sleeps on the Clock (a SimulatedClock just advances).
// A BeforeCommit hook lets a test hold a commit while it lines up concurrent appends behind it,
// and transactions() records what each write transaction did, so a test can tell which appends
// shared a group commit.
//
//   auto base = triad::OpenBackend(options, "memory:");
//   triad::testing::FaultInjectionBackend fault(**base);
//   options.backend = &fault;
//   auto store = triad::EventStore::Open(options, "memory:");
//   fault.FailNthCommit(1, triad::UnavailableError("injected"));
//   (*store)->Append(...);  // fails with kUnavailable; the next append is tried afresh
//
// Thread-safety: every method may be called from any thread. The wrapped backend's own rules still
// apply (one write transaction at a time, used by one thread).
#pragma once

#include "triad/backend.h"
#include "triad/clock.h"
#include "triad/status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triad::testing {

class FaultInjectionBackend final : public Backend {
 public:
  // When an injected Insert() failure happens relative to the wrapped Insert().
  enum class InsertFault {
    kBeforeApply,  // the wrapped Insert() is not called
    kAfterApply,   // the wrapped Insert() runs (and must succeed), then the error is returned
  };

  // What became of one write transaction.
  enum class Outcome {
    kOpen,          // not finished yet
    kCommitted,     // committed and acknowledged
    kCommitFailed,  // Commit() returned an error and nothing was applied (injected or real)
    kAckLost,       // committed, but Commit() returned the injected error
    kRolledBack,    // dropped without Commit()
  };

  // One write transaction as seen through this wrapper.
  struct TransactionRecord {
    // The stream of each Insert() call, in call order: one per append of the group that reached
    // Insert(), including the ones that then failed.
    std::vector<std::string> inserts;
    // The streams whose Insert() returned an error (injected or real).
    std::vector<std::string> failed_inserts;
    Outcome outcome = Outcome::kOpen;
  };

  // Wraps `target`. `clock` paces the injected commit latency; nullptr: RealClock(). Both are
  // non-owning and must outlive this object.
  explicit FaultInjectionBackend(Backend& target, Clock* clock = nullptr);
  ~FaultInjectionBackend() override;

  FaultInjectionBackend(const FaultInjectionBackend&) = delete;
  FaultInjectionBackend& operator=(const FaultInjectionBackend&) = delete;

  // ---- Arming faults. Each replaces an earlier armed fault of the same kind. ----
  // REQUIRES: n >= 1.

  // The n-th BeginWrite() from now returns `error`.
  void FailNthBeginWrite(int n, Status error = UnavailableError("injected: BeginWrite failed"));

  // The n-th Insert() from now (counting only inserts into `stream` when it is not empty)
  // returns `error`, before or after applying it as `when` says.
  void FailNthInsert(int n, Status error = UnavailableError("injected: Insert failed"),
                     InsertFault when = InsertFault::kAfterApply, std::string stream = {});

  // The n-th Commit() from now returns `error` without committing; the wrapped transaction rolls
  // back when the caller drops it.
  void FailNthCommit(int n, Status error = UnavailableError("injected: Commit failed"));

  // The n-th Commit() from now is applied, then returns `error` as if the ack were lost.
  void LoseNthCommitAck(int n, Status error = UnavailableError("injected: Commit ack lost"));

  // Every later Commit() first sleeps `micros` on the clock. 0 turns latency off. Default: 0.
  void SetCommitLatency(int64_t micros);

  // Called at the start of every Commit(), before latency and faults, on the committing thread and
  // without any lock of this object held. An empty function removes the hook.
  void SetBeforeCommitHook(std::function<void()> hook);

  // Disarms every fault, removes latency and the hook. Counters and records are kept.
  void ClearFaults();

  // ---- Observation ----

  // Calls made so far to BeginWrite(), Insert() and Commit(), including failed ones.
  int64_t begin_write_calls() const;
  int64_t insert_calls() const;
  int64_t commit_calls() const;
  // Faults that have fired so far.
  int64_t faults_injected() const;
  // Every write transaction begun so far, in order (a copy).
  std::vector<TransactionRecord> transactions() const;

  // ---- Backend: everything is forwarded to the wrapped backend ----
  Result<std::unique_ptr<WriteTransaction>> BeginWrite() override;
  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                const ReadStreamOptions& options) override;
  Result<std::vector<RecordedEvent>> ReadAll(const ReadAllOptions& options) override;
  Result<int64_t> ScanAll(const ReadAllOptions& options, const EventVisitor& visit) override;
  Result<Position> HeadPosition() override;
  Result<std::optional<StreamInfo>> GetStreamInfo(std::string_view stream) override;
  Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& options) override;
  Status SaveSnapshot(const Snapshot& snapshot) override;
  Result<std::optional<Snapshot>> LoadSnapshot(std::string_view stream) override;
  Result<BackendStats> Stats() override;
  Result<std::vector<std::string>> CheckStorage() override;
  std::string Describe() const override;

 private:
  class Transaction;
  friend class Transaction;

  // An armed one-shot fault. `remaining` counts down to the call that fails; 0 means disarmed.
  struct Countdown {
    int remaining = 0;
    Status error;
    InsertFault when = InsertFault::kAfterApply;
    std::string stream;  // Insert faults only: count only inserts into this stream
  };

  // Ticks `c` for one call; returns true iff this call is the one that fails (and disarms it).
  // REQUIRES: mu_ held.
  bool Fire(Countdown& c);

  // Called by Transaction. Each returns the fault to inject, if any (an OK status: none).
  Status OnInsert(size_t tx, std::string_view stream, InsertFault& when);
  void OnInsertFailed(size_t tx, std::string_view stream);
  // Runs the hook and latency, then picks the commit fault: `lose_ack` tells which kind fired.
  Status OnCommit(bool& lose_ack);
  void SetOutcome(size_t tx, Outcome outcome);

  Backend& target_;
  Clock& clock_;

  mutable std::mutex mu_;
  Countdown begin_write_fault_;             // guarded by mu_
  Countdown insert_fault_;                  // guarded by mu_
  Countdown commit_fault_;                  // guarded by mu_
  Countdown lost_ack_fault_;                // guarded by mu_
  int64_t commit_latency_us_ = 0;           // guarded by mu_
  std::function<void()> before_commit_;     // guarded by mu_
  int64_t begin_write_calls_ = 0;           // guarded by mu_
  int64_t insert_calls_ = 0;                // guarded by mu_
  int64_t commit_calls_ = 0;                // guarded by mu_
  int64_t faults_injected_ = 0;             // guarded by mu_
  std::vector<TransactionRecord> records_;  // guarded by mu_
};

}  // namespace triad::testing
