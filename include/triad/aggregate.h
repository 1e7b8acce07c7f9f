// Aggregates: the decide/evolve pattern on top of an EventStore, with snapshots and bounded
// retries on version conflicts.
//
// An aggregate is one consistency boundary (a bank account, an order) stored as one stream. The
// application describes the aggregate type once, with an AggregateDefinition:
//   - `evolve(state, event) -> state` folds one recorded event into the state;
//   - optionally a snapshot codec (state <-> string), its `schema_version`, and an interval.
// A command is a `decide(state) -> Result<std::vector<NewEvent>>` function: it sees the current
// state and either refuses (an error Status, returned to the caller unchanged) or returns the
// events that record what happened. AggregateRepository::Execute() loads the state, runs
// `decide`, and appends the events only if nobody wrote to the stream in between; when somebody
// did, it catches up and runs `decide` again, a bounded number of times.
//
//   struct Counter { int64_t value = 0; };
//   triad::AggregateDefinition<Counter> def;
//   def.category = "counter";
//   def.evolve = [](Counter c, const triad::RecordedEvent& e) {
//     if (e.type == "Incremented") ++c.value;
//     return c;
//   };
//   triad::AggregateRepository<Counter> counters(*store, def);
//   auto done = counters.Execute("counter-7", [](const Counter& c)
//                                    -> triad::Result<std::vector<triad::NewEvent>> {
//     if (c.value >= 10) return triad::FailedPreconditionError("counter-7 is full");
//     return std::vector<triad::NewEvent>{{.type = "Incremented"}};
//   });
//   if (done.ok()) use(done->state, done->version);
//
// docs/aggregates.md walks through a complete example (examples/bank/).
//
// Thread-safety: AggregateRepository methods may be called concurrently from any number of
// threads; the functions of the definition are then called concurrently too, and must allow it
// (pure functions do). The plain structs here are values.
#pragma once

#include "triad/event.h"
#include "triad/event_store.h"
#include "triad/expected_version.h"
#include "triad/options.h"
#include "triad/result.h"
#include "triad/status.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace triad {

// Describes one aggregate type. Fill it once and share it (it is copied into the repository).
//
// The functions must not throw (Triad passes no exception through its API) and must be safe to
// call from several threads at once. A function that can fail returns an error Status instead.
template <typename State>
struct AggregateDefinition {
  // The category of the aggregate's streams: stream names are "<category>-<id>", e.g.
  // "account-42" (see StreamName()). Non-empty: the repository refuses a stream of another
  // category with kInvalidArgument, which catches loading an order as an account. Empty: any
  // stream name is accepted.
  std::string category;

  // The state of an aggregate whose stream does not exist yet. Default: State{}.
  State initial_state{};

  // Folds one recorded event into the state and returns the new state. Required.
  // Called in version order, once per event newer than the snapshot a load starts from, and once
  // per event a command appends. It must depend only on the state and the event (not on the
  // clock or other streams), so that replaying the stream always gives the same state.
  // A lambda returning State fits; returning an error (usually kDataLoss, for an event it cannot
  // read) stops the load, and Load()/Execute() return that error annotated with the stream and
  // version. Unknown event types should be skipped, not refused, so that old code can read
  // streams written by newer code.
  std::function<Result<State>(State, const RecordedEvent&)> evolve;

  // Snapshot codec: the state as a string (usually JSON), and back. Both or neither: with
  // neither, snapshots are off whatever snapshot_every says. `deserialize` returning an error
  // marks the snapshot unreadable; the load then ignores it and replays the stream from its
  // start.
  std::function<Result<std::string>(const State&)> serialize;
  std::function<Result<State>(std::string_view)> deserialize;

  // The version of the snapshot format. Raise it whenever `serialize`'s output or `evolve`'s
  // meaning changes: snapshots saved with any other schema version are ignored (and replaced by
  // the next snapshot saved), so a deploy never loads a state the new code cannot read.
  // Default: 1.
  int32_t schema_version = 1;

  // Save a snapshot each time a command takes the stream's event count across a multiple of
  // this number. 0: snapshots off (none saved, none read, even with a codec). Default: 0.
  // A good value makes a load read at most this many events; a snapshot costs one extra write.
  int64_t snapshot_every = 0;
};

// Per-repository tuning.
struct RepositoryOptions {
  // How many times Execute() runs decide-and-append before it gives up on version conflicts and
  // returns the last conflict (kAborted). Must be >= 1. Default: 5.
  int max_attempts = 5;

  // How many events one EventStore::ReadStream() call returns while loading. Must be >= 1.
  // Default: 500.
  size_t read_page_size = 500;
};

