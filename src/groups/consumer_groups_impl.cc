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
                                       std::unique_ptr<GroupStorage> file, std::string describe)
    : store_(store), clock_(clock), describe_(std::move(describe)), file_(std::move(file)) {}

ConsumerGroupsImpl::~ConsumerGroupsImpl() {
  if (listening_) store_->RemoveCommitListener(listener_id_);
  // Stops the storage's threads (WatchOtherNodes) while the members they wake still exist.
  file_.reset();
}

Status ConsumerGroupsImpl::Start() {
  std::lock_guard file_lock(file_mu_);
  std::lock_guard lock(mu_);
  listener_id_ = store_->AddCommitListener([this](Position) { Wake(); });
  listening_ = true;
  if (file_->shared()) {
    // Other nodes' acks and nacks may unblock streams for polls waiting here.
    file_->WatchOtherNodes([this] { Wake(); });
    // Shared storage loads each group inside its lock, when an operation first needs it.
    return Status::OK();
  }
  TRIAD_ASSIGN_OR_RETURN(auto stored, file_->LoadAll());
  for (StoredGroup& g : stored) {
    auto state = std::make_unique<GroupState>(g.name, g.settings, g.created_at_us, g.checkpoint);
    const std::string name = g.name;
    TRIAD_RETURN_IF_ERROR(state->Restore(std::move(g), *store_).Annotate("group '" + name + "'"));
    groups_[name] = std::move(state);
  }
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
  if (file_->shared()) return CreateShared(name, normalized);
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
  if (file_->shared()) {
    TRIAD_RETURN_IF_ERROR(DeleteShared(name));
    Wake();
    return Status::OK();
  }
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
  if (file_->shared()) return RunShared(group, op);
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
  if (file_->shared()) {
    std::lock_guard file_lock(file_mu_);
    TRIAD_ASSIGN_OR_RETURN(names, file_->ListNames());
  } else {
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
  if (options.wait_us < 0 || options.wait_us > kMaxGroupDurationUs) {
    return InvalidArgumentError("wait must be 0.." + std::to_string(kMaxGroupDurationUs) +
                                " us (24 h), got " + std::to_string(options.wait_us) + " us");
  }
  const std::string name(member);
  const int64_t deadline = clock_->NowMicros() + options.wait_us;
  bool begun = false;
  while (true) {
    const uint64_t generation = wake_generation_.load();
    std::vector<GroupMessage> messages;
    bool done = false;
    int64_t wake_at = deadline;
    // Delivered attempts are durable before Run returns, so before the messages are handed out.
    Result<int64_t> looked =
        Run(group, [&](GroupState& state, int64_t now, GroupChanges& changes) -> Result<int64_t> {
          if (!begun) {
            state.BeginPoll(name, now, deadline, changes);
            begun = true;
          }
          messages = state.Take(name, options.max_messages, now, changes);
          done = !messages.empty() || now >= deadline;
          if (done) state.EndPoll(name, now, changes);
          wake_at = std::min({deadline, state.NextDueUs(), now + kExternalPollUs});
          return int64_t{0};
        });
    if (!looked.ok()) {
      if (begun && !done) AbandonPoll(group, name);
      return looked.status();
    }
    if (done) return messages;
    std::unique_lock lock(wake_mu_);
    while (wake_generation_.load() == generation) {
      if (!clock_->WaitUntil(lock, wake_cv_, wake_at)) break;
    }
  }
}

void ConsumerGroupsImpl::AbandonPoll(std::string_view group, const std::string& member) {
  std::lock_guard lock(mu_);
  auto state = FindLocked(group);
  if (!state.ok()) return;
  GroupChanges unstored;  // the member's lease runs from its last stored poll
  (*state)->EndPoll(member, clock_->NowMicros(), unstored);
}

Result<int64_t> ConsumerGroupsImpl::RunShared(std::string_view group, const Operation& op) {
  Result<int64_t> result = int64_t{0};
  {
    std::lock_guard file_lock(file_mu_);
    TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<GroupLock> locked, file_->Lock(group));
    std::lock_guard lock(mu_);
    auto it = groups_.find(group);
    if (locked->version() == 0) {
      if (it != groups_.end()) groups_.erase(it);
      return NotFoundError("no consumer group '" + std::string(group) + "'");
    }
    if (it == groups_.end() || it->second->stored_version() != locked->version()) {
      // Another node changed the group since this node last did, or this node has no copy.
      TRIAD_ASSIGN_OR_RETURN(StoredGroup stored, locked->Load());
      const std::string what = "loading group '" + std::string(group) + "'";
      if (it != groups_.end() && it->second->CanResync(stored)) {
        // Take the other node's rows over, keeping the events this node has read already.
        TRIAD_RETURN_IF_ERROR(it->second->Resync(std::move(stored), *store_).Annotate(what));
      } else {
        auto state = std::make_unique<GroupState>(stored.name, stored.settings,
                                                  stored.created_at_us, stored.checkpoint);
        TRIAD_RETURN_IF_ERROR(state->Restore(std::move(stored), *store_).Annotate(what));
        it = groups_.insert_or_assign(std::string(group), std::move(state)).first;
      }
      // The stored holds and deadlines apply as their messages enter the window: fill it before
      // the refresh looks for expired ones.
      TRIAD_RETURN_IF_ERROR(it->second->Fill(*store_).Annotate(what));
      it->second->set_stored_version(locked->version());
    }
    GroupState& state = *it->second;
    const int64_t now = clock_->NowMicros();
    GroupChanges changes;
    if (Status refreshed = RefreshLocked(state, now, changes); !refreshed.ok()) {
      state.set_stored_version(0);  // memory may be ahead of the storage now: reload next time
      return refreshed;
    }
    result = op(state, now, changes);
    state.UpdateCheckpoint(changes);
    // Whatever changed in memory is stored, even when the operation failed half-way.
    if (changes.empty_for_shared()) return result;  // `locked` rolls back: nothing to store
    const int64_t version = locked->version();
    state.set_stored_version(0);  // unknown until the commit is known to have landed
    TRIAD_RETURN_IF_ERROR(locked->Commit(changes).Annotate("storing consumer-group state"));
    state.set_stored_version(version + 1);
  }
  Wake();  // acks and give-backs may unblock streams for polls waiting on this node
  return result;
}

