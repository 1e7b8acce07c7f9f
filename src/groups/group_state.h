// GroupState: the in-memory state of one consumer group, and the durable changes each operation
// makes (GroupChanges, committed by GroupFile before the operation returns).
//
// The state is a window over the log from the group's checkpoint: messages read through the
// group's filter and not yet acked or parked, each pending, in flight (held by a member until a
// deadline) or retrying (after a backoff). The window holds at most kMaxWindow messages plus acks
// above the checkpoint, so memory stays bounded however far the group lags.
//
// Per-stream order (consumer_groups.h): Take() walks the window in position order and skips every
// later message of a stream once one of its messages cannot be handed out, and a stream with
// messages in flight is owned by their holder. When a held message goes back (nack, ack timeout,
// lease expiry), the later messages of its stream that the same member holds go back with it, so
// no member ever acts on a later message while an earlier one is still to be retried.
//
// Thread-safety: none; ConsumerGroupsImpl serializes all calls under its mutex.
#pragma once

#include "triad/consumer_groups.h"
#include "triad/event_store.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace triad::internal::groups {

// Messages read ahead of the checkpoint (outstanding plus acked above it), at most.
inline constexpr size_t kMaxWindow = 10'000;

// The stored state of one message in the window that is neither acked nor parked.
struct StoredMessage {
  // Deliveries so far.
  int32_t attempts = 0;
  // The holder while in flight; empty otherwise.
  std::string member;
  // In flight: the ack deadline; retrying: the retry time; 0: pending.
  int64_t due_us = 0;
};

// The stored liveness of one member.
struct StoredMember {
  int64_t last_seen_us = 0;
  // The deadline of the poll it is waiting in (0: none); it is alive until this plus its lease.
  int64_t polling_until_us = 0;
};

// The durable effects of one operation. Empty for a read-only operation.
//
// A private store (the SQLite group file) keeps only what survives a restart: attempts, acks,
// parked messages and the checkpoint. A shared store (PostgreSQL, several nodes) also keeps who
// holds what until when, and the members, so that any node can take over the group's state.
struct GroupChanges {
  // Acked positions: removed from messages; kept as acks when above `checkpoint`.
  std::vector<Position> acked;
  // Message states to store (upserts, in order; a later entry for a position wins).
  std::vector<std::pair<Position, StoredMessage>> messages;
  // Messages newly parked (replacing a replayed row); their message rows go.
  std::vector<ParkedMessage> parked;
  // Parked messages handed back to the group (attempts reset).
  std::vector<Position> replayed;
  // Replayed messages acked: their parked rows go.
  std::vector<Position> unparked;
  // Member liveness to store (upserts, in order), and members gone.
  std::vector<std::pair<std::string, StoredMember>> members;
  std::vector<std::string> members_gone;
  // The checkpoint after the operation; stored when `checkpoint_moved`.
  Position checkpoint = 0;
  bool checkpoint_moved = false;

  // Nothing a private store keeps.
  bool empty() const {
    return acked.empty() && messages.empty() && parked.empty() && replayed.empty() &&
           unparked.empty() && !checkpoint_moved;
  }
  // Nothing at all, member liveness included.
  bool empty_for_shared() const { return empty() && members.empty() && members_gone.empty(); }
};

// What the group storage holds for one group, loaded at open (or, on shared storage, whenever
// another node changed the group).
struct StoredGroup {
  std::string name;
  GroupSettings settings;
  int64_t created_at_us = 0;
  Position checkpoint = 0;
  std::set<Position> acked;
  // Messages delivered at least once, neither acked nor parked. A private store keeps only
  // their attempts (member empty, due_us 0): after a restart they are pending again.
  std::map<Position, StoredMessage> messages;
  // Parked messages; `replaying` ones were handed back and are not yet acked.
  std::vector<std::pair<ParkedMessage, bool>> parked;
  // Members and their liveness (shared storage only).
  std::map<std::string, StoredMember> members;
};

class GroupState {
 public:
  // A new group, or one restored from the file (then call Restore before anything else).
  GroupState(std::string name, GroupSettings settings, int64_t created_at_us, Position checkpoint);

  // Loads the acks, messages, parked messages and members of `stored`; replaying messages are
  // read back from `store` into the window, the others enter it as Fill reads them.
  // Errors: those of the store.
  Status Restore(StoredGroup stored, EventStore& store);

  // Shared storage: whether Resync() can bring this copy to `stored` (the same group, and its
  // checkpoint has not gone back); otherwise build a new GroupState.
  bool CanResync(const StoredGroup& stored) const;
  // Replaces every message state, ack, parked message and member with those of `stored` (written
  // by another node), keeping the events already read into the window, so that a reload costs
  // the stored rows, not a new read of the log. Polls in progress on this node stay counted.
  // Errors: those of the store (reading replaying messages back).
  Status Resync(StoredGroup stored, EventStore& store);

  // Reads new matching events into the window, up to kMaxWindow. Errors: those of the store.
  Status Fill(EventStore& store);

  // Expires members whose lease passed (unless polling now) and messages whose ack deadline
  // passed; parks those out of attempts. Cheap when nothing is due.
  void Expire(int64_t now_us, GroupChanges& changes);