// An aggregate as loaded: its state and the version that state includes.
template <typename State>
struct LoadedAggregate {
  State state;
  // The version of the last event folded into `state`; kNoStreamVersion (-1) when the stream
  // does not exist (then `state` is the definition's initial_state).
  StreamVersion version = kNoStreamVersion;
  // The version of the snapshot the load started from; kNoStreamVersion when it started from
  // the initial state (no snapshot, snapshots off, or the snapshot was ignored).
  StreamVersion snapshot_version = kNoStreamVersion;
  // How many events were read from the stream and folded in by `evolve`.
  int64_t events_replayed = 0;
};

// What a successful Execute() did.
template <typename State>
struct CommandResult {
  // The versions and positions written. When `decide` returned no events nothing was written:
  // then first_version == version + 1 and last_version == version (an empty range) and both
  // positions are 0.
  AppendResult append;
  // The state after the command's events, evolved from the events as stored (read back after
  // the append) so that it equals what a later Load() returns. In the rare case that the read
  // back fails (storage trouble right after the commit) it is evolved from the events as sent,
  // with the ids as sent and recorded_at_us 0; AggregateStats::read_back_failures counts that.
  State state;
  // The stream's version after the command (== append.last_version when events were written).
  StreamVersion version = kNoStreamVersion;
  // How many times `decide` ran: 1, plus one per version conflict that was retried.
  int attempts = 0;
};

// Counters of one repository since it was created, for monitoring and tests.
struct AggregateStats {
  // Execute() calls that appended (or had nothing to append).
  int64_t commands_executed = 0;
  // Execute() calls refused by `decide`.
  int64_t commands_refused = 0;
  // Version conflicts met by Execute(), both those retried and those returned.
  int64_t conflicts = 0;
  // Snapshots saved, and snapshot saves that failed. A failed save never fails its command.
  int64_t snapshots_saved = 0;
  int64_t snapshot_failures = 0;
  // Snapshots a load ignored: another schema_version, or `deserialize` refused it.
  int64_t snapshots_ignored = 0;
  // Commands whose events were appended but could not be read back at once (storage trouble
  // right after the commit); their CommandResult::state was evolved from the events as sent.
  int64_t read_back_failures = 0;
  // The error of the latest failed snapshot save (serialize, store, or a skipped snapshot after
  // a failed read back); OK if none failed.
  Status last_snapshot_error;
};

// Returns "<category>-<id>", the stream of aggregate `id`. The store checks the name's syntax
// when it is used (letters, digits and - _ . : @ + = ~).
inline std::string StreamName(std::string_view category, std::string_view id) {
  std::string name;
  name.reserve(category.size() + 1 + id.size());
  name.append(category).append("-").append(id);
  return name;
}

// Loads aggregates and executes commands against them.
//
// Keeps no state per stream: every call reads the store, so several repositories, threads and
// processes may work on the same streams; the expected-version check of each append keeps them
// consistent (promise 3 of docs/design.md).
//
// Thread-safety: safe to use from any number of threads. Not copyable or movable. `store` is
// not owned and must outlive the repository.
template <typename State>
class AggregateRepository {
 public:
  // A command: sees the current state and returns the events to append, or an error Status to
  // refuse (the error is returned by Execute() as it is; nothing is written).
  using Decision = Result<std::vector<NewEvent>>;

  // Creates a repository over `store`. A definition or options that cannot work (no evolve, half
  // a snapshot codec, a negative interval, max_attempts < 1, read_page_size == 0) make every
  // call fail with kInvalidArgument; status() says why.
  AggregateRepository(EventStore& store, AggregateDefinition<State> definition,
                      RepositoryOptions options = {})
      : store_(store),
        definition_(std::move(definition)),
        options_(options),
        config_status_(CheckConfig(definition_, options_)) {}

  AggregateRepository(const AggregateRepository&) = delete;
  AggregateRepository& operator=(const AggregateRepository&) = delete;

  // OK iff the definition and options are usable.
  const Status& status() const { return config_status_; }

  const AggregateDefinition<State>& definition() const { return definition_; }

  // Returns "<category>-<id>".
  std::string StreamName(std::string_view id) const {
    return triad::StreamName(definition_.category, id);
  }

