// Fresh reads: one document brought up to date from the events newer than its `_meta.sources`,
// on a private copy, without writing (the engine still applies those events exactly once).
#include "util/status_macros.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "projections/engine_impl.h"

namespace triad::internal {

namespace {

constexpr size_t kStreamPage = 1000;

bool Matches(const ProjectionDefinition& def, const RecordedEvent& event) {
  const auto& types = def.event_types;
  if (!types.empty() && std::find(types.begin(), types.end(), event.type) == types.end()) {
    return false;
  }
  const auto& categories = def.categories;
  return categories.empty() || std::find(categories.begin(), categories.end(),
                                         CategoryOf(event.stream)) != categories.end();
}

// The events of `stream` after `version`, newer than `after` and at most `head`, that pass the
// projection's filter.
Status CollectStream(EventStore& store, const ProjectionDefinition& def, const std::string& stream,
                     StreamVersion version, Position after, Position head,
                     std::vector<RecordedEvent>& out) {
  StreamVersion from = version + 1;
  for (;;) {
    auto events =
        store.ReadStream(stream, ReadStreamOptions{.from_version = from, .limit = kStreamPage});
    if (!events.ok()) {
      // A document key that names no stream (yet) has no newer events.
      const StatusCode code = events.status().code();
      if (code == StatusCode::kNotFound || code == StatusCode::kInvalidArgument) {
        return Status::OK();
      }
      return events.status();
    }
    for (RecordedEvent& e : *events) {
      if (e.position > head) return Status::OK();
      if (e.position > after && Matches(def, e)) out.push_back(std::move(e));
    }
    if (events->size() < kStreamPage) return Status::OK();
    from = events->back().version + 1;
  }
}

}  // namespace

Result<DocumentRead> FreshRead(EventStore& store, ReadModelBackend& backend, Clock& clock,
                               const WorkTarget& work, const Route& route, std::string_view id) {
  const ProjectionDefinition& def = work.definition;
  std::string collection;
  for (const auto& [logical, storage] : work.storage) {
    if (storage == route.storage) collection = logical;
  }
  // The document and the checkpoint in one snapshot: events up to as_of are already in it.
  TRIAD_ASSIGN_OR_RETURN(DocumentRead committed,
                         backend.Get(route.storage, id, route.name, route.version));
  TRIAD_ASSIGN_OR_RETURN(Position head, store.HeadPosition());
  std::map<std::string, StreamVersion, std::less<>> sources;
  if (committed.document) {
    sources = committed.document->meta.sources;
  } else if (def.key == DocumentKey::kStream) {
    sources.emplace(std::string(id), kNoStreamVersion);
  }
  if (sources.empty()) return committed;  // nothing to follow

  std::vector<RecordedEvent> events;
  for (const auto& [stream, version] : sources) {
    TRIAD_RETURN_IF_ERROR(
        CollectStream(store, def, stream, version, committed.as_of, head, events));
  }
  std::sort(events.begin(), events.end(),
            [](const RecordedEvent& a, const RecordedEvent& b) { return a.position < b.position; });

  // Without a transaction opener the context reads the committed store and writes nothing.
  BatchContext context(def, work.storage, backend, clock);
  for (const RecordedEvent& event : events) {
    const EventView view = ViewOf(event);
    context.BeginCall(&view);
    Status status = CallEventHandler(def, view, context);
    if (status.ok()) {
      context.CommitCall();
      continue;
    }
    context.AbortCall();
    if (!context.storage_error().ok()) return context.storage_error();
    // The engine would stop here too; under kSkip/kDeadLetter it goes on without the event.
    if (def.error_policy == ErrorPolicy::kStop) {
      return FailedPreconditionError(
          "fresh read: the handler of " + ProjectionKeyString(def.name, def.version) +
          " failed at position " + std::to_string(event.position) + ": " + status.message());
    }
  }
  committed.as_of = head;
  const CachedDocument* doc = context.Cached(collection, id);
  if (doc == nullptr || !doc->dirty) return committed;
  if (!doc->body) {
    committed.document.reset();
  } else {
    committed.document.emplace();
    committed.document->id = std::string(id);
    committed.document->body = doc->body->dump();
    committed.document->meta = doc->meta;
  }
  return committed;
}

}  // namespace triad::internal
