// Options for opening an EventStore, and the per-call options of its reads.
//
// Thread-safety: plain values. The pointers inside Options are non-owning and must outlive the
// store that was opened with them.
#pragma once

#include "triad/event.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace triad {

class Backend;
class Clock;

// How an acknowledged append is protected.
enum class Durability {
  // Each commit is synced to stable storage before it is acknowledged (SQLite WAL with
  // synchronous=FULL). Acknowledged appends survive kill -9 and power loss.
  kFull,
  // Commits are written to the OS but synced only at WAL checkpoints (SQLite synchronous=NORMAL).
  // Survives kill -9 of the process; the last commits may be lost on power loss. Faster.
  kRelaxed,
};

struct Options {
  // ---- Behaviour ----

  // Default: Durability::kFull.
  Durability durability = Durability::kFull;

  // Create the store if it does not exist. When false, opening a missing store fails with
  // kNotFound. Default: true.
  bool create_if_missing = true;

  // Open the store read-only: appends and snapshot saves fail with kFailedPrecondition.
  // Default: false.
  bool read_only = false;

  // The clock used for recorded_at, UUIDv7 ids and waits. nullptr: RealClock(). Non-owning.
  // Default: nullptr.
  Clock* clock = nullptr;

  // Storage to use instead of the one the URI names. Non-owning; must outlive the store; the URI
  // is then ignored. Used by tests to inject faults. Default: nullptr.
  Backend* backend = nullptr;

  // ---- Limits (bad input beyond them is refused with kInvalidArgument) ----

  // Bytes of one event: type + data + metadata. Default: 1 MiB.
  size_t max_event_bytes = 1 << 20;
  // Events in one append. Default: 10,000.
  size_t max_events_per_append = 10000;
  // Bytes of all events of one append. Default: 16 MiB.
  size_t max_append_bytes = 16 << 20;
  // Bytes of a stream name. Default: 200.
  size_t max_stream_name_bytes = 200;
  // Bytes of an event type. Default: 100.
  size_t max_event_type_bytes = 100;

  // ---- Performance ----

  // Group commit: at most this many events from concurrent appends share one transaction.
  // Default: 20,000.
  size_t group_commit_max_events = 20000;
  // Group commit: at most this many bytes of events share one transaction. Default: 32 MiB.
  size_t group_commit_max_bytes = 32 << 20;
  // How often waiters for new positions (WaitForPosition) also look at storage for commits made by
  // other processes. Commits made through this store wake waiters at once. Default: 200 ms.
  int64_t external_poll_interval_us = 200'000;
};

// Direction of a stream read.
enum class ReadDirection { kForward, kBackward };

struct ReadStreamOptions {
  // First version to return. Empty: the first event (forward) or the last (backward).
  std::optional<StreamVersion> from_version;
  // Default: kForward.
  ReadDirection direction = ReadDirection::kForward;
  // At most this many events. Default: 1,000.
  size_t limit = 1000;
};

struct ReadAllOptions {
  // Return events at positions >= from_position (0 and 1 both mean the start). Default: 1.
  Position from_position = 1;
  // At most this many events. Default: 1,000.
  size_t limit = 1000;
  // Keep only events of these types. Empty: every type.
  std::vector<std::string> types;
  // Keep only events of streams in these categories. Empty: every category. Combined with
  // `types` by AND.
  std::vector<std::string> categories;
};

struct ListStreamsOptions {
  // Only streams whose name starts with `prefix`. Default: all.
  std::string prefix;
  // Only streams of this category. Default: all.
  std::string category;
  // Paging cursor: only streams whose name sorts after `after`. Default: from the first.
  std::string after;
  // At most this many streams. Default: 1,000.
  size_t limit = 1000;
};

}  // namespace triad
