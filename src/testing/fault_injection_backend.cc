#include "testing/fault_injection_backend.h"

#include <utility>

namespace triad::testing {

// Wraps one write transaction of the target backend and reports each step to the backend, which
// decides whether a fault fires. Dropping it drops the wrapped transaction, which rolls back unless
// it committed.
class FaultInjectionBackend::Transaction final : public WriteTransaction {
 public:
  Transaction(FaultInjectionBackend& owner, std::unique_ptr<WriteTransaction> inner, size_t index)
      : owner_(owner), inner_(std::move(inner)), index_(index) {}

  ~Transaction() override {
    inner_.reset();  // rolls back first, so the record never says more than storage holds
    if (!finished_) owner_.SetOutcome(index_, Outcome::kRolledBack);
  }

  Result<StreamVersion> CurrentVersion(std::string_view stream) override {
    return inner_->CurrentVersion(stream);
  }

  Result<std::optional<RecordedEvent>> FindEvent(std::string_view id) override {
    return inner_->FindEvent(id);
  }

  Result<Position> Insert(std::string_view stream, StreamVersion first_version,
                          std::span<const PreparedEvent> events, int64_t recorded_at_us) override {
    InsertFault when = InsertFault::kAfterApply;
    const Status fault = owner_.OnInsert(index_, stream, when);
    if (!fault.ok() && when == InsertFault::kBeforeApply) {
      owner_.OnInsertFailed(index_, stream);
      return fault;
    }
    Result<Position> applied = inner_->Insert(stream, first_version, events, recorded_at_us);
    if (!applied.ok()) {
      owner_.OnInsertFailed(index_, stream);
      return applied;
    }
    if (!fault.ok()) {
      owner_.OnInsertFailed(index_, stream);
      return fault;
    }
    return applied;
  }

  Status Savepoint() override { return inner_->Savepoint(); }
  Status RollbackToSavepoint() override { return inner_->RollbackToSavepoint(); }
  Status ReleaseSavepoint() override { return inner_->ReleaseSavepoint(); }

  Status Commit() override {
    bool lose_ack = false;
    const Status fault = owner_.OnCommit(lose_ack);
    finished_ = true;
    if (!fault.ok() && !lose_ack) {
      // Not applied: the wrapped transaction rolls back when the caller drops this one.
      owner_.SetOutcome(index_, Outcome::kCommitFailed);
      return fault;
    }
    if (Status s = inner_->Commit(); !s.ok()) {
      owner_.SetOutcome(index_, Outcome::kCommitFailed);
      return s;
    }
    owner_.SetOutcome(index_, fault.ok() ? Outcome::kCommitted : Outcome::kAckLost);
    return fault;
  }

 private:
  FaultInjectionBackend& owner_;
  std::unique_ptr<WriteTransaction> inner_;
  const size_t index_;     // into owner_.records_
  bool finished_ = false;  // Commit() was called, whatever its outcome
};

FaultInjectionBackend::FaultInjectionBackend(Backend& target, Clock* clock)
    : target_(target), clock_(clock != nullptr ? *clock : *RealClock()) {}

FaultInjectionBackend::~FaultInjectionBackend() = default;

bool FaultInjectionBackend::Fire(Countdown& c) {
  if (c.remaining == 0) return false;
  if (--c.remaining > 0) return false;
  ++faults_injected_;
  return true;
}

void FaultInjectionBackend::FailNthBeginWrite(int n, Status error) {
  std::lock_guard lock(mu_);
  begin_write_fault_ = Countdown{.remaining = n, .error = std::move(error)};
}

void FaultInjectionBackend::FailNthInsert(int n, Status error, InsertFault when,
                                          std::string stream) {
  std::lock_guard lock(mu_);
  insert_fault_ = Countdown{
      .remaining = n, .error = std::move(error), .when = when, .stream = std::move(stream)};
}

void FaultInjectionBackend::FailNthCommit(int n, Status error) {
  std::lock_guard lock(mu_);
  commit_fault_ = Countdown{.remaining = n, .error = std::move(error)};
}

void FaultInjectionBackend::LoseNthCommitAck(int n, Status error) {
  std::lock_guard lock(mu_);
  lost_ack_fault_ = Countdown{.remaining = n, .error = std::move(error)};
}

void FaultInjectionBackend::SetCommitLatency(int64_t micros) {
  std::lock_guard lock(mu_);
  commit_latency_us_ = micros;
}

void FaultInjectionBackend::SetBeforeCommitHook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  before_commit_ = std::move(hook);
}

void FaultInjectionBackend::ClearFaults() {
  std::lock_guard lock(mu_);
  begin_write_fault_ = Countdown{};
  insert_fault_ = Countdown{};
  commit_fault_ = Countdown{};
  lost_ack_fault_ = Countdown{};
  commit_latency_us_ = 0;
  before_commit_ = nullptr;
}