  // Records that `member` polls now, waiting at most until `until_us`; BeginPoll/EndPoll bracket
  // a poll so that a member waiting in a long poll is never expired. Another node sees only the
  // stored deadline: the member is alive until it plus the lease, even if this node dies.
  void BeginPoll(const std::string& member, int64_t now_us, int64_t until_us,
                 GroupChanges& changes);
  void EndPoll(const std::string& member, int64_t now_us, GroupChanges& changes);

  // Hands up to `max` messages to `member` (see the header comment for the order rules).
  std::vector<GroupMessage> Take(const std::string& member, size_t max, int64_t now_us,
                                 GroupChanges& changes);

  // Acks the messages `member` holds among `positions`; returns how many.
  int64_t Ack(const std::string& member, std::span<const Position> positions,
              GroupChanges& changes);

  // Gives back (or parks) the messages `member` holds among `positions`; returns how many.
  int64_t Nack(const std::string& member, std::span<const Position> positions,
               std::string_view reason, bool park, int64_t now_us, GroupChanges& changes);

  // Parked messages (not those being replayed) in position order from `from`, at most `limit`.
  std::vector<ParkedMessage> ListParked(Position from, size_t limit) const;

  // Hands parked messages back with fresh attempts; `positions` empty: all. Returns how many.
  // Errors: those of the store (reading the events back).
  Result<int64_t> Replay(std::span<const Position> positions, EventStore& store,
                         GroupChanges& changes);

  // Moves the checkpoint over the contiguous done prefix; records it in `changes` if it moved.
  void UpdateCheckpoint(GroupChanges& changes);

  // The group's public description.
  GroupInfo Info(Position head) const;

  // The earliest time at which something becomes due (a retry, an ack deadline, a lease); a
  // waiting poll wakes then. INT64_MAX when nothing is scheduled.
  int64_t NextDueUs() const;

  const std::string& name() const { return name_; }
  const GroupSettings& settings() const { return settings_; }
  Position checkpoint() const { return checkpoint_; }

  // Shared storage: the stored version this state was loaded at or last committed (0: unknown,
  // reload before use).
  int64_t stored_version() const { return stored_version_; }
  void set_stored_version(int64_t version) { stored_version_ = version; }

 private:
  enum class State : uint8_t { kPending, kInFlight, kRetrying };
  struct Message {
    RecordedEvent event;
    State state = State::kPending;
    int32_t attempts = 0;
    std::string member;  // the holder while in flight
    int64_t due_us = 0;  // in flight: the ack deadline; retrying: the retry time
    bool replayed = false;
  };
  struct Member {
    int64_t last_seen_us = 0;
    // The deadline of its longest poll in progress, as stored (other nodes' polls included).
    int64_t polling_until_us = 0;
    // Polls in progress on this node.
    int polling = 0;
    // When the lease runs out, unless it polls on this node now.
    int64_t ExpiresUs(int64_t lease_us) const {
      return std::max(last_seen_us, polling_until_us) + lease_us;
    }
  };
  struct Owner {
    std::string member;
    int64_t in_flight = 0;
  };

  // Adds `event` to the window with its stored state (restored_messages_) if it has one.
  void Insert(RecordedEvent event, bool replayed, int32_t attempts);
  // Sets `m`'s state (pending, or as stored in restored_messages_, which then forgets it).
  void ApplyStored(Position p, Message& m);
  // Records the state of message `p` in `changes`.
  static void Record(Position p, const Message& m, GroupChanges& changes);
  static void RecordMember(const std::string& name, const Member& m, GroupChanges& changes);
  // Takes `m` back from its holder: it becomes pending, retrying (retry_at_us > 0) or parked
  // (park). Then the later messages of its stream held by the same member become pending, their
  // delivery not counted as an attempt (the member could not act on them).
  void GiveBack(Position position, bool park, int64_t retry_at_us, std::string_view reason,
                int64_t now_us, GroupChanges& changes);
  void Unhold(Message& m);
  void Park(Position position, std::string_view reason, int64_t now_us, GroupChanges& changes);
  void NoteDue(int64_t due_us) {
    if (due_us < next_due_us_) next_due_us_ = due_us;
  }

  const std::string name_;
  const GroupSettings settings_;
  const int64_t created_at_us_;
  Position checkpoint_;
  // The next log position to read.
  Position read_position_;
  std::map<Position, Message> window_;
  // Acked positions above the checkpoint.
  std::set<Position> acked_;
  // The messages of the window delivered at least once (attempts > 0): the only ones besides
  // the stored rows whose state Resync() may have to change.
  std::set<Position> delivered_;
  // Stored message states not yet back in the window (Insert applies them).
  std::map<Position, StoredMessage> restored_messages_;
  // Parked messages; the flag marks those replaying (back in the window).
  std::map<Position, std::pair<ParkedMessage, bool>> parked_;
  std::map<std::string, Member> members_;
  std::unordered_map<std::string, Owner> owners_;
  // A lower bound of the earliest message deadline or retry time.
  int64_t next_due_us_ = INT64_MAX;
  int64_t stored_version_ = 0;
};

}  // namespace triad::internal::groups
