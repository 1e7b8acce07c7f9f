// ConsumerGroups: durable, server-side subscriptions shared by competing members.
//
//   auto groups = triad::ConsumerGroups::Open(store.get(), triad::ConsumerGroupsOptions{});
//   (*groups)->Create("billing", {.categories = {"account"}});
//   auto batch = (*groups)->Poll("billing", "worker-1", {.max_messages = 10, .wait_us =
//   5'000'000}); for (const auto& m : *batch) { handle(m.event); }
//   (*groups)->Ack("billing", "worker-1", positions_of(*batch));
//
// A group reads the log from its start position through its filter (types AND categories).
// Messages are delivered at least once; a message is identified by its event's position.
//   - Per-stream order: a stream is owned by one member at a time. A message is handed out only
//     when no earlier message of its stream is in flight, waiting for a retry, or unacknowledged;
//     while a member holds messages of a stream, later messages of that stream go to it too.
//   - Ack removes a message for good. Nack asks for a retry after a backoff (doubling from
//     retry_backoff_us up to max_retry_backoff_us); after max_attempts deliveries the message is
//     parked. A parked message no longer blocks its stream; it can be listed and replayed.
//   - A member that has not polled for member_lease_us is gone: its in-flight messages go back
//     to the group (their attempt counts kept) and its streams to the next member that polls.
//     A message not acked within ack_timeout_us is treated the same way. A message that goes back
//     after max_attempts deliveries is parked instead.
//   - When a held message goes back (nack, timeout, lease), the later messages of its stream that
//     the same member holds go back with it (acking them afterwards is ignored), so no member acts
//     on a stream's later message while an earlier one waits for its retry.
//   - The group's checkpoint (every message at or below it is acked or parked), the acks above
//     it, attempt counts and parked messages are stored durably (an acknowledged Ack survives a
//     crash). In an SQLite file in-flight leases are not: after a restart those messages are
//     delivered again; acks that arrive together share one commit. In PostgreSQL
//     (postgres://…) everything is stored, leases and members included, so several processes
//     (server nodes) serve the same groups: each operation runs under the group's row lock and
//     commits before it returns. Guide and formats: docs/consumer-groups.md.
//
// Storage failures surface as kUnavailable, kResourceExhausted or kInternal from any call; the
// group is then reloaded from its file, so its in-flight messages are delivered again.
//
// Thread-safety: every method is safe to call concurrently from any thread.
#pragma once

#include "triad/clock.h"
#include "triad/event.h"
#include "triad/event_store.h"
#include "triad/result.h"
#include "triad/status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace triad {

// The longest duration a group setting or a poll's wait may have: 24 hours. Larger values are
// refused (kInvalidArgument naming the setting and this bound) rather than overflowing the
// deadline arithmetic.
inline constexpr int64_t kMaxGroupDurationUs = int64_t{24} * 3600 * 1'000'000;
// The most deliveries GroupSettings::max_attempts may allow.
inline constexpr int32_t kMaxGroupAttempts = 1000;

// The settings of one group, fixed at creation. Create() refuses values out of the bounds given
// here with kInvalidArgument naming the setting and the bound.
struct GroupSettings {
  // Event types it receives; empty: every type.
  std::vector<std::string> event_types;
  // Stream categories it receives; empty: every category. Combined with event_types by AND.
  std::vector<std::string> categories;
  // The first position it considers (0 and 1: the start of the log).
  Position start_position = 1;
  // Deliveries before a message is parked. 1..kMaxGroupAttempts. Default: 5.
  int32_t max_attempts = 5;
  // A delivered message not acked or nacked within this time is redelivered.
  // 1 us..kMaxGroupDurationUs. Default: 30 s.
  int64_t ack_timeout_us = 30'000'000;
  // A member that has not polled for this long is gone. 1 us..kMaxGroupDurationUs. Default: 10 s.
  int64_t member_lease_us = 10'000'000;
  // The first retry waits this long, each next one twice as long, up to the maximum. Both
  // 0..kMaxGroupDurationUs, the maximum >= the first.
  int64_t retry_backoff_us = 1'000'000;
  int64_t max_retry_backoff_us = 60'000'000;
};

// One delivery.
struct GroupMessage {
  RecordedEvent event;
  // 1 for the first delivery.
  int32_t attempt = 1;
};

struct PollOptions {
  // At most this many messages. 1..1000.
  size_t max_messages = 10;
  // Wait up to this long for at least one message (0: return at once, maybe empty).
  // 0..kMaxGroupDurationUs.
  int64_t wait_us = 0;
};

struct ParkedMessage {
  Position position = 0;
  std::string stream;
  std::string type;
  int32_t attempts = 0;
  std::string last_error;
  int64_t parked_at_us = 0;
};

struct GroupMemberInfo {
  std::string name;
  int64_t last_seen_us = 0;
  int64_t in_flight = 0;
  // Streams it owns now.
  std::vector<std::string> streams;
};

struct GroupInfo {
  std::string name;
  GroupSettings settings;
  // Every message at or below it is acked or parked.
  Position checkpoint = 0;
  Position head_position = 0;
  // Delivered and not yet acked, nacked or timed out.
  int64_t in_flight = 0;
  // Waiting for their retry backoff.
  int64_t retrying = 0;
  int64_t parked = 0;
  std::vector<GroupMemberInfo> members;
  int64_t created_at_us = 0;
};

