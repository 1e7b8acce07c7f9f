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

// The durable effects of one operation. Empty for a read-only operation.
struct GroupChanges {
  // Acked positions: removed from attempts; kept as acks when above `checkpoint`.
  std::vector<Position> acked;
  // Delivery counts to store (position, attempts).
  std::vector<std::pair<Position, int32_t>> attempts;
  // Messages newly parked (replacing a replayed row).
  std::vector<ParkedMessage> parked;
  // Parked messages handed back to the group (attempts reset).
  std::vector<Position> replayed;
  // Replayed messages acked: their parked rows go.
  std::vector<Position> unparked;
  // The checkpoint after the operation; stored when `checkpoint_moved`.
  Position checkpoint = 0;
  bool checkpoint_moved = false;

  bool empty() const {
    return acked.empty() && attempts.empty() && parked.empty() && replayed.empty() &&
           unparked.empty() && !checkpoint_moved;
  }
};

// What the group file holds for one group, loaded at open.
struct StoredGroup {
  std::string name;
  GroupSettings settings;
  int64_t created_at_us = 0;
  Position checkpoint = 0;
  std::set<Position> acked;
  std::map<Position, int32_t> attempts;
  // Parked messages; `replaying` ones were handed back and are not yet acked.
  std::vector<std::pair<ParkedMessage, bool>> parked;
};

class GroupState {
 public:
  // A new group, or one restored from the file (then call Restore before anything else).
  GroupState(std::string name, GroupSettings settings, int64_t created_at_us, Position checkpoint);

  // Loads the acks, attempts and parked messages of `stored`; replaying messages are read back
  // from `store` into the window. Errors: those of the store.
  Status Restore(StoredGroup stored, EventStore& store);

  // Reads new matching events into the window, up to kMaxWindow. Errors: those of the store.
  Status Fill(EventStore& store);

  // Expires members whose lease passed (unless polling now) and messages whose ack deadline
  // passed; parks those out of attempts. Cheap when nothing is due.
  void Expire(int64_t now_us, GroupChanges& changes);

  // Records that `member` polls now; BeginPoll/EndPoll bracket a poll so that a member waiting in
  // a long poll is never expired.
  void BeginPoll(const std::string& member, int64_t now_us);
  void EndPoll(const std::string& member, int64_t now_us);

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
    int polling = 0;
  };
  struct Owner {
    std::string member;
    int64_t in_flight = 0;
  };

  void Insert(RecordedEvent event, bool replayed, int32_t attempts);
  // Takes `m` back from its holder: it becomes pending, retrying (retry_at_us > 0) or parked
  // (park). Then the later messages of its stream held by the same member become pending.
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
  // Delivery counts restored from the file for messages not yet back in the window.
  std::map<Position, int32_t> restored_attempts_;
  // Parked messages; the flag marks those replaying (back in the window).
  std::map<Position, std::pair<ParkedMessage, bool>> parked_;
  std::map<std::string, Member> members_;
  std::unordered_map<std::string, Owner> owners_;
  // A lower bound of the earliest message deadline or retry time.
  int64_t next_due_us_ = INT64_MAX;
};

}  // namespace triad::internal::groups