int64_t FaultInjectionBackend::begin_write_calls() const {
  std::lock_guard lock(mu_);
  return begin_write_calls_;
}

int64_t FaultInjectionBackend::insert_calls() const {
  std::lock_guard lock(mu_);
  return insert_calls_;
}

int64_t FaultInjectionBackend::commit_calls() const {
  std::lock_guard lock(mu_);
  return commit_calls_;
}

int64_t FaultInjectionBackend::faults_injected() const {
  std::lock_guard lock(mu_);
  return faults_injected_;
}

std::vector<FaultInjectionBackend::TransactionRecord> FaultInjectionBackend::transactions() const {
  std::lock_guard lock(mu_);
  return records_;
}

Status FaultInjectionBackend::OnInsert(size_t tx, std::string_view stream, InsertFault& when) {
  std::lock_guard lock(mu_);
  ++insert_calls_;
  records_[tx].inserts.emplace_back(stream);
  if (!insert_fault_.stream.empty() && insert_fault_.stream != stream) return Status::OK();
  when = insert_fault_.when;
  return Fire(insert_fault_) ? insert_fault_.error : Status::OK();
}

void FaultInjectionBackend::OnInsertFailed(size_t tx, std::string_view stream) {
  std::lock_guard lock(mu_);
  records_[tx].failed_inserts.emplace_back(stream);
}

Status FaultInjectionBackend::OnCommit(bool& lose_ack) {
  std::function<void()> hook;
  int64_t latency = 0;
  {
    std::lock_guard lock(mu_);
    ++commit_calls_;
    hook = before_commit_;
    latency = commit_latency_us_;
  }
  // Neither runs under mu_: the hook may block until the test releases it, and observers must be
  // able to read counters meanwhile.
  if (hook) hook();
  if (latency > 0) clock_.SleepForMicros(latency);

  std::lock_guard lock(mu_);
  // Both countdowns tick on every commit, so each counts Commit() calls as documented.
  const bool fail = Fire(commit_fault_);
  const bool lose = Fire(lost_ack_fault_);
  if (fail) return commit_fault_.error;
  lose_ack = lose;
  return lose ? lost_ack_fault_.error : Status::OK();
}

void FaultInjectionBackend::SetOutcome(size_t tx, Outcome outcome) {
  std::lock_guard lock(mu_);
  records_[tx].outcome = outcome;
}

Result<std::unique_ptr<WriteTransaction>> FaultInjectionBackend::BeginWrite() {
  {
    std::lock_guard lock(mu_);
    ++begin_write_calls_;
    if (Fire(begin_write_fault_)) return begin_write_fault_.error;
  }
  auto inner = target_.BeginWrite();
  if (!inner.ok()) return inner.status();
  size_t index = 0;
  {
    std::lock_guard lock(mu_);
    index = records_.size();
    records_.emplace_back();
  }
  return std::unique_ptr<WriteTransaction>(new Transaction(*this, std::move(*inner), index));
}

Result<std::vector<RecordedEvent>> FaultInjectionBackend::ReadStream(
    std::string_view stream, const ReadStreamOptions& options) {
  return target_.ReadStream(stream, options);
}

Result<std::vector<RecordedEvent>> FaultInjectionBackend::ReadAll(const ReadAllOptions& options) {
  return target_.ReadAll(options);
}

Result<int64_t> FaultInjectionBackend::ScanAll(const ReadAllOptions& options,
                                               const EventVisitor& visit) {
  return target_.ScanAll(options, visit);
}

Result<Position> FaultInjectionBackend::HeadPosition() { return target_.HeadPosition(); }

Result<std::optional<StreamInfo>> FaultInjectionBackend::GetStreamInfo(std::string_view stream) {
  return target_.GetStreamInfo(stream);
}

Result<std::vector<StreamInfo>> FaultInjectionBackend::ListStreams(
    const ListStreamsOptions& options) {
  return target_.ListStreams(options);
}

Status FaultInjectionBackend::SaveSnapshot(const Snapshot& snapshot) {
  return target_.SaveSnapshot(snapshot);
}

Result<std::optional<Snapshot>> FaultInjectionBackend::LoadSnapshot(std::string_view stream) {
  return target_.LoadSnapshot(stream);
}

Result<BackendStats> FaultInjectionBackend::Stats() { return target_.Stats(); }

Result<std::vector<std::string>> FaultInjectionBackend::CheckStorage() {
  return target_.CheckStorage();
}

std::string FaultInjectionBackend::Describe() const {
  return "fault-injection(" + target_.Describe() + ")";
}

}  // namespace triad::testing