Result<bool> ConsumerGroupsImpl::CreateShared(std::string_view name,
                                              const GroupSettings& settings) {
  std::lock_guard file_lock(file_mu_);
  const Position checkpoint = settings.start_position - 1;
  // Two tries: a group that another node deletes between our insert and our look is created.
  for (int attempt = 0; attempt < 2; ++attempt) {
    Status created = file_->Create(name, settings, clock_->NowMicros(), checkpoint);
    if (created.ok()) return true;
    if (created.code() != StatusCode::kAlreadyExists) return created;
    TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<GroupLock> locked, file_->Lock(name));
    if (locked->version() == 0) continue;
    TRIAD_ASSIGN_OR_RETURN(StoredGroup stored, locked->Load());
    if (SameSettings(stored.settings, settings)) return false;
    return AlreadyExistsError("consumer group '" + std::string(name) +
                              "' already exists with other settings");
  }
  return AbortedError("consumer group '" + std::string(name) +
                      "' was deleted and created again by other nodes meanwhile; retry");
}

Status ConsumerGroupsImpl::DeleteShared(std::string_view name) {
  std::lock_guard file_lock(file_mu_);
  {
    TRIAD_ASSIGN_OR_RETURN(std::unique_ptr<GroupLock> locked, file_->Lock(name));
    if (locked->version() == 0)
      return NotFoundError("no consumer group '" + std::string(name) + "'");
  }  // rolled back: Delete runs in a transaction of its own
  TRIAD_RETURN_IF_ERROR(file_->Delete(name));
  std::lock_guard lock(mu_);
  if (auto it = groups_.find(name); it != groups_.end()) groups_.erase(it);
  return Status::OK();
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
