#include "groups/consumer_groups_impl.h"

#include "util/status_macros.h"

#include <algorithm>
#include <set>
#include <utility>

#include "groups/group_settings.h"

namespace triad::internal::groups {
namespace {

// Failed commits remembered for waiters that have not yet read their status.
constexpr size_t kRememberedFailures = 64;

}  // namespace

ConsumerGroupsImpl::ConsumerGroupsImpl(EventStore* store, Clock* clock,
                                       std::unique_ptr<GroupFile> file, std::string describe)
    : store_(store), clock_(clock), describe_(std::move(describe)), file_(std::move(file)) {}

ConsumerGroupsImpl::~ConsumerGroupsImpl() {
  if (listening_) store_->RemoveCommitListener(listener_id_);
}

Status ConsumerGroupsImpl::Start() {
  std::lock_guard file_lock(file_mu_);
  std::lock_guard lock(mu_);
  TRIAD_ASSIGN_OR_RETURN(auto stored, file_->LoadAll());
  for (StoredGroup& g : stored) {
    auto state = std::make_unique<GroupState>(g.name, g.settings, g.created_at_us, g.checkpoint);
    const std::string name = g.name;
    TRIAD_RETURN_IF_ERROR(state->Restore(std::move(g), *store_).Annotate("group '" + name + "'"));
    groups_[name] = std::move(state);
  }
  listener_id_ = store_->AddCommitListener([this](Position) { Wake(); });
  listening_ = true;
  return Status::OK();
}

void ConsumerGroupsImpl::Wake() {
  wake_generation_.fetch_add(1);
  // Taking the mutex orders the notify after a waiter that read the old generation has started
  // waiting.
  { std::lock_guard lock(wake_mu_); }
  wake_cv_.notify_all();
}

Result<GroupState*> ConsumerGroupsImpl::FindLocked(std::string_view name) {
  auto it = groups_.find(name);
  if (it == groups_.end()) {
    return NotFoundError("no consumer group '" + std::string(name) + "'");
  }
  return it->second.get();
}

Status ConsumerGroupsImpl::RefreshLocked(GroupState& group, int64_t now_us, GroupChanges& changes) {
  group.Expire(now_us, changes);
  TRIAD_RETURN_IF_ERROR(
      group.Fill(*store_).Annotate("reading the log for group '" + group.name() + "'"));
  group.UpdateCheckpoint(changes);
  return Status::OK();
}

uint64_t ConsumerGroupsImpl::EnqueueLocked(const std::string& group, GroupChanges changes) {
  if (changes.empty()) return 0;
  queue_.push_back(PendingChanges{.group = group, .changes = std::move(changes)});
  return ++last_ticket_;
}

Status ConsumerGroupsImpl::FlushLocked() {
  std::vector<PendingChanges> batch;
  uint64_t first = 0;
  uint64_t last = 0;
  {
    std::lock_guard lock(mu_);
    batch.swap(queue_);
    first = durable_ticket_ + 1;
    last = last_ticket_;
  }
  if (batch.empty()) return Status::OK();
  Status s = file_->Commit(batch);
  std::lock_guard lock(mu_);
  durable_ticket_ = last;
  if (s.ok()) return s;
  std::set<std::string> touched;
  for (const PendingChanges& p : batch) touched.insert(p.group);
  for (const std::string& name : touched) {
    ReloadLocked(name).IgnoreError();  // a failed reload leaves the group out until reopen
  }
  s = s.Annotate("storing consumer-group state");
  failures_.push_back(FailedCommit{first, last, s});
  if (failures_.size() > kRememberedFailures) failures_.pop_front();
  return s;
}

Status ConsumerGroupsImpl::WaitDurable(uint64_t ticket) {
  if (ticket == 0) return Status::OK();
  std::lock_guard file_lock(file_mu_);
  {
    std::lock_guard lock(mu_);
    if (durable_ticket_ < ticket) {
      // Not yet committed: this waiter leads the next group commit.
    } else {
      for (const FailedCommit& f : failures_) {
        if (ticket >= f.first_ticket && ticket <= f.last_ticket) return f.status;
      }
      return Status::OK();
    }
  }
  Status s = FlushLocked();
  Wake();  // acks and give-backs may unblock streams for waiting polls
  return s;
}

Status ConsumerGroupsImpl::ReloadLocked(const std::string& name) {
  groups_.erase(name);
  TRIAD_ASSIGN_OR_RETURN(auto stored, file_->LoadAll());
  for (StoredGroup& g : stored) {
    if (g.name != name) continue;
    auto state = std::make_unique<GroupState>(g.name, g.settings, g.created_at_us, g.checkpoint);
    TRIAD_RETURN_IF_ERROR(state->Restore(std::move(g), *store_));
    groups_[name] = std::move(state);
  }
  return Status::OK();
}

Result<bool> ConsumerGroupsImpl::Create(std::string_view name, const GroupSettings& settings) {
  TRIAD_RETURN_IF_ERROR(ValidateGroupName(name));
  TRIAD_ASSIGN_OR_RETURN(GroupSettings normalized, NormalizeSettings(settings));
  std::lock_guard file_lock(file_mu_);
  std::lock_guard lock(mu_);
  if (auto it = groups_.find(name); it != groups_.end()) {
    if (SameSettings(it->second->settings(), normalized)) return false;
    return AlreadyExistsError("consumer group '" + std::string(name) +
                              "' already exists with other settings");
  }
  const int64_t now = clock_->NowMicros();
  const Position checkpoint = normalized.start_position - 1;
  TRIAD_RETURN_IF_ERROR(file_->Create(name, normalized, now, checkpoint));
  groups_[std::string(name)] =
      std::make_unique<GroupState>(std::string(name), normalized, now, checkpoint);
  return true;
}

Status ConsumerGroupsImpl::Delete(std::string_view name) {
  {
    std::lock_guard file_lock(file_mu_);
    // Queued changes of the group must not land after its rows are gone.
    TRIAD_RETURN_IF_ERROR(FlushLocked());
    std::lock_guard lock(mu_);
    TRIAD_RETURN_IF_ERROR(FindLocked(name).status());
    TRIAD_RETURN_IF_ERROR(file_->Delete(name));
    groups_.erase(groups_.find(name));
  }
  Wake();  // waiting polls answer kNotFound
  return Status::OK();
}

Result<int64_t> ConsumerGroupsImpl::Run(std::string_view group, const Operation& op) {
  Result<int64_t> result = int64_t{0};
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mu_);
    TRIAD_ASSIGN_OR_RETURN(GroupState * state, FindLocked(group));
    const int64_t now = clock_->NowMicros();
    GroupChanges changes;
    Status refreshed = RefreshLocked(*state, now, changes);
    if (refreshed.ok()) {
      result = op(*state, now, changes);
      state->UpdateCheckpoint(changes);
    } else {
      result = refreshed;
    }
    // Whatever changed in memory is stored, even when the operation failed half-way.
    ticket = EnqueueLocked(state->name(), std::move(changes));
  }
  TRIAD_RETURN_IF_ERROR(WaitDurable(ticket));
  return result;
}