  // Loads the aggregate of `stream`: the latest snapshot (when snapshots are on and it is
  // usable) plus every newer event, read in pages of options.read_page_size. A stream that does
  // not exist loads as the initial state at version kNoStreamVersion; that is not an error.
  // Never writes.
  // Errors: kInvalidArgument (bad stream name, another category, unusable definition), the
  // error `evolve` returned (annotated with stream and version), kDataLoss (the stream's
  // versions have a gap, or a snapshot names a stream that does not exist), and the store's
  // read errors (kUnavailable: try again).
  Result<LoadedAggregate<State>> Load(std::string_view stream) {
    if (Status s = CheckStream(stream); !s.ok()) return s;
    Result<LoadedAggregate<State>> start = StartFromSnapshot(stream);
    if (!start.ok()) return start.status();
    LoadedAggregate<State> loaded = std::move(*start);
    if (Status s = CatchUp(stream, loaded); !s.ok()) return s;
    return loaded;
  }

  // Runs command `decide` on the aggregate of `stream` and appends its events atomically with
  // ExpectedVersion::Exact(loaded version) (NoStream for a new stream).
  //
  // On a version conflict (another writer appended first) it reads the newer events, runs
  // `decide` again on the newer state and appends again, up to options.max_attempts runs in all.
  // `decide` may therefore run several times; it must not have side effects beyond returning
  // events. Leave event ids empty (the store assigns them) unless the command carries its own:
  // ids that repeat events already stored at another version are never written twice, and
  // Execute() then returns kAborted at once (the stream did not move, so retrying cannot help).
  //
  // After a successful append, saves a snapshot if the command took the stream's event count
  // across a multiple of definition.snapshot_every. A failed snapshot save does not fail the
  // command: it is counted in stats().snapshot_failures and kept in stats().last_snapshot_error.
  //
  // Returns what was appended and the new state (see CommandResult).
  // Errors:
  //   - the error `decide` returned, unchanged (the command is refused; nothing is written);
  //   - kAborted when every attempt met a conflict; current_version() holds the stream's version;
  //   - kInvalidArgument/kAlreadyExists from the store when the events are malformed or their
  //     ids are already stored with other content (nothing is written);
  //   - every error of Load(), and the store's other append errors (kUnavailable, kInternal:
  //     the outcome is unknown; see EventStore::Append).
  // REQUIRES: `decide` is callable as Decision(const State&).
  template <typename Decide>
  Result<CommandResult<State>> Execute(std::string_view stream, Decide&& decide) {
    static_assert(std::is_invocable_r_v<Decision, Decide&, const State&>,
                  "decide must be callable as Result<std::vector<NewEvent>>(const State&)");
    Result<LoadedAggregate<State>> first = Load(stream);
    if (!first.ok()) return first.status();
    LoadedAggregate<State> loaded = std::move(*first);
    for (int attempt = 1;; ++attempt) {
      Decision decision = std::invoke(decide, std::as_const(loaded.state));
      if (!decision.ok()) {
        commands_refused_.fetch_add(1, std::memory_order_relaxed);
        return decision.status();
      }
      if (decision->empty()) return NothingToAppend(std::move(loaded), attempt);

      Result<AppendResult> appended =
          store_.Append(stream, ExpectedVersion::Exact(loaded.version), *decision);
      if (appended.ok()) return Finish(stream, std::move(loaded), *appended, *decision, attempt);

      const Status& failure = appended.status();
      if (failure.code() != StatusCode::kAborted) return failure;
      conflicts_.fetch_add(1, std::memory_order_relaxed);
      // A conflict that reports the version we loaded is no race: the stream did not move
      // (e.g. the event ids repeat an earlier append that expected another version), so
      // reloading would only meet it again.
      const StreamVersion current = failure.current_version().value_or(kNoStreamVersion);
      if (attempt >= options_.max_attempts || current == loaded.version) {
        return failure.Annotate("gave up after " + std::to_string(attempt) + " attempt(s)");
      }
      // Events are immutable, so the state we hold stays valid: only the newer events are read.
      if (Status s = CatchUp(stream, loaded); !s.ok()) return s;
    }
  }

  // A copy of the counters.
  AggregateStats stats() const {
    AggregateStats out;
    out.commands_executed = commands_executed_.load(std::memory_order_relaxed);
    out.commands_refused = commands_refused_.load(std::memory_order_relaxed);
    out.conflicts = conflicts_.load(std::memory_order_relaxed);
    out.snapshots_saved = snapshots_saved_.load(std::memory_order_relaxed);
    out.snapshot_failures = snapshot_failures_.load(std::memory_order_relaxed);
    out.snapshots_ignored = snapshots_ignored_.load(std::memory_order_relaxed);
    out.read_back_failures = read_back_failures_.load(std::memory_order_relaxed);
    std::lock_guard lock(error_mu_);
    out.last_snapshot_error = last_snapshot_error_;
    return out;
  }

