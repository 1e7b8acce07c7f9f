#include "store/append_queue.h"

#include "util/status_macros.h"

#include <algorithm>
#include <string>
#include <utility>

namespace triad::internal {
namespace {

size_t EventBytes(const std::vector<PreparedEvent>& events) {
  size_t bytes = 0;
  for (const PreparedEvent& e : events) bytes += e.type.size() + e.data.size() + e.metadata.size();
  return bytes;
}

Status Conflict(std::string_view stream, ExpectedVersion expected, StreamVersion current) {
  return AbortedError("stream '" + std::string(stream) + "' is at version " +
                      std::to_string(current) + ", expected " + expected.ToString())
      .WithCurrentVersion(current);
}

// Whether `expected` could have produced an append whose first event got `first_version`.
bool CompatibleWithOriginal(ExpectedVersion expected, StreamVersion first_version) {
  switch (expected.kind()) {
    case ExpectedVersion::Kind::kAny:
      return true;
    case ExpectedVersion::Kind::kNoStream:
      return first_version == 0;
    case ExpectedVersion::Kind::kExists:
      return first_version > 0;
    case ExpectedVersion::Kind::kExact:
      return expected.version() == first_version - 1;
  }
  return false;
}

}  // namespace

AppendQueue::AppendQueue(Backend& backend, Clock& clock, const Options& options,
                         std::function<void(Position)> on_commit)
    : backend_(backend), clock_(clock), options_(options), on_commit_(std::move(on_commit)) {}

Result<AppendResult> AppendQueue::Append(std::string_view stream, ExpectedVersion expected,
                                         std::vector<PreparedEvent> events,
                                         std::vector<bool> client_ids) {
  Writer self;
  self.stream = stream;
  self.expected = expected;
  self.bytes = EventBytes(events);
  self.events = std::move(events);
  self.client_ids = std::move(client_ids);

  std::unique_lock lock(mu_);
  writers_.push_back(&self);
  while (!self.done && writers_.front() != &self) self.cv.wait(lock);
  if (self.done) return std::move(self.result);

  // This thread leads: take the writers queued behind it, up to the caps.
  std::vector<Writer*> group;
  size_t group_events = 0;
  size_t group_bytes = 0;
  for (Writer* w : writers_) {
    if (!group.empty() && (group_events + w->events.size() > options_.group_commit_max_events ||
                           group_bytes + w->bytes > options_.group_commit_max_bytes)) {
      break;
    }
    group.push_back(w);
    group_events += w->events.size();
    group_bytes += w->bytes;
  }
  lock.unlock();

  CommitGroup(group);

  lock.lock();
  for (Writer* w : group) {
    writers_.pop_front();
    w->done = true;
    if (w != &self) w->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return std::move(self.result);
}

Status AppendQueue::Health() {
  Status failure;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    failure = failure_;
    generation = failure_generation_;
  }
  if (failure.ok()) return failure;
  // Space may be back without anyone appending: a write probe tells.
  if (Status probe = backend_.ProbeWrite(); !probe.ok()) {
    return UnavailableError("writes fail: " + probe.ToString() +
                            " (first failure: " + failure.message() + ")");
  }
  std::lock_guard lock(mu_);
  if (failure_generation_ == generation) failure_ = Status::OK();  // no new failure meanwhile
  return failure_;
}

Status AppendQueue::CommitFailed(const Status& commit, Position first) {
  std::string outcome =
      "the outcome of the appends in it is unknown (retry with the same event ids)";
  if (!backend_.SurvivesFailedCommit()) {
    // The transaction is over (rolled back if it did not commit): storage now tells whether the
    // group is there. Positions are dense, so the group is absent iff the head is below it.
    auto head = backend_.HeadPosition();
    if (head.ok() && (first == 0 || *head < first)) {
      outcome = "it was rolled back: the appends in it were not stored (retry them)";
    } else {
      verify_head_ = true;
      if (!head.ok()) outcome += "; re-reading the head failed: " + head.status().ToString();
    }
  }
  std::lock_guard lock(mu_);
  ++failure_generation_;
  failure_ = UnavailableError("the last append's commit failed (" + commit.message() +
                              "); appends are retried, and the store is healthy again after the "
                              "next successful write");
  return commit.Annotate("commit failed; " + outcome);
}

void AppendQueue::CommitGroup(const std::vector<Writer*>& group) {
  auto fail_all = [&](const Status& s) {
    for (Writer* w : group) w->result = s;
  };
  if (verify_head_) {
    // After a commit of unknown outcome, storage is read afresh before anything is written: the
    // next transaction then starts from what is really stored.
    auto head = backend_.HeadPosition();
    if (!head.ok()) {
      return fail_all(UnavailableError("the store cannot verify its last failed commit (" +
                                       head.status().ToString() + "); nothing was written"));
    }
    verify_head_ = false;
  }
  auto tx_or = backend_.BeginWrite();
  if (!tx_or.ok()) return fail_all(tx_or.status());
  WriteTransaction& tx = **tx_or;
  if (Status s = Prefetch(tx, group); !s.ok()) return fail_all(s);

  // recorded_at never goes backwards within a process, even if the wall clock does.
  const int64_t recorded_at = std::max(clock_.NowMicros(), last_recorded_at_us_);

  Position head = 0;
  Position first = 0;  // the lowest position the group inserted
  bool wrote = false;
  for (Writer* w : group) {
    if (Status s = tx.Savepoint(); !s.ok()) return fail_all(s);
    w->result = ApplyOne(tx, *w, recorded_at);
    const Status end = w->result.ok() ? tx.ReleaseSavepoint() : tx.RollbackToSavepoint();
    // When the savepoint cannot be undone alone (SQLite rolls back the whole transaction on
    // SQLITE_FULL or an I/O error), the group fails with the writer's own error, which names the
    // cause; nothing was committed.
    if (!end.ok()) {
      const Status cause = w->result.ok() ? end : w->result.status();
      return fail_all(Status(cause.code(), cause.message() +
                                               "; the transaction was rolled back: the appends "
                                               "in it were not stored (retry them)"));
    }
    if (w->result.ok() && !w->result->already_stored) {
      if (!wrote) first = w->result->first_position;
      wrote = true;
      head = std::max(head, w->result->last_position);
    }
  }
  if (Status s = tx.Commit(); !s.ok()) {
    tx_or->reset();  // ends the transaction (a rollback if it is still open) before re-reading
    return fail_all(CommitFailed(s, first));
  }
  last_recorded_at_us_ = recorded_at;
  {
    std::lock_guard lock(mu_);
    failure_ = Status::OK();
  }
  if (wrote) on_commit_(head);
}

Status AppendQueue::Prefetch(WriteTransaction& tx, const std::vector<Writer*>& group) {
  std::vector<std::string_view> streams;
  std::vector<std::string_view> ids;
  streams.reserve(group.size());
  for (const Writer* w : group) {
    streams.push_back(w->stream);
    for (size_t i = 0; i < w->events.size(); ++i) {
      if (w->client_ids[i]) ids.push_back(w->events[i].id);
    }
  }
  return tx.Prefetch(streams, ids);
}

Result<AppendResult> AppendQueue::ApplyOne(WriteTransaction& tx, Writer& writer,
                                           int64_t recorded_at_us) {
  TRIAD_ASSIGN_OR_RETURN(const StreamVersion current, tx.CurrentVersion(writer.stream));
  // Only a client-chosen id can repeat an earlier append; generated ids are new by construction.
  if (writer.client_ids[0]) {
    TRIAD_ASSIGN_OR_RETURN(const auto first, tx.FindEvent(writer.events[0].id));
    if (first) return ResolveRetry(tx, writer, *first);
  }
  if (!writer.expected.Matches(current)) return Conflict(writer.stream, writer.expected, current);
  const StreamVersion first_version = current + 1;
  TRIAD_ASSIGN_OR_RETURN(const Position first_position,
                         tx.Insert(writer.stream, first_version, writer.events, recorded_at_us));
  const auto n = static_cast<int64_t>(writer.events.size());
  return AppendResult{.first_version = first_version,
                      .last_version = first_version + n - 1,
                      .first_position = first_position,
                      .last_position = first_position + n - 1,
                      .already_stored = false};
}

Result<AppendResult> AppendQueue::ResolveRetry(WriteTransaction& tx, Writer& writer,
                                               const RecordedEvent& first) {
  const std::string stream(writer.stream);
  if (first.stream != stream) {
    return AlreadyExistsError("event id " + first.id + " is already stored in stream '" +
                              first.stream + "'");
  }
  Position last_position = first.position;
  for (size_t i = 0; i < writer.events.size(); ++i) {
    const PreparedEvent& sent = writer.events[i];
    std::optional<RecordedEvent> stored;
    if (i == 0) {
      stored = first;
    } else {
      TRIAD_ASSIGN_OR_RETURN(stored, tx.FindEvent(sent.id));
    }
    const StreamVersion want_version = first.version + static_cast<StreamVersion>(i);
    if (!stored || stored->stream != stream || stored->version != want_version) {
      return AlreadyExistsError("event " + std::to_string(i) + " (id " + sent.id +
                                ") does not repeat the earlier append that stored event id " +
                                first.id + "; an idempotent retry must resend the same events");
    }
    if (stored->type != sent.type || stored->data != sent.data ||
        stored->metadata != sent.metadata) {
      return AlreadyExistsError("event id " + sent.id + " is already stored with other content");
    }
    last_position = stored->position;
  }
  if (!CompatibleWithOriginal(writer.expected, first.version)) {
    TRIAD_ASSIGN_OR_RETURN(const StreamVersion current, tx.CurrentVersion(writer.stream));
    return AbortedError("events with these ids were already appended to '" + stream +
                        "' at versions " + std::to_string(first.version) + ".." +
                        std::to_string(first.version +
                                       static_cast<StreamVersion>(writer.events.size()) - 1) +
                        ", which expected version " + writer.expected.ToString() +
                        " could not have produced; the stream is at version " +
                        std::to_string(current))
        .WithCurrentVersion(current);
  }
  const auto n = static_cast<int64_t>(writer.events.size());
  return AppendResult{.first_version = first.version,
                      .last_version = first.version + n - 1,
                      .first_position = first.position,
                      .last_position = last_position,
                      .already_stored = true};
}

}  // namespace triad::internal
