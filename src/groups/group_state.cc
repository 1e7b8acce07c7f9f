#include "groups/group_state.h"

#include "util/status_macros.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <utility>

namespace triad::internal::groups {
namespace {

constexpr size_t kReadBatch = 1000;

// Backoff before the retry that follows the `attempts`-th delivery: doubling, capped.
int64_t Backoff(const GroupSettings& s, int32_t attempts) {
  int64_t wait = s.retry_backoff_us;
  for (int32_t i = 1; i < attempts && wait < s.max_retry_backoff_us; ++i) {
    wait = wait > s.max_retry_backoff_us / 2 ? s.max_retry_backoff_us : wait * 2;
  }
  return std::min(wait, s.max_retry_backoff_us);
}

Result<RecordedEvent> ReadAt(EventStore& store, Position position) {
  ReadAllOptions options;
  options.from_position = position;
  options.limit = 1;
  TRIAD_ASSIGN_OR_RETURN(auto events, store.ReadAll(options));
  if (events.empty() || events.front().position != position) {
    return DataLossError("the event at position " + std::to_string(position) +
                         " of a parked message is missing from the store");
  }
  return std::move(events.front());
}

}  // namespace

GroupState::GroupState(std::string name, GroupSettings settings, int64_t created_at_us,
                       Position checkpoint)
    : name_(std::move(name)),
      settings_(std::move(settings)),
      created_at_us_(created_at_us),
      checkpoint_(checkpoint),
      read_position_(checkpoint + 1) {}

Status GroupState::Restore(StoredGroup stored, EventStore& store) {
  // A new state is a copy with nothing in it yet to keep.
  return Resync(std::move(stored), store);
}

bool GroupState::CanResync(const StoredGroup& stored) const {
  return stored.name == name_ && stored.created_at_us == created_at_us_ &&
         stored.checkpoint >= checkpoint_;
}

Status GroupState::Resync(StoredGroup stored, EventStore& store) {
  checkpoint_ = stored.checkpoint;
  read_position_ = std::max(read_position_, checkpoint_ + 1);
  acked_.clear();
  for (Position p : stored.acked) {
    if (p > checkpoint_) acked_.insert(p);
  }
  parked_.clear();
  std::set<Position> replaying;
  for (auto& [parked, is_replaying] : stored.parked) {
    const Position p = parked.position;
    if (is_replaying) replaying.insert(p);
    parked_[p] = {std::move(parked), is_replaying};
  }
  // Keep the events already read (no new read of the log). Only the messages this copy knew as
  // delivered and those the stored rows name can differ from pending, so the work is in the
  // number of rows, not in the size of the window.
  for (Position p : delivered_) {
    if (auto it = window_.find(p); it != window_.end()) {
      Message& m = it->second;
      m.state = State::kPending;
      m.member.clear();
      m.due_us = 0;
      m.attempts = 0;
    }
  }
  delivered_.clear();
  owners_.clear();
  next_due_us_ = INT64_MAX;
  // Done since: at or below the checkpoint, acked above it, or parked.
  for (auto it = window_.begin(); it != window_.end() && it->first <= checkpoint_;) {
    it = replaying.contains(it->first) ? std::next(it) : window_.erase(it);
  }
  for (Position p : acked_) window_.erase(p);
  for (const auto& [p, entry] : parked_) {
    if (auto it = window_.find(p); it != window_.end()) {
      if (entry.second) {
        it->second.replayed = true;
      } else {
        window_.erase(it);
      }
    }
  }
  // The stored states of the messages in the window; the others wait in restored_messages_
  // until Fill reads them (Insert applies them, as for the replaying messages read back here).
  restored_messages_ = std::move(stored.messages);
  for (Position p : replaying) {
    if (window_.contains(p)) continue;
    TRIAD_ASSIGN_OR_RETURN(RecordedEvent event, ReadAt(store, p));
    Insert(std::move(event), /*replayed=*/true, 0);
  }
  for (auto it = restored_messages_.begin(); it != restored_messages_.end();) {
    auto in_window = window_.find(it->first);
    ++it;  // ApplyStored forgets the entry it applies
    if (in_window != window_.end()) ApplyStored(in_window->first, in_window->second);
  }
  std::map<std::string, Member> members;
  for (auto& [name, m] : stored.members) {
    Member& member = members[name];
    member.last_seen_us = m.last_seen_us;
    member.polling_until_us = m.polling_until_us;
    if (auto it = members_.find(name); it != members_.end()) member.polling = it->second.polling;
  }
  // A member polling on this node that another node expired meanwhile is alive again.
  for (auto& [name, m] : members_) {
    if (m.polling > 0 && !members.contains(name)) members[name] = m;
  }
  members_ = std::move(members);
  return Status::OK();
}

void GroupState::Insert(RecordedEvent event, bool replayed, int32_t attempts) {
  const Position p = event.position;
  Message m;
  m.event = std::move(event);
  m.attempts = attempts;
  m.replayed = replayed;
  ApplyStored(p, m);
  window_[p] = std::move(m);
}

void GroupState::ApplyStored(Position p, Message& m) {
  m.state = State::kPending;
  m.member.clear();
  m.due_us = 0;
  auto it = restored_messages_.find(p);
  if (it == restored_messages_.end()) return;
  const StoredMessage& stored = it->second;
  m.attempts = stored.attempts;
  if (m.attempts > 0) delivered_.insert(p);
  if (!stored.member.empty()) {
    // Held by a member (on shared storage, possibly through another node).
    m.state = State::kInFlight;
    m.member = stored.member;
    m.due_us = stored.due_us;
    Owner& o = owners_[m.event.stream];
    o.member = stored.member;
    o.in_flight++;
    NoteDue(m.due_us);
  } else if (stored.due_us > 0) {
    m.state = State::kRetrying;
    m.due_us = stored.due_us;
    NoteDue(m.due_us);
  }
  restored_messages_.erase(it);
}

void GroupState::Record(Position p, const Message& m, GroupChanges& changes) {
  StoredMessage stored{.attempts = m.attempts};
  if (m.state == State::kInFlight) {
    stored.member = m.member;
    stored.due_us = m.due_us;
  } else if (m.state == State::kRetrying) {
    stored.due_us = m.due_us;
  }
  changes.messages.emplace_back(p, std::move(stored));
}

void GroupState::RecordMember(const std::string& name, const Member& m, GroupChanges& changes) {
  changes.members.emplace_back(
      name, StoredMember{.last_seen_us = m.last_seen_us, .polling_until_us = m.polling_until_us});
}

Status GroupState::Fill(EventStore& store) {
  while (window_.size() + acked_.size() < kMaxWindow) {
    TRIAD_ASSIGN_OR_RETURN(const Position head, store.HeadPosition());
    if (read_position_ > head) break;
    ReadAllOptions options;
    options.from_position = read_position_;
    options.limit = std::min(kReadBatch, kMaxWindow - window_.size() - acked_.size());
    options.types = settings_.event_types;
    options.categories = settings_.categories;
    TRIAD_ASSIGN_OR_RETURN(auto events, store.ReadAll(options));
    const size_t count = events.size();
    const Position last = events.empty() ? read_position_ - 1 : events.back().position;
    for (RecordedEvent& e : events) {
      const Position p = e.position;
      if (acked_.contains(p) || parked_.contains(p) || window_.contains(p)) continue;
      Insert(std::move(e), /*replayed=*/false, 0);
    }
    if (count < options.limit) {
      // Every matching event up to `head` has been read (positions are dense and in commit
      // order, promise 2), so the non-matching ones up to it need no look.
      read_position_ = std::max(last, head) + 1;
      break;
    }
    read_position_ = last + 1;
  }
  return Status::OK();
}

void GroupState::BeginPoll(const std::string& member, int64_t now_us, int64_t until_us,
                           GroupChanges& changes) {
  Member& m = members_[member];
  m.polling++;
  m.last_seen_us = now_us;
  m.polling_until_us = std::max(m.polling_until_us, until_us);
  RecordMember(member, m, changes);
}

void GroupState::EndPoll(const std::string& member, int64_t now_us, GroupChanges& changes) {
  auto it = members_.find(member);
  if (it == members_.end()) {
    // Expired meanwhile by another node, or its state was reloaded: it is alive again.
    it = members_.emplace(member, Member{}).first;
  } else if (it->second.polling > 0) {
    // A poll that began on a group since deleted and created again never began on this one.
    it->second.polling--;
  }
  Member& m = it->second;
  m.last_seen_us = now_us;
  if (m.polling == 0) m.polling_until_us = 0;
  RecordMember(member, m, changes);
}

void GroupState::Unhold(Message& m) {
  auto it = owners_.find(m.event.stream);
  if (it != owners_.end() && --it->second.in_flight <= 0) owners_.erase(it);
  m.member.clear();
}

void GroupState::Park(Position position, std::string_view reason, int64_t now_us,
                      GroupChanges& changes) {
  auto it = window_.find(position);
  Message& m = it->second;
  ParkedMessage parked{.position = position,
                       .stream = m.event.stream,
                       .type = m.event.type,
                       .attempts = m.attempts,
                       .last_error = std::string(reason),
                       .parked_at_us = now_us};
  changes.parked.push_back(parked);
  parked_[position] = {std::move(parked), false};
  delivered_.erase(position);
  window_.erase(it);
}

void GroupState::GiveBack(Position position, bool park, int64_t retry_at_us,
                          std::string_view reason, int64_t now_us, GroupChanges& changes) {
  auto it = window_.find(position);
  Message& m = it->second;
  const std::string member = m.member;
  const std::string stream = m.event.stream;
  Unhold(m);
  if (park) {
    Park(position, reason, now_us, changes);
  } else if (retry_at_us > 0) {
    m.state = State::kRetrying;
    m.due_us = retry_at_us;
    NoteDue(retry_at_us);
    Record(position, m, changes);
  } else {
    m.state = State::kPending;
    m.due_us = 0;
    Record(position, m, changes);
  }
  // The member may not act on later messages of the stream before this one is retried. Their
  // delivery is taken back, so it does not count as an attempt: only a delivery its member could
  // act on does, and none is delivered more than max_attempts times.
  for (auto j = window_.upper_bound(position); j != window_.end(); ++j) {
    Message& later = j->second;
    if (later.state == State::kInFlight && later.member == member && later.event.stream == stream) {
      Unhold(later);
      later.state = State::kPending;
      later.due_us = 0;
      later.attempts = std::max(later.attempts - 1, 0);
      Record(j->first, later, changes);
    }
  }
}

void GroupState::Expire(int64_t now_us, GroupChanges& changes) {
  const int32_t max_attempts = settings_.max_attempts;
  std::vector<std::string> gone;
  for (const auto& [name, m] : members_) {
    if (m.polling == 0 && now_us >= m.ExpiresUs(settings_.member_lease_us)) {
      gone.push_back(name);
    }
  }
  for (const std::string& name : gone) {
    members_.erase(name);
    changes.members_gone.push_back(name);
    for (auto it = window_.begin(); it != window_.end();) {
      const Position p = it->first;
      Message& m = it->second;
      ++it;  // GiveBack may erase p (park) but never a later entry
      if (m.state != State::kInFlight || m.member != name) continue;
      GiveBack(p, m.attempts >= max_attempts, 0,
               "member '" + name + "' lost its lease while holding it", now_us, changes);
    }
  }
  if (now_us < next_due_us_) return;
  std::vector<Position> timed_out;
  int64_t next = INT64_MAX;
  for (auto& [p, m] : window_) {
    if (m.state == State::kRetrying) {
      if (m.due_us <= now_us) {
        // Not recorded: a stored retry time that has passed means pending to every node.
        m.state = State::kPending;
        m.due_us = 0;
      } else {
        next = std::min(next, m.due_us);
      }
    } else if (m.state == State::kInFlight) {
      if (m.due_us <= now_us) {
        timed_out.push_back(p);
      } else {
        next = std::min(next, m.due_us);
      }
    }
  }
  next_due_us_ = next;
  for (Position p : timed_out) {
    auto it = window_.find(p);
    // An earlier timed-out message of the stream may have given this one back already.
    if (it == window_.end() || it->second.state != State::kInFlight) continue;
    GiveBack(p, it->second.attempts >= max_attempts, 0, "not acknowledged within the ack timeout",
             now_us, changes);
  }
}

std::vector<GroupMessage> GroupState::Take(const std::string& member, size_t max, int64_t now_us,
                                           GroupChanges& changes) {
  std::vector<GroupMessage> out;
  std::set<std::string_view> blocked;
  for (auto& [p, m] : window_) {
    if (out.size() >= max) break;
    const std::string& stream = m.event.stream;
    if (blocked.contains(stream)) continue;
    auto owner = owners_.find(stream);
    const bool other_owner = owner != owners_.end() && owner->second.member != member;
    if (m.state == State::kInFlight) {
      // Held by the owner: later messages may follow it, to the owner only.
      if (other_owner) blocked.insert(stream);
      continue;
    }
    if (other_owner || (m.state == State::kRetrying && m.due_us > now_us)) {
      blocked.insert(stream);
      continue;
    }
    m.state = State::kInFlight;
    m.member = member;
    m.attempts++;
    m.due_us = now_us + settings_.ack_timeout_us;
    NoteDue(m.due_us);
    Owner& o = owners_[stream];
    o.member = member;
    o.in_flight++;
    delivered_.insert(p);
    Record(p, m, changes);
    out.push_back(GroupMessage{.event = m.event, .attempt = m.attempts});
  }
  return out;
}

int64_t GroupState::Ack(const std::string& member, std::span<const Position> positions,
                        GroupChanges& changes) {
  int64_t acked = 0;
  for (Position p : positions) {
    auto it = window_.find(p);
    if (it == window_.end()) continue;
    Message& m = it->second;
    if (m.state != State::kInFlight || m.member != member) continue;
    Unhold(m);
    if (m.replayed) {
      parked_.erase(p);
      changes.unparked.push_back(p);
    }
    if (p > checkpoint_) acked_.insert(p);
    changes.acked.push_back(p);
    delivered_.erase(p);
    window_.erase(it);
    acked++;
  }
  return acked;
}

int64_t GroupState::Nack(const std::string& member, std::span<const Position> positions,
                         std::string_view reason, bool park, int64_t now_us,
                         GroupChanges& changes) {
  // Latest first: giving back an earlier message also releases the later ones of its stream,
  // which would then no longer count as held.
  std::vector<Position> order(positions.begin(), positions.end());
  std::sort(order.begin(), order.end(), std::greater<>());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  int64_t nacked = 0;
  for (Position p : order) {
    auto it = window_.find(p);
    if (it == window_.end()) continue;
    Message& m = it->second;
    if (m.state != State::kInFlight || m.member != member) continue;
    const bool out_of_attempts = m.attempts >= settings_.max_attempts;
    const std::string why = reason.empty() ? std::string("nacked") : std::string(reason);
    GiveBack(p, park || out_of_attempts, now_us + Backoff(settings_, m.attempts), why, now_us,
             changes);
    nacked++;
  }
  return nacked;
}

std::vector<ParkedMessage> GroupState::ListParked(Position from, size_t limit) const {
  std::vector<ParkedMessage> out;
  for (auto it = parked_.lower_bound(from); it != parked_.end() && out.size() < limit; ++it) {
    if (!it->second.second) out.push_back(it->second.first);
  }
  return out;
}

Result<int64_t> GroupState::Replay(std::span<const Position> positions, EventStore& store,
                                   GroupChanges& changes) {
  std::vector<Position> targets;
  if (positions.empty()) {
    for (const auto& [p, entry] : parked_) {
      if (!entry.second) targets.push_back(p);
    }
  } else {
    for (Position p : positions) {
      auto it = parked_.find(p);
      if (it != parked_.end() && !it->second.second) targets.push_back(p);
    }
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  }
  for (Position p : targets) {
    TRIAD_ASSIGN_OR_RETURN(RecordedEvent event, ReadAt(store, p));
    Insert(std::move(event), /*replayed=*/true, 0);
    parked_[p].second = true;
    changes.replayed.push_back(p);
  }
  return static_cast<int64_t>(targets.size());
}

void GroupState::UpdateCheckpoint(GroupChanges& changes) {
  Position cp = read_position_ - 1;
  for (const auto& [p, m] : window_) {
    // Replayed messages sit below or beside the checkpoint; their parked rows keep them.
    if (!m.replayed) {
      cp = p - 1;
      break;
    }
  }
  if (cp > checkpoint_) {
    checkpoint_ = cp;
    acked_.erase(acked_.begin(), acked_.upper_bound(cp));
    changes.checkpoint_moved = true;
  }
  changes.checkpoint = checkpoint_;
}

GroupInfo GroupState::Info(Position head) const {
  GroupInfo info;
  info.name = name_;
  info.settings = settings_;
  info.checkpoint = checkpoint_;
  info.head_position = head;
  info.created_at_us = created_at_us_;
  for (const auto& [p, m] : window_) {
    if (m.state == State::kInFlight) info.in_flight++;
    if (m.state == State::kRetrying) info.retrying++;
  }
  for (const auto& [p, entry] : parked_) {
    if (!entry.second) info.parked++;
  }
  for (const auto& [name, m] : members_) {
    GroupMemberInfo member{.name = name, .last_seen_us = m.last_seen_us};
    for (const auto& [stream, owner] : owners_) {
      if (owner.member != name) continue;
      member.in_flight += owner.in_flight;
      member.streams.push_back(stream);
    }
    std::sort(member.streams.begin(), member.streams.end());
    info.members.push_back(std::move(member));
  }
  return info;
}

int64_t GroupState::NextDueUs() const {
  int64_t next = next_due_us_;
  for (const auto& [name, m] : members_) {
    if (m.polling == 0) next = std::min(next, m.ExpiresUs(settings_.member_lease_us));
  }
  return next;
}

}  // namespace triad::internal::groups
