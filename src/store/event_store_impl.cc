#include "store/event_store_impl.h"

#include "store/event_validator.h"
#include "store/integrity_check.h"
#include "util/status_macros.h"

#include <algorithm>
#include <string>
#include <utility>

namespace triad {

Result<std::unique_ptr<EventStore>> EventStore::Open(const Options& options, std::string_view uri) {
  if (options.max_events_per_append == 0 || options.max_event_bytes == 0 ||
      options.group_commit_max_events == 0 || options.max_stream_name_bytes == 0 ||
      options.max_event_type_bytes == 0) {
    return InvalidArgumentError("options: limits and group commit caps must be positive");
  }
  std::unique_ptr<Backend> owned;
  Backend* backend = options.backend;
  if (backend == nullptr) {
    TRIAD_ASSIGN_OR_RETURN(owned, OpenBackend(options, uri));
    backend = owned.get();
  }
  TRIAD_ASSIGN_OR_RETURN(const Position head, backend->HeadPosition());
  return std::unique_ptr<EventStore>(
      new internal::EventStoreImpl(options, std::move(owned), *backend, head));
}

namespace internal {

EventStoreImpl::EventStoreImpl(const Options& options, std::unique_ptr<Backend> owned,
                               Backend& backend, Position head)
    : options_(options),
      clock_(options.clock != nullptr ? *options.clock : *RealClock()),
      owned_backend_(std::move(owned)),
      backend_(backend),
      queue_(backend_, clock_, options_, [this](Position p) { OnCommit(p); }),
      head_(head) {
  // Other processes' commits wake waiters and listeners like our own (promptly where the backend
  // can push them; otherwise WaitForPosition polls).
  backend_.WatchExternalCommits([this](Position p) { OnCommit(p); });
}

EventStoreImpl::~EventStoreImpl() { backend_.WatchExternalCommits(nullptr); }

void EventStoreImpl::OnCommit(Position head) {
  {
    std::lock_guard lock(head_mu_);
    head_ = std::max(head_, head);
  }
  head_cv_.notify_all();
  std::lock_guard lock(listeners_mu_);
  for (auto& [id, listener] : listeners_) listener(head);
}

uint64_t EventStoreImpl::AddCommitListener(std::function<void(Position head)> listener) {
  std::lock_guard lock(listeners_mu_);
  const uint64_t id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void EventStoreImpl::RemoveCommitListener(uint64_t id) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(id);
}

Result<AppendResult> EventStoreImpl::Append(std::string_view stream, ExpectedVersion expected,
                                            std::span<const NewEvent> events) {
  if (options_.read_only) return FailedPreconditionError("the store is open read-only");
  TRIAD_RETURN_IF_ERROR(ValidateStreamName(stream, options_));
  std::vector<bool> client_ids;
  TRIAD_ASSIGN_OR_RETURN(auto prepared, PrepareEvents(events, options_, clock_, client_ids));
  return queue_.Append(stream, expected, std::move(prepared), std::move(client_ids));
}

Result<std::vector<RecordedEvent>> EventStoreImpl::ReadStream(std::string_view stream,
                                                              const ReadStreamOptions& options) {
  TRIAD_RETURN_IF_ERROR(ValidateStreamName(stream, options_));
  if (options.from_version && *options.from_version < 0) {
    return InvalidArgumentError("from_version must be >= 0");
  }
  TRIAD_ASSIGN_OR_RETURN(auto events, backend_.ReadStream(stream, options));
  if (events.empty()) {
    // Tell "no such stream" from "nothing in range".
    TRIAD_ASSIGN_OR_RETURN(auto info, backend_.GetStreamInfo(stream));
    if (!info) return NotFoundError("stream '" + std::string(stream) + "' does not exist");
  }
  return events;
}

Result<ReadAllOptions> EventStoreImpl::CheckReadAllOptions(const ReadAllOptions& options) const {
  if (options.from_position < 0) return InvalidArgumentError("from_position must be >= 0");
  for (const std::string& type : options.types) {
    TRIAD_RETURN_IF_ERROR(ValidateEventType(type, options_).Annotate("type filter"));
  }
  for (const std::string& category : options.categories) {
    if (category.empty()) return InvalidArgumentError("category filter is empty");
  }
  ReadAllOptions adjusted = options;
  adjusted.from_position = std::max<Position>(1, options.from_position);
  return adjusted;
}

Result<std::vector<RecordedEvent>> EventStoreImpl::ReadAll(const ReadAllOptions& options) {
  TRIAD_ASSIGN_OR_RETURN(const ReadAllOptions checked, CheckReadAllOptions(options));
  return backend_.ReadAll(checked);
}

Result<int64_t> EventStoreImpl::ScanAll(const ReadAllOptions& options, const EventVisitor& visit) {
  TRIAD_ASSIGN_OR_RETURN(const ReadAllOptions checked, CheckReadAllOptions(options));
  return backend_.ScanAll(checked, visit);
}

Result<Position> EventStoreImpl::HeadPosition() {
  TRIAD_ASSIGN_OR_RETURN(const Position head, backend_.HeadPosition());
  std::lock_guard lock(head_mu_);
  head_ = std::max(head_, head);
  return head_;
}

Result<Position> EventStoreImpl::WaitForPosition(Position position, int64_t timeout_us) {
  const int64_t deadline = clock_.NowMicros() + std::max<int64_t>(0, timeout_us);
  std::unique_lock lock(head_mu_);
  while (true) {
    if (head_ >= position) return head_;
    const int64_t now = clock_.NowMicros();
    if (now >= deadline) {
      return DeadlineExceededError("position " + std::to_string(position) +
                                   " not reached in time; head position is " +
                                   std::to_string(head_));
    }
    const int64_t poll_at = std::min(deadline, now + options_.external_poll_interval_us);
    if (!clock_.WaitUntil(lock, head_cv_, poll_at) && head_ < position) {
      // Nothing woke us: another process may have committed. Look at storage.
      lock.unlock();
      auto head = backend_.HeadPosition();
      lock.lock();
      if (!head.ok()) return head.status();
      head_ = std::max(head_, *head);
    }
  }
}

Result<StreamInfo> EventStoreImpl::GetStreamInfo(std::string_view stream) {
  TRIAD_RETURN_IF_ERROR(ValidateStreamName(stream, options_));
  TRIAD_ASSIGN_OR_RETURN(auto info, backend_.GetStreamInfo(stream));
  if (!info) return NotFoundError("stream '" + std::string(stream) + "' does not exist");
  return std::move(*info);
}

Result<std::vector<StreamInfo>> EventStoreImpl::ListStreams(const ListStreamsOptions& options) {
  return backend_.ListStreams(options);
}

Status EventStoreImpl::SaveSnapshot(const Snapshot& snapshot) {
  if (options_.read_only) return FailedPreconditionError("the store is open read-only");
  TRIAD_RETURN_IF_ERROR(ValidateStreamName(snapshot.stream, options_));
  if (snapshot.version < 0) return InvalidArgumentError("snapshot version must be >= 0");
  TRIAD_ASSIGN_OR_RETURN(auto info, backend_.GetStreamInfo(snapshot.stream));
  if (!info || info->version < snapshot.version) {
    return InvalidArgumentError("snapshot of '" + snapshot.stream + "' at version " +
                                std::to_string(snapshot.version) +
                                " is beyond the stream's version " +
                                std::to_string(info ? info->version : kNoStreamVersion));
  }
  Snapshot stamped = snapshot;
  stamped.recorded_at_us = clock_.NowMicros();
  return backend_.SaveSnapshot(stamped);
}

Result<std::optional<Snapshot>> EventStoreImpl::LoadSnapshot(std::string_view stream) {
  TRIAD_RETURN_IF_ERROR(ValidateStreamName(stream, options_));
  return backend_.LoadSnapshot(stream);
}

Result<BackendStats> EventStoreImpl::Stats() { return backend_.Stats(); }

Result<CheckReport> EventStoreImpl::Check() { return CheckIntegrity(backend_); }

Status EventStoreImpl::WriteHealth() {
  if (options_.read_only) return Status::OK();
  return queue_.Health();
}

std::string EventStoreImpl::Describe() const { return backend_.Describe(); }

}  // namespace internal
}  // namespace triad