Result<GroupInfo> ConsumerGroupsImpl::Get(std::string_view name) {
  GroupInfo info;
  TRIAD_ASSIGN_OR_RETURN(const Position head, store_->HeadPosition());
  TRIAD_RETURN_IF_ERROR(Run(name, [&](GroupState& state, int64_t, GroupChanges&) {
                          info = state.Info(head);
                          return Result<int64_t>(0);
                        }).status());
  // The log may have grown past `head` while the window was filled.
  info.head_position = std::max(info.head_position, info.checkpoint);
  return info;
}

Result<std::vector<GroupInfo>> ConsumerGroupsImpl::List() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, group] : groups_) names.push_back(name);
  }
  std::vector<GroupInfo> out;
  for (const std::string& name : names) {
    auto info = Get(name);
    if (info.ok()) {
      out.push_back(std::move(*info));
    } else if (info.status().code() != StatusCode::kNotFound) {  // deleted meanwhile: skip it
      return info.status();
    }
  }
  return out;
}

Result<std::vector<GroupMessage>> ConsumerGroupsImpl::Poll(std::string_view group,
                                                           std::string_view member,
                                                           const PollOptions& options) {
  TRIAD_RETURN_IF_ERROR(ValidateMemberName(member));
  if (options.max_messages < 1 || options.max_messages > 1000) {
    return InvalidArgumentError("max_messages must be 1..1000, got " +
                                std::to_string(options.max_messages));
  }
  if (options.wait_us < 0) {
    return InvalidArgumentError("wait must be >= 0, got " + std::to_string(options.wait_us) +
                                " us");
  }
  const std::string name(member);
  const int64_t deadline = clock_->NowMicros() + options.wait_us;
  bool begun = false;
  while (true) {
    const uint64_t generation = wake_generation_.load();
    std::vector<GroupMessage> messages;
    Status refreshed;
    bool done = false;
    uint64_t ticket = 0;
    int64_t wake_at = 0;
    {
      std::lock_guard lock(mu_);
      TRIAD_ASSIGN_OR_RETURN(GroupState * state, FindLocked(group));
      const int64_t now = clock_->NowMicros();
      GroupChanges changes;
      refreshed = RefreshLocked(*state, now, changes);
      if (!begun) {
        state->BeginPoll(name, now);
        begun = true;
      }
      if (refreshed.ok()) messages = state->Take(name, options.max_messages, now, changes);
      done = !refreshed.ok() || !messages.empty() || now >= deadline;
      if (done) state->EndPoll(name, now);
      ticket = EnqueueLocked(state->name(), std::move(changes));
      wake_at = std::min({deadline, state->NextDueUs(), now + kExternalPollUs});
    }
    // Delivered attempts are durable before the messages are handed out.
    TRIAD_RETURN_IF_ERROR(WaitDurable(ticket));
    TRIAD_RETURN_IF_ERROR(refreshed);
    if (done) return messages;
    std::unique_lock lock(wake_mu_);
    while (wake_generation_.load() == generation) {
      if (!clock_->WaitUntil(lock, wake_cv_, wake_at)) break;
    }
  }
}

