#include "cli/client/embedded_client.h"

#include "triad/clock.h"
#include "triad/read_model_backend.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

namespace triad::cli {
namespace {

// How long one wait for new events may block before the stop flag is looked at again: the
// worst-case delay between SIGINT and a clean exit.
constexpr int64_t kStopCheckMicros = 100'000;
// How often a follower looks for commits made by other processes (Options::
// external_poll_interval_us): the worst-case latency of `--follow` for appends by other
// processes. Cheap (one indexed max() query).
constexpr int64_t kFollowPollMicros = 100'000;
// Events per page while following.
constexpr size_t kFollowPageSize = 1000;

Status NeedsServer(std::string_view what) {
  return FailedPreconditionError(
      std::string(what) +
      " needs the projection's handler, which runs in the server, not in this process: use "
      "--url URL (or $TRIAD_URL) against the server that runs it");
}

// The engine's own answers for what a store without a read model does not have.
Status NoSuchProjection(std::string_view name) {
  return NotFoundError("no projection '" + std::string(name) + "'");
}
Status NoCollection(std::string_view collection) {
  return NotFoundError("no projection writes collection '" + std::string(collection) + "'");
}

// Waits until the log reaches `position`. Returns false when the deadline passes or a stop is
// requested first.
Result<bool> WaitForCommit(EventStore& store, const FollowControl& control, Position position) {
  Clock& clock = *RealClock();
  while (!control.stop_requested || !control.stop_requested()) {
    const int64_t now = clock.NowMicros();
    if (now >= control.deadline_us) return false;
    auto head =
        store.WaitForPosition(position, std::min(kStopCheckMicros, control.deadline_us - now));
    if (head.ok()) return true;
    if (head.status().code() != StatusCode::kDeadlineExceeded) return head.status();
  }
  return false;
}

}  // namespace

EmbeddedClient::EmbeddedClient(std::string store_uri, std::string env_var)
    : store_uri_(std::move(store_uri)), env_var_(std::move(env_var)) {}

EmbeddedClient::~EmbeddedClient() = default;

Result<EventStore*> EmbeddedClient::Store(bool create_if_missing) {
  if (store_ != nullptr) return store_.get();
  Options options;
  options.create_if_missing = create_if_missing;
  options.external_poll_interval_us = kFollowPollMicros;
  auto store = EventStore::Open(options, store_uri_);
  if (!store.ok()) {
    if (store.status().code() == StatusCode::kNotFound) {
      return Status(StatusCode::kNotFound, store.status().message() +
                                               " (`triad append` creates it; --data PATH or $" +
                                               env_var_ + " names another)");
    }
    return store.status();
  }
  store_ = std::move(*store);
  return store_.get();
}

Result<ProjectionEngine*> EmbeddedClient::Engine() {
  if (engine_ != nullptr) return engine_.get();
  auto store = Store();
  if (!store.ok()) return store.status();
  // ProjectionEngine::Open creates the read model beside the store; a store without one simply
  // has no projections.
  const std::string read_model = DefaultReadModelUri((*store)->Describe());
  if (read_model.starts_with("sqlite:")) {
    std::error_code error;
    if (!std::filesystem::exists(read_model.substr(7), error)) {
      return static_cast<ProjectionEngine*>(nullptr);
    }
  }
  EngineOptions options;
  options.read_model_uri = DefaultReadModelUri(store_uri_);  // Describe() masks a password
  auto engine = ProjectionEngine::Open(*store, options);
  if (!engine.ok()) return engine.status().Annotate("opening the read model");
  engine_ = std::move(*engine);
  return engine_.get();
}

Result<AppendResult> EmbeddedClient::Append(std::string_view stream, ExpectedVersion expected,
                                            std::span<const NewEvent> events) {
  auto store = Store();
  if (!store.ok() && store.status().code() == StatusCode::kNotFound) {
    // A refused append must not leave a new empty store behind: try it first on a throwaway
    // in-memory store, which applies the same rules (a new store has no streams, so the
    // expected-version check comes out the same), and create the store only if it succeeds.
    auto scratch = EventStore::Open(Options{}, "memory:");
    if (!scratch.ok()) return scratch.status();
    if (auto trial = (*scratch)->Append(stream, expected, events); !trial.ok()) {
      return trial.status();
    }
    store = Store(/*create_if_missing=*/true);
  }
  if (!store.ok()) return store.status();
  return (*store)->Append(stream, expected, events);
}

Result<std::vector<RecordedEvent>> EmbeddedClient::ReadStream(std::string_view stream,
                                                              const ReadStreamOptions& options) {
  auto store = Store();
  if (!store.ok()) return store.status();
  return (*store)->ReadStream(stream, options);
}

Result<LogPage> EmbeddedClient::ReadLog(const ReadAllOptions& options) {
  auto store = Store();
  if (!store.ok()) return store.status();
  // The head before the read, so that a short page proves every matching event up to it was
  // seen (positions are dense and commit-ordered).
  auto head = (*store)->HeadPosition();
  if (!head.ok()) return head.status();
  auto events = (*store)->ReadAll(options);
  if (!events.ok()) return events.status();
  LogPage page{.events = std::move(*events), .head_position = *head};
  if (!page.events.empty()) {
    page.head_position = std::max(page.head_position, page.events.back().position);
  }
  return page;
}

Status EmbeddedClient::Follow(const ReadAllOptions& from, const FollowControl& control,
                              const FollowCallback& on_events) {
  ReadAllOptions read = from;
  read.from_position = std::max<Position>(1, read.from_position);
  read.limit = kFollowPageSize;
  while (!control.stop_requested || !control.stop_requested()) {
    auto page = ReadLog(read);
    if (!page.ok()) return page.status();
    if (!page->events.empty()) {
      read.from_position = page->events.back().position + 1;
      if (!on_events(page->events)) return Status::OK();
    }
    if (page->events.size() == read.limit) continue;
    // Waiting for read.from_position instead of the head would spin while filtered-out events
    // sit between the two.
    auto arrived = WaitForCommit(**Store(), control,
                                 std::max(page->head_position, read.from_position - 1) + 1);
    if (!arrived.ok()) return arrived.status();
    if (!*arrived) break;
  }
  return Status::OK();
}

Result<std::vector<StreamInfo>> EmbeddedClient::ListStreams(const ListStreamsOptions& options) {
  auto store = Store();
  if (!store.ok()) return store.status();
  return (*store)->ListStreams(options);
}

Result<StoreStats> EmbeddedClient::Stats() {
  auto store = Store();
  if (!store.ok()) return store.status();
  auto stats = (*store)->Stats();
  if (!stats.ok()) return stats.status();
  return StoreStats{.store = (*store)->Describe(), .stats = *stats};
}

Result<StoreCheck> EmbeddedClient::Check() {
  auto store = Store();
  if (!store.ok()) return store.status();
  auto report = (*store)->Check();
  if (!report.ok()) return report.status();
  return StoreCheck{.store = (*store)->Describe(), .report = std::move(*report)};
}

Result<std::vector<ProjectionStatus>> EmbeddedClient::ListProjections() {
  auto engine = Engine();
  if (!engine.ok()) return engine.status();
  if (*engine == nullptr) return std::vector<ProjectionStatus>();
  return (*engine)->ListStatus();
}

Result<ProjectionStatus> EmbeddedClient::GetProjection(std::string_view name, int32_t version) {
  auto engine = Engine();
  if (!engine.ok()) return engine.status();
  if (*engine == nullptr) return NoSuchProjection(name);
  return (*engine)->GetStatus(name, version);
}

Result<ProjectionStatus> EmbeddedClient::ActOnProjection(const ProjectionAction& action) {
  const std::string verb = "projection " + std::string(ProjectionActionName(action.kind));
  switch (action.kind) {
    case ProjectionActionKind::kTrigger:
      return NeedsServer(verb);
    case ProjectionActionKind::kDeploy:
      return FailedPreconditionError(
          "projection deploy needs --url URL (or $TRIAD_URL): scripted projections are deployed "
          "to and run by the server");
    default:
      break;
  }
  if (action.wait) return NeedsServer(verb + " --wait");
  auto engine = Engine();
  if (!engine.ok()) return engine.status();
  if (*engine == nullptr) return NoSuchProjection(action.name);
  Status done;
  switch (action.kind) {
    case ProjectionActionKind::kPause:
      done = (*engine)->Pause(action.name, action.version);
      break;
    case ProjectionActionKind::kResume:
      done = (*engine)->Resume(action.name, action.version);
      break;
    case ProjectionActionKind::kReset:
      done = (*engine)->Reset(action.name, action.version);
      break;
    case ProjectionActionKind::kSkip:
      done = (*engine)->Skip(action.name, action.version);
      break;
    case ProjectionActionKind::kPromote:
      done = (*engine)->Promote(action.name);
      break;
    case ProjectionActionKind::kTrigger:
    case ProjectionActionKind::kDeploy:
      break;
  }
  if (!done.ok()) return done;
  return (*engine)->GetStatus(action.name, action.version);
}

Result<DocumentRead> EmbeddedClient::GetDocument(std::string_view collection, std::string_view id,
                                                 const GetOptions& options) {
  auto engine = Engine();
  if (!engine.ok()) return engine.status();
  if (*engine == nullptr) return NoCollection(collection);
  return (*engine)->Get(collection, id, options);
}

Result<QueryPage> EmbeddedClient::FindDocuments(std::string_view collection,
                                                const FindRequest& request) {
  auto engine = Engine();
  if (!engine.ok()) return engine.status();
  if (*engine == nullptr) return NoCollection(collection);
  return (*engine)->Find(collection, request.query, request.freshness);
}

Result<CountResult> EmbeddedClient::CountDocuments(std::string_view collection,
                                                   const FindRequest& request) {
  auto engine = Engine();
  if (!engine.ok()) return engine.status();
  if (*engine == nullptr) return NoCollection(collection);
  return (*engine)->Count(collection, request.query, request.freshness);
}

Result<ConsumerGroups*> EmbeddedClient::Groups() {
  if (groups_ != nullptr) return groups_.get();
  auto store = Store();
  if (!store.ok()) return store.status();
  ConsumerGroupsOptions options;
  // From the URI as given: the store's Describe() masks a password.
  options.uri = DefaultConsumerGroupsUri(store_uri_);
  // A reading verb creates nothing: a store without group state simply has no groups.
  options.create_if_missing = false;
  auto groups = ConsumerGroups::Open(*store, options);
  if (!groups.ok() && groups.status().code() == StatusCode::kNotFound) {
    return static_cast<ConsumerGroups*>(nullptr);
  }
  if (!groups.ok()) return groups.status().Annotate("opening the consumer groups");
  groups_ = std::move(*groups);
  return groups_.get();
}

namespace {
Status NoSuchGroup(std::string_view name) {
  return NotFoundError("no consumer group '" + std::string(name) + "'");
}
}  // namespace

Result<std::vector<GroupInfo>> EmbeddedClient::ListGroups() {
  auto groups = Groups();
  if (!groups.ok()) return groups.status();
  if (*groups == nullptr) return std::vector<GroupInfo>();
  return (*groups)->List();
}

Result<GroupInfo> EmbeddedClient::GetGroup(std::string_view name) {
  auto groups = Groups();
  if (!groups.ok()) return groups.status();
  if (*groups == nullptr) return NoSuchGroup(name);
  return (*groups)->Get(name);
}

Result<std::vector<ParkedMessage>> EmbeddedClient::ListParked(std::string_view group,
                                                              Position from_position,
                                                              size_t limit) {
  auto groups = Groups();
  if (!groups.ok()) return groups.status();
  if (*groups == nullptr) return NoSuchGroup(group);
  return (*groups)->ListParked(group, from_position, limit);
}

}  // namespace triad::cli