struct ConsumerGroupsOptions {
  // Where group state is kept: "sqlite:PATH", "memory:", or "postgres://…" (shared by every
  // process opening it: use the store's own URI). Empty: beside an SQLite or memory store
  // ("sqlite:STORE_PATH.groups"; "memory:" for a memory store); a PostgreSQL store needs it set.
  std::string uri;
  // nullptr: RealClock(). Tests pass a SimulatedClock.
  Clock* clock = nullptr;
  // false: create nothing (no file, no tables); Open fails with kNotFound where there is no
  // group state yet. For readers such as the CLI's `groups` verb.
  bool create_if_missing = true;
};

// The consumer-group URI that goes with an event store URI: "sqlite:PATH" or a path →
// "sqlite:PATH.groups"; "memory:" → "memory:"; a postgres:// URI → itself (the groups share the
// store's schema). Pass the store's URI as opened, not EventStore::Describe(), which masks
// passwords.
std::string DefaultConsumerGroupsUri(std::string_view event_store_uri);

class ConsumerGroups {
 public:
  // Opens the group state over `store` (non-owning; must outlive this object), loading the
  // groups already created. Errors: kInvalidArgument (bad uri), kUnavailable, kDataLoss (the file
  // is not a Triad group file, or its schema is newer than this binary), kNotFound (no group
  // state yet and !options.create_if_missing).
  static Result<std::unique_ptr<ConsumerGroups>> Open(EventStore* store,
                                                      const ConsumerGroupsOptions& options);

  ConsumerGroups() = default;
  ConsumerGroups(const ConsumerGroups&) = delete;
  ConsumerGroups& operator=(const ConsumerGroups&) = delete;
  virtual ~ConsumerGroups() = default;

  // Creates group `name` (1-64 characters of [a-z0-9_-], starting with a letter). Creating it
  // again with equal settings is a no-op returning false; true when it was created.
  // Errors: kInvalidArgument (name or settings), kAlreadyExists (exists with other settings).
  virtual Result<bool> Create(std::string_view name, const GroupSettings& settings) = 0;

  // The group's settings, checkpoint, counts and members. Like every call, it first applies due
  // lease and ack-timeout expiries and reads new events, so the checkpoint also passes events the
  // filter skips. Errors: kNotFound.
  virtual Result<GroupInfo> Get(std::string_view name) = 0;
  // Every group, in name order.
  virtual Result<std::vector<GroupInfo>> List() = 0;

  // Deletes the group and its state. Errors: kNotFound.
  virtual Status Delete(std::string_view name) = 0;

  // Takes up to options.max_messages messages for `member` (1-128 printable ASCII characters),
  // in position order within each stream. Polling also renews the member's lease, and a member
  // waiting in a poll is never considered gone. With options.wait_us > 0 it waits (on the
  // injected Clock) until a message can be handed out: woken by appends through the store, acks,
  // nacks (on shared storage, any node's) and due retries or timeouts, and by looking every
  // 250 ms for other processes' commits. The delivery counts are durable before it returns.
  // Errors: kNotFound (group, also when deleted during the wait), kInvalidArgument (member name,
  // max_messages, wait_us out of 0..kMaxGroupDurationUs).
  virtual Result<std::vector<GroupMessage>> Poll(std::string_view group, std::string_view member,
                                                 const PollOptions& options) = 0;

  // Acknowledges messages `member` holds. Returns how many were acked; positions it does not
  // hold (already acked, timed out and handed to another member) are ignored and not counted.
  // Durable when it returns. Errors: kNotFound (group).
  virtual Result<int64_t> Ack(std::string_view group, std::string_view member,
                              std::span<const Position> positions) = 0;

  // Gives messages back for a retry after the backoff, or parks them at once when `park` is true
  // or the attempts are used up. `reason` is kept as the parked message's last_error.
  // Returns how many were nacked; positions it does not hold are ignored. Durable when it returns.
  // Errors: kNotFound (group).
  virtual Result<int64_t> Nack(std::string_view group, std::string_view member,
                               std::span<const Position> positions, std::string_view reason,
                               bool park) = 0;

  // Parked messages in position order, from `from_position`, at most `limit` (those being
  // replayed are not listed). Errors: kNotFound (group).
  virtual Result<std::vector<ParkedMessage>> ListParked(std::string_view group,
                                                        Position from_position, size_t limit) = 0;

  // Moves parked messages back to the group with a fresh attempt count; `positions` empty: all.
  // Positions that are not parked are ignored. A replayed message keeps its parked row (marked
  // replaying) until it is acked, so it survives a restart. Returns how many were replayed.
  // Durable when it returns. Errors: kNotFound (group), kDataLoss (its event is gone).
  virtual Result<int64_t> ReplayParked(std::string_view group,
                                       std::span<const Position> positions) = 0;

  // The state location, e.g. "sqlite:/data/triad.db.groups".
  virtual std::string Describe() const = 0;
};

}  // namespace triad