Result<int64_t> ConsumerGroupsImpl::Ack(std::string_view group, std::string_view member,
                                        std::span<const Position> positions) {
  const std::string name(member);
  return Run(group, [&](GroupState& state, int64_t, GroupChanges& changes) -> Result<int64_t> {
    return state.Ack(name, positions, changes);
  });
}

Result<int64_t> ConsumerGroupsImpl::Nack(std::string_view group, std::string_view member,
                                         std::span<const Position> positions,
                                         std::string_view reason, bool park) {
  const std::string name(member);
  return Run(group, [&](GroupState& state, int64_t now, GroupChanges& changes) -> Result<int64_t> {
    return state.Nack(name, positions, reason, park, now, changes);
  });
}

Result<std::vector<ParkedMessage>> ConsumerGroupsImpl::ListParked(std::string_view group,
                                                                  Position from_position,
                                                                  size_t limit) {
  std::vector<ParkedMessage> parked;
  TRIAD_RETURN_IF_ERROR(Run(group, [&](GroupState& state, int64_t, GroupChanges&) {
                          parked = state.ListParked(from_position, limit);
                          return Result<int64_t>(0);
                        }).status());
  return parked;
}

Result<int64_t> ConsumerGroupsImpl::ReplayParked(std::string_view group,
                                                 std::span<const Position> positions) {
  return Run(group, [&](GroupState& state, int64_t, GroupChanges& changes) {
    return state.Replay(positions, *store_, changes);
  });
}

}  // namespace triad::internal::groups