 private:
  static Status CheckConfig(const AggregateDefinition<State>& d, const RepositoryOptions& o) {
    if (!d.evolve) return InvalidArgumentError("aggregate definition: evolve is required");
    if (static_cast<bool>(d.serialize) != static_cast<bool>(d.deserialize)) {
      return InvalidArgumentError(
          "aggregate definition: serialize and deserialize go together (both or neither)");
    }
    if (d.snapshot_every < 0) {
      return InvalidArgumentError("aggregate definition: snapshot_every must be >= 0");
    }
    if (o.max_attempts < 1) {
      return InvalidArgumentError("repository options: max_attempts must be >= 1");
    }
    if (o.read_page_size == 0) {
      return InvalidArgumentError("repository options: read_page_size must be >= 1");
    }
    return Status::OK();
  }

  Status CheckStream(std::string_view stream) const {
    if (!config_status_.ok()) return config_status_;
    if (!definition_.category.empty() && CategoryOf(stream) != definition_.category) {
      return InvalidArgumentError("stream '" + std::string(stream) + "' is not in category '" +
                                  definition_.category + "'");
    }
    return Status::OK();
  }

  bool SnapshotsOn() const {
    return definition_.snapshot_every > 0 && static_cast<bool>(definition_.deserialize);
  }

  // The initial state, or the stream's snapshot when there is a usable one.
  Result<LoadedAggregate<State>> StartFromSnapshot(std::string_view stream) {
    LoadedAggregate<State> loaded{.state = definition_.initial_state};
    if (!SnapshotsOn()) return loaded;
    Result<std::optional<Snapshot>> snapshot = store_.LoadSnapshot(stream);
    if (!snapshot.ok()) return snapshot.status();
    if (!snapshot->has_value()) return loaded;
    const Snapshot& found = **snapshot;
    if (found.schema_version != definition_.schema_version || found.version < 0) {
      snapshots_ignored_.fetch_add(1, std::memory_order_relaxed);
      return loaded;
    }
    Result<State> state = definition_.deserialize(found.state);
    if (!state.ok()) {
      snapshots_ignored_.fetch_add(1, std::memory_order_relaxed);
      return loaded;
    }
    loaded.state = std::move(*state);
    loaded.version = found.version;
    loaded.snapshot_version = found.version;
    return loaded;
  }

  // Folds `event` into `loaded`. The version check turns a gap into an error instead of a
  // silently wrong state.
  Status Apply(LoadedAggregate<State>& loaded, const RecordedEvent& event) {
    if (event.version != loaded.version + 1) {
      return DataLossError("stream '" + event.stream + "': expected version " +
                           std::to_string(loaded.version + 1) + ", read version " +
                           std::to_string(event.version));
    }
    Result<State> next = definition_.evolve(std::move(loaded.state), event);
    if (!next.ok()) {
      return next.status().Annotate("evolving stream '" + event.stream + "' at version " +
                                    std::to_string(event.version) + " (" + event.type + ")");
    }
    loaded.state = std::move(*next);
    loaded.version = event.version;
    ++loaded.events_replayed;
    return Status::OK();
  }

  // Reads every event after loaded.version, page by page, and folds it in.
  Status CatchUp(std::string_view stream, LoadedAggregate<State>& loaded) {
    ReadStreamOptions read;
    read.limit = options_.read_page_size;
    while (true) {
      read.from_version = loaded.version + 1;
      Result<std::vector<RecordedEvent>> page = store_.ReadStream(stream, read);
      if (!page.ok()) {
        if (page.status().code() != StatusCode::kNotFound) return page.status();
        if (loaded.version == kNoStreamVersion) return Status::OK();  // a new aggregate
        return DataLossError("stream '" + std::string(stream) + "' does not exist but has a " +
                             "snapshot at version " + std::to_string(loaded.version));
      }
      for (const RecordedEvent& event : *page) {
        if (Status s = Apply(loaded, event); !s.ok()) return s;
      }
      if (page->size() < read.limit) return Status::OK();
    }
  }

  CommandResult<State> NothingToAppend(LoadedAggregate<State> loaded, int attempt) {
    commands_executed_.fetch_add(1, std::memory_order_relaxed);
    CommandResult<State> result;
    result.append.first_version = loaded.version + 1;
    result.append.last_version = loaded.version;
    result.state = std::move(loaded.state);
    result.version = loaded.version;
    result.attempts = attempt;
    return result;
  }

