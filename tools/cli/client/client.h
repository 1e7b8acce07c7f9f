// Client: what the CLI's verbs need from Triad, whether the store is embedded (--data: the
// library opened in this process) or behind a server (--url: the HTTP API of docs/http-api.md).
// Verbs talk only to this interface, so their output and exit codes are the same either way;
// both implementations report errors with the same StatusCodes (kNotFound for a missing stream,
// kAborted with current_version for a wrong expected version, ...).
//
//   auto client = OpenClient(ctx);               // open_client.h
//   auto events = (*client)->ReadStream("account-1", {});
//
// Some operations exist on one side only: `stats` and `check` need the store's files (embedded
// only); triggering a projection or waiting for a rebuild needs the projection's handler, which
// runs in the server (remote only). The other side answers kFailedPrecondition saying which
// option to use instead.
//
// Thread-safety: a Client is used by one thread at a time (one verb runs per process).
#pragma once

#include "triad/backend.h"
#include "triad/consumer_groups.h"
#include "triad/document.h"
#include "triad/event.h"
#include "triad/event_store.h"
#include "triad/expected_version.h"
#include "triad/options.h"
#include "triad/projection_engine.h"
#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace triad::cli {

// One page of the global log.
struct LogPage {
  std::vector<RecordedEvent> events;
  // The head position when the page was read (at least the last event's position): once a page
  // comes back short, every matching event up to it has been seen.
  Position head_position = 0;
};

// `triad stats`: the store's description and counts.
struct StoreStats {
  std::string store;
  BackendStats stats;
};

// `triad check`: the store's description and the integrity report.
struct StoreCheck {
  std::string store;
  CheckReport report;
};

// How a follow ends besides its callback asking to stop.
struct FollowControl {
  // Monotonic-enough wall clock deadline in microseconds since the epoch (RealClock());
  // INT64_MAX: none.
  int64_t deadline_us = INT64_MAX;
  // Polled at least every 100 ms; true ends the follow cleanly.
  std::function<bool()> stop_requested;
};

// Called with each batch of events in position order; returns false to stop following.
using FollowCallback = std::function<bool(std::span<const RecordedEvent>)>;

enum class ProjectionActionKind { kPause, kResume, kReset, kSkip, kTrigger, kPromote, kDeploy };

// "pause", "resume", "reset", "skip", "trigger", "promote", "deploy".
std::string_view ProjectionActionName(ProjectionActionKind kind);

// An operator action on a projection (POST /projections/{name}/{action}, PUT for deploy).
struct ProjectionAction {
  ProjectionActionKind kind = ProjectionActionKind::kPause;
  std::string name;
  // 0: the default version (the serving one; for promote and deploy, the newest / next).
  int32_t version = 0;
  // kTrigger only: run up to this position then pause.
  std::optional<Position> up_to;
  // kDeploy only: the Lua script.
  std::string source;
  // The caller will wait for the projection to catch up afterwards; an embedded client refuses
  // this up front (nothing runs the handlers in this process).
  bool wait = false;
};

// A query and whether to count instead of listing.
struct FindRequest {
  Query query;
  // The --where arguments as typed ("field:op:value"); a remote client sends these verbatim so
  // that the server reads the values exactly as documented.
  std::vector<std::string> where_args;
  ReadOptions freshness;
};

class Client {
 public:
  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  virtual ~Client() = default;

  // Appends `events` to `stream` atomically. An embedded client creates a missing store only if
  // the append succeeds. Errors: EventStore::Append's (kAborted with current_version on a wrong
  // expected version, kInvalidArgument, kAlreadyExists).
  virtual Result<AppendResult> Append(std::string_view stream, ExpectedVersion expected,
                                      std::span<const NewEvent> events) = 0;

  // One page of a stream. Errors: kNotFound (store or stream), transport/storage errors.
  virtual Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                        const ReadStreamOptions& options) = 0;

  // One page of the global log. Errors: kNotFound (store), transport/storage errors.
  virtual Result<LogPage> ReadLog(const ReadAllOptions& options) = 0;

  // Delivers the events from `from.from_position` that match `from`'s filters (existing ones,
  // then new ones as they are committed) until `on_events` returns false, the deadline passes or
  // a stop is requested: all three end with OK. Remote: GET /subscribe (SSE).
  virtual Status Follow(const ReadAllOptions& from, const FollowControl& control,
                        const FollowCallback& on_events) = 0;

  // One page of stream summaries in name order. Errors: kNotFound (store), transport errors.
  virtual Result<std::vector<StreamInfo>> ListStreams(const ListStreamsOptions& options) = 0;

  // Embedded only. Errors: kFailedPrecondition over a server (naming GET /metrics).
  virtual Result<StoreStats> Stats() = 0;

  // Embedded only. Errors: kFailedPrecondition over a server.
  virtual Result<StoreCheck> Check() = 0;

  // Every projection version known to the read model, by name then version.
  virtual Result<std::vector<ProjectionStatus>> ListProjections() = 0;

  // One projection version (0: the serving one). Errors: kNotFound.
  virtual Result<ProjectionStatus> GetProjection(std::string_view name, int32_t version) = 0;

  // Carries out `action` and returns the status of the version acted on.
  // Errors: kNotFound (no such projection), kFailedPrecondition (promote while behind, skip while
  // not faulted, any action on a retired version; embedded:
  // trigger, deploy and waiting need --url), kInvalidArgument (a script error on deploy).
  virtual Result<ProjectionStatus> ActOnProjection(const ProjectionAction& action) = 0;

  // One document. A missing document is not an error (DocumentRead::document is empty).
  // Errors: kNotFound (no projection writes `collection`), kDeadlineExceeded (min_position not
  // reached in time).
  virtual Result<DocumentRead> GetDocument(std::string_view collection, std::string_view id,
                                           const GetOptions& options) = 0;

  // One page of a query. Errors: kNotFound (collection), kInvalidArgument (unindexed field,
  // value of the wrong type, bad cursor), kDeadlineExceeded.
  virtual Result<QueryPage> FindDocuments(std::string_view collection,
                                          const FindRequest& request) = 0;

  // The number of documents matching. Errors: as FindDocuments().
  virtual Result<CountResult> CountDocuments(std::string_view collection,
                                             const FindRequest& request) = 0;

  // Consumer groups. Errors: kNotFound (GetGroup/ListParked: no such group); embedded: as
  // ConsumerGroups.
  virtual Result<std::vector<GroupInfo>> ListGroups() = 0;
  virtual Result<GroupInfo> GetGroup(std::string_view name) = 0;
  virtual Result<std::vector<ParkedMessage>> ListParked(std::string_view group,
                                                        Position from_position, size_t limit) = 0;
};

}  // namespace triad::cli