  // Evolves the state over the events just appended and saves a snapshot when one is due.
  CommandResult<State> Finish(std::string_view stream, LoadedAggregate<State> loaded,
                              const AppendResult& appended, const std::vector<NewEvent>& events,
                              int attempt) {
    commands_executed_.fetch_add(1, std::memory_order_relaxed);
    const StreamVersion before = loaded.version;
    const Status read_back = ReadBack(stream, loaded, appended);
    if (!read_back.ok()) {
      // The append succeeded, so the command must not report failure: fold the events as sent.
      read_back_failures_.fetch_add(1, std::memory_order_relaxed);
      FoldAsSent(stream, loaded, appended, events);
    }
    if (SnapshotDue(before, appended.last_version)) {
      // A state built from the events as sent may lack store-assigned fields; never persist it.
      if (read_back.ok()) {
        SaveSnapshot(stream, loaded.state, appended.last_version);
      } else {
        RecordSnapshotFailure(read_back.Annotate("snapshot skipped"));
      }
    }
    CommandResult<State> result;
    result.append = appended;
    result.state = std::move(loaded.state);
    result.version = appended.last_version;
    result.attempts = attempt;
    return result;
  }

  // Folds the stored events first_version..last_version into `loaded`. Read back rather than
  // rebuilt locally because ids and recorded_at are assigned by the store and evolve may use
  // them; it is one indexed read of events just written.
  Status ReadBack(std::string_view stream, LoadedAggregate<State>& loaded,
                  const AppendResult& appended) {
    ReadStreamOptions read;
    read.from_version = appended.first_version;
    read.limit = static_cast<size_t>(appended.last_version - appended.first_version + 1);
    Result<std::vector<RecordedEvent>> stored = store_.ReadStream(stream, read);
    if (!stored.ok()) return stored.status().Annotate("reading back the appended events");
    for (const RecordedEvent& event : *stored) {
      if (Status s = Apply(loaded, event); !s.ok()) return s;
    }
    if (loaded.version != appended.last_version) {
      return DataLossError("read back only up to version " + std::to_string(loaded.version) +
                           " of '" + std::string(stream) + "' after appending up to " +
                           std::to_string(appended.last_version));
    }
    return Status::OK();
  }

  // The fallback of ReadBack(): folds the events not yet folded, as they were sent (id as sent,
  // recorded_at_us 0). Stops at the first event evolve refuses.
  void FoldAsSent(std::string_view stream, LoadedAggregate<State>& loaded,
                  const AppendResult& appended, const std::vector<NewEvent>& events) {
    for (size_t i = 0; i < events.size(); ++i) {
      const StreamVersion version = appended.first_version + static_cast<StreamVersion>(i);
      if (version <= loaded.version) continue;  // folded in by a partial read back
      RecordedEvent sent;
      sent.id = events[i].id;
      sent.stream = std::string(stream);
      sent.version = version;
      sent.position = appended.first_position + static_cast<Position>(i);
      sent.type = events[i].type;
      sent.data = events[i].data;
      sent.metadata = events[i].metadata;
      if (!Apply(loaded, sent).ok()) return;
    }
  }

  // True iff the event count went from before+1 to after+1 across a multiple of snapshot_every.
  bool SnapshotDue(StreamVersion before, StreamVersion after) const {
    if (!SnapshotsOn()) return false;
    const int64_t every = definition_.snapshot_every;
    return (after + 1) / every > (before + 1) / every;
  }

  void SaveSnapshot(std::string_view stream, const State& state, StreamVersion version) {
    Result<std::string> text = definition_.serialize(state);
    Status saved = text.status();
    if (saved.ok()) {
      Snapshot snapshot;
      snapshot.stream = std::string(stream);
      snapshot.schema_version = definition_.schema_version;
      snapshot.version = version;
      snapshot.state = std::move(*text);
      saved = store_.SaveSnapshot(snapshot);
    }
    if (saved.ok()) {
      snapshots_saved_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    RecordSnapshotFailure(saved.Annotate("snapshot of '" + std::string(stream) + "' at version " +
                                         std::to_string(version)));
  }

  void RecordSnapshotFailure(Status status) {
    snapshot_failures_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(error_mu_);
    last_snapshot_error_ = std::move(status);
  }

  EventStore& store_;
  const AggregateDefinition<State> definition_;
  const RepositoryOptions options_;
  const Status config_status_;

  std::atomic<int64_t> commands_executed_{0};
  std::atomic<int64_t> commands_refused_{0};
  std::atomic<int64_t> conflicts_{0};
  std::atomic<int64_t> snapshots_saved_{0};
  std::atomic<int64_t> snapshot_failures_{0};
  std::atomic<int64_t> snapshots_ignored_{0};
  std::atomic<int64_t> read_back_failures_{0};
  mutable std::mutex error_mu_;
  Status last_snapshot_error_;  // guarded by error_mu_
};

}  // namespace triad
