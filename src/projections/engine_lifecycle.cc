// Operator actions: pause, resume, reset, skip, trigger, diff, promote, dead letters.
#include "util/status_macros.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "projections/engine_impl.h"

namespace triad::internal {

namespace {

constexpr size_t kDiffPage = 1000;
constexpr size_t kDiffSamples = 10;

// The serving and the newest non-retired records of `name`.
struct Versions {
  std::optional<ProjectionRecord> serving;
  std::optional<ProjectionRecord> newest;
};

Versions VersionsOf(const std::vector<ProjectionRecord>& records, std::string_view name) {
  Versions v;
  for (const ProjectionRecord& r : records) {
    if (r.name != name || r.retired) continue;
    if (r.serving) v.serving = r;
    if (!v.newest || r.version > v.newest->version) v.newest = r;
  }
  return v;
}

// Every document of a collection, page by page; a missing collection is empty.
class DocumentCursor {
 public:
  DocumentCursor(ReadModelBackend& backend, std::string storage)
      : backend_(backend), storage_(std::move(storage)) {}

  // The current document, or nullptr at the end.
  Result<const Document*> Current() {
    if (index_ < page_.size()) return &page_[index_];
    if (done_) return static_cast<const Document*>(nullptr);
    auto page = backend_.ScanDocuments(storage_, after_, kDiffPage);
    if (!page.ok()) {
      if (page.status().code() != StatusCode::kNotFound) return page.status();
      page_.clear();
    } else {
      page_ = std::move(*page);
    }
    index_ = 0;
    if (page_.size() < kDiffPage) done_ = true;
    if (page_.empty()) return static_cast<const Document*>(nullptr);
    after_ = page_.back().id;
    return &page_[0];
  }
  void Next() { ++index_; }

 private:
  ReadModelBackend& backend_;
  std::string storage_;
  std::string after_;
  std::vector<Document> page_;
  size_t index_ = 0;
  bool done_ = false;
};

bool SameBody(const Document& a, const Document& b) {
  if (a.body == b.body) return true;
  auto ja = ParseBody("", a);
  auto jb = ParseBody("", b);
  if (!ja.ok() || !jb.ok()) return false;
  ja->erase("_meta");
  jb->erase("_meta");
  return *ja == *jb;
}

Result<CollectionDiff> DiffCollection(ReadModelBackend& backend, const std::string& collection,
                                      const ProjectionRecord& old_record,
                                      const ProjectionRecord& new_record) {
  CollectionDiff diff;
  diff.collection = collection;
  DocumentCursor old_docs(backend,
                          CollectionStorageName(old_record.name, old_record.version, collection));
  DocumentCursor new_docs(backend,
                          CollectionStorageName(new_record.name, new_record.version, collection));
  auto sample = [&diff](const std::string& id) {
    if (diff.sample_ids.size() < kDiffSamples) diff.sample_ids.push_back(id);
  };
  for (;;) {
    TRIAD_ASSIGN_OR_RETURN(const Document* a, old_docs.Current());
    TRIAD_ASSIGN_OR_RETURN(const Document* b, new_docs.Current());
    if (a == nullptr && b == nullptr) break;
    if (b == nullptr || (a != nullptr && a->id < b->id)) {
      ++diff.old_count;
      ++diff.only_in_old;
      sample(a->id);
      old_docs.Next();
    } else if (a == nullptr || b->id < a->id) {
      ++diff.new_count;
      ++diff.only_in_new;
      sample(b->id);
      new_docs.Next();
    } else {
      ++diff.old_count;
      ++diff.new_count;
      if (!SameBody(*a, *b)) {
        ++diff.changed;
        sample(a->id);
      }
      old_docs.Next();
      new_docs.Next();
    }
  }
  return diff;
}

}  // namespace

Result<ProjectionEngineImpl::Target> ProjectionEngineImpl::Resolve(std::string_view name,
                                                                   int32_t version) {
  if (version != 0) {
    std::lock_guard lock(mu_);
    ProjectionRuntime* rt = FindRuntime(name, version);
    if (rt != nullptr) return Target{std::string(name), version, rt};
  }
  // Version 0 is the serving version (the one queries read), which only the stored records
  // know; a version not registered here is known only to the read-model store.
  TRIAD_ASSIGN_OR_RETURN(auto records, backend_.ListProjections());
  // Version 0 prefers the serving version, then the newest not retired, then the newest.
  auto rank = [](const ProjectionRecord& r) { return r.retired ? 0 : r.serving ? 2 : 1; };
  const ProjectionRecord* found = nullptr;
  for (const ProjectionRecord& r : records) {
    if (r.name != name) continue;
    if (version != 0) {
      if (r.version == version) found = &r;
    } else if (found == nullptr || rank(r) > rank(*found) ||
               (rank(r) == rank(*found) && r.version > found->version)) {
      found = &r;
    }
  }
  if (found == nullptr) {
    return NotFoundError("no projection " + (version == 0 ? "'" + std::string(name) + "'"
                                                          : ProjectionKeyString(name, version)));
  }
  std::lock_guard lock(mu_);
  return Target{std::string(name), found->version, FindRuntime(name, found->version)};
}

void ProjectionEngineImpl::MirrorRecord(const Target& target, ProjectionRecord record,
                                        bool rebuilding) {
  {
    std::lock_guard lock(mu_);
    if (target.runtime != nullptr) {
      target.runtime->record = std::move(record);
      target.runtime->retry_at_us = 0;
      if (rebuilding) {
        target.runtime->rebuilding = true;
        target.runtime->rate.clear();
      }
    }
    WakeAllLocked();
  }
  cv_.notify_all();
}

Status ProjectionEngineImpl::UpdateRecord(const Target& target,
                                          const std::function<Status(ProjectionRecord&)>& change,
                                          bool interrupt_running) {
  std::unique_lock<std::mutex> run;
  if (target.runtime != nullptr) {
    run = interrupt_running ? LockRunInterrupting(*target.runtime)
                            : std::unique_lock(target.runtime->run_mu);
  }
  const std::string key = ProjectionKeyString(target.name, target.version);
  ProjectionRecord record;
  {
    TRIAD_ASSIGN_OR_RETURN(auto txn, backend_.BeginWrite());
    TRIAD_ASSIGN_OR_RETURN(auto stored, txn->GetProjection(target.name, target.version));
    if (!stored) return NotFoundError("no projection " + key);
    // A retired version never runs again: acting on it would answer success and do nothing.
    if (stored->retired) return FailedPreconditionError("projection " + key + " is retired");
    record = std::move(*stored);
    TRIAD_RETURN_IF_ERROR(change(record));
    TRIAD_RETURN_IF_ERROR(txn->PutProjection(record));
    TRIAD_RETURN_IF_ERROR(txn->Commit());
  }
  MirrorRecord(target, std::move(record));
  return Status::OK();
}

Status ProjectionEngineImpl::Pause(std::string_view name, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  return UpdateRecord(
      target,
      [](ProjectionRecord& r) {
        r.paused = true;
        return Status::OK();
      },
      /*interrupt_running=*/true);
}

Status ProjectionEngineImpl::Resume(std::string_view name, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  return UpdateRecord(target, [](ProjectionRecord& r) {
    r.paused = false;
    r.faulted = false;
    return Status::OK();
  });
}

Status ProjectionEngineImpl::Trigger(std::string_view name, std::optional<Position> up_to,
                                     int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  TRIAD_ASSIGN_OR_RETURN(const Position head, store_.HeadPosition());
  TRIAD_RETURN_IF_ERROR(UpdateRecord(target, [&](ProjectionRecord& r) {
    // A plain trigger of a paused version (or of one running up to a position) is "run up to
    // the head, then pause": it runs now, and a pause stays a pause.
    std::optional<Position> stop = up_to;
    if (!stop && (r.paused || r.stop_at > 0)) stop = head;
    if (stop) {
      // "Run up to P then stop": already there means stop now.
      r.paused = r.checkpoint >= *stop;
      r.stop_at = r.paused ? 0 : *stop;
    }
    return Status::OK();
  }));
  std::lock_guard lock(mu_);
  if (target.runtime != nullptr) ++target.runtime->trigger_requested;
  WakeAllLocked();
  cv_.notify_all();
  return Status::OK();
}

Status ProjectionEngineImpl::Skip(std::string_view name, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  const std::string key = ProjectionKeyString(target.name, target.version);
  TRIAD_ASSIGN_OR_RETURN(ProjectionRecord seen, StoredRecord(target.name, target.version));
  if (!seen.faulted) return FailedPreconditionError("projection " + key + " is not faulted");
  const Position position = seen.last_error_position;
  if (position == 0) {
    return FailedPreconditionError("projection " + key +
                                   " faulted in a tick, not on an event: resume retries it");
  }
  ReadAllOptions read;
  read.from_position = position;
  read.limit = 1;
  TRIAD_ASSIGN_OR_RETURN(auto events, store_.ReadAll(read));
  if (events.empty() || events[0].position != position) {
    return NotFoundError("projection " + key + ": no event at position " +
                         std::to_string(position) + " to skip");
  }
  const RecordedEvent& event = events[0];
  const DeadLetter letter{.projection = target.name,
                          .version = target.version,
                          .position = position,
                          .stream = event.stream,
                          .stream_version = event.version,
                          .event_type = event.type,
                          .error = seen.last_error,
                          .kind = DeadLetterKind::kSkipped,
                          .recorded_at_us = clock_.NowMicros(),
                          .attempts = 1};
  std::unique_lock<std::mutex> run;
  if (target.runtime != nullptr) run = std::unique_lock(target.runtime->run_mu);
  ProjectionRecord record;
  {
    TRIAD_ASSIGN_OR_RETURN(auto txn, backend_.BeginWrite());
    TRIAD_ASSIGN_OR_RETURN(auto stored, txn->GetProjection(target.name, target.version));
    if (!stored) return NotFoundError("no projection " + key);
    if (stored->retired) return FailedPreconditionError("projection " + key + " is retired");
    // Resumed, reset or faulted elsewhere meanwhile: skip nothing but the event named.
    if (!stored->faulted || stored->last_error_position != position) {
      return FailedPreconditionError("projection " + key +
                                     " changed meanwhile: it is no longer faulted at position " +
                                     std::to_string(position));
    }
    record = std::move(*stored);
    TRIAD_RETURN_IF_ERROR(txn->PutDeadLetter(letter));
    record.checkpoint = std::max(record.checkpoint, position);
    record.faulted = false;
    if (record.stop_at > 0 && record.checkpoint >= record.stop_at) {
      record.paused = true;
      record.stop_at = 0;
    }
    TRIAD_RETURN_IF_ERROR(txn->PutProjection(record));
    TRIAD_RETURN_IF_ERROR(txn->Commit());
  }
  MirrorRecord(target, std::move(record));
  return Status::OK();
}

Status ProjectionEngineImpl::Reset(std::string_view name, int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  std::unique_lock<std::mutex> run;
  if (target.runtime != nullptr) run = LockRunInterrupting(*target.runtime);
  ProjectionRecord record;
  {
    TRIAD_ASSIGN_OR_RETURN(auto txn, backend_.BeginWrite());
    TRIAD_ASSIGN_OR_RETURN(auto stored, txn->GetProjection(target.name, target.version));
    const std::string key = ProjectionKeyString(target.name, target.version);
    if (!stored) return NotFoundError("no projection " + key);
    if (stored->retired) return FailedPreconditionError("projection " + key + " is retired");
    record = std::move(*stored);
    for (const CollectionSpec& spec : record.collections) {
      const std::string storage = CollectionStorageName(record.name, record.version, spec.name);
      TRIAD_RETURN_IF_ERROR(txn->DropCollection(storage));
      TRIAD_RETURN_IF_ERROR(txn->EnsureCollection(storage, spec));
    }
    TRIAD_RETURN_IF_ERROR(txn->DeleteDeadLetters(record.name, record.version));
    record.checkpoint = 0;
    record.faulted = false;
    record.stop_at = 0;
    record.last_error.clear();
    record.last_error_position = 0;
    TRIAD_RETURN_IF_ERROR(txn->PutProjection(record));
    TRIAD_RETURN_IF_ERROR(txn->Commit());
  }
  MirrorRecord(target, std::move(record), /*rebuilding=*/true);
  return Status::OK();
}

Result<ProjectionDiff> ProjectionEngineImpl::Diff(std::string_view name) {
  TRIAD_ASSIGN_OR_RETURN(auto records, backend_.ListProjections());
  Versions v = VersionsOf(records, name);
  if (!v.newest) return NotFoundError("no projection '" + std::string(name) + "'");
  if (!v.serving || v.serving->version == v.newest->version) {
    return FailedPreconditionError("projection '" + std::string(name) +
                                   "' has no second version to compare");
  }
  ProjectionDiff diff;
  diff.name = std::string(name);
  diff.old_version = v.serving->version;
  diff.new_version = v.newest->version;
  diff.old_checkpoint = v.serving->checkpoint;
  diff.new_checkpoint = v.newest->checkpoint;
  std::vector<std::string> names;
  for (const auto* r : {&*v.serving, &*v.newest}) {
    for (const CollectionSpec& spec : r->collections) {
      if (std::find(names.begin(), names.end(), spec.name) == names.end()) {
        names.push_back(spec.name);
      }
    }
  }
  std::sort(names.begin(), names.end());
  for (const std::string& collection : names) {
    TRIAD_ASSIGN_OR_RETURN(CollectionDiff c,
                           DiffCollection(backend_, collection, *v.serving, *v.newest));
    diff.collections.push_back(std::move(c));
  }
  return diff;
}

Status ProjectionEngineImpl::Promote(std::string_view name) {
  TRIAD_ASSIGN_OR_RETURN(auto records, backend_.ListProjections());
  Versions v = VersionsOf(records, name);
  if (!v.newest) return NotFoundError("no projection '" + std::string(name) + "'");
  const std::string key = ProjectionKeyString(name, v.newest->version);
  if (v.newest->serving) return FailedPreconditionError("projection " + key + " already serves");
  ProjectionRuntime* new_rt;
  ProjectionRuntime* old_rt = nullptr;
  {
    std::lock_guard lock(mu_);
    new_rt = FindRuntime(name, v.newest->version);
    if (v.serving) old_rt = FindRuntime(name, v.serving->version);
  }
  // Lower version first, as every path that takes two run locks.
  std::unique_lock<std::mutex> old_run;
  std::unique_lock<std::mutex> new_run;
  if (old_rt != nullptr) old_run = std::unique_lock(old_rt->run_mu);
  if (new_rt != nullptr) new_run = std::unique_lock(new_rt->run_mu);

  // Queries wait from here to the commit, so none reads the old version's dropped collections.
  // Taken before the transaction: a backend's reads may wait for its open writer.
  std::unique_lock route(route_mu_);
  TRIAD_ASSIGN_OR_RETURN(Position head, store_.HeadPosition());
  TRIAD_ASSIGN_OR_RETURN(auto txn, backend_.BeginWrite());
  TRIAD_ASSIGN_OR_RETURN(auto promoted, txn->GetProjection(name, v.newest->version));
  if (!promoted || promoted->retired) return NotFoundError("no projection " + key);
  if (promoted->serving) return FailedPreconditionError("projection " + key + " already serves");
  if (promoted->faulted) {
    return FailedPreconditionError("projection " + key + " is faulted at position " +
                                   std::to_string(promoted->last_error_position) + ": " +
                                   promoted->last_error);
  }
  if (promoted->checkpoint < head) {
    return FailedPreconditionError("projection " + key + " has not caught up: checkpoint " +
                                   std::to_string(promoted->checkpoint) + ", head " +
                                   std::to_string(head));
  }
  promoted->serving = true;
  TRIAD_RETURN_IF_ERROR(txn->PutProjection(*promoted));
  std::optional<ProjectionRecord> retired;
  if (v.serving) {
    TRIAD_ASSIGN_OR_RETURN(retired, txn->GetProjection(name, v.serving->version));
    if (retired) {
      retired->serving = false;
      retired->retired = true;
      retired->stop_at = 0;
      TRIAD_RETURN_IF_ERROR(txn->PutProjection(*retired));
      for (const CollectionSpec& spec : retired->collections) {
        TRIAD_RETURN_IF_ERROR(
            txn->DropCollection(CollectionStorageName(name, retired->version, spec.name)));
      }
      TRIAD_RETURN_IF_ERROR(txn->DeleteDeadLetters(name, retired->version));
    }
  }
  TRIAD_RETURN_IF_ERROR(txn->Commit());
  routes_.clear();
  ++route_generation_;
  route.unlock();
  {
    std::lock_guard lock(mu_);
    if (new_rt != nullptr) new_rt->record = *promoted;
    if (old_rt != nullptr && retired) old_rt->record = *retired;
    WakeAllLocked();
  }
  cv_.notify_all();
  return RefreshRoutes();
}

Result<std::vector<DeadLetter>> ProjectionEngineImpl::ListDeadLetters(std::string_view name,
                                                                      int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  return backend_.ListDeadLetters(target.name, target.version);
}

Result<int64_t> ProjectionEngineImpl::ReplayDeadLetters(std::string_view name,
                                                        std::optional<Position> position,
                                                        int32_t version) {
  TRIAD_ASSIGN_OR_RETURN(Target target, Resolve(name, version));
  const std::string key = ProjectionKeyString(target.name, target.version);
  if (target.runtime == nullptr) {
    return FailedPreconditionError("projection " + key + " is not registered in this engine");
  }
  // Replays write the projection's documents: only on the node that runs it.
  TRIAD_RETURN_IF_ERROR(RequireLease(target.name));
  std::lock_guard run(target.runtime->run_mu);
  TRIAD_ASSIGN_OR_RETURN(auto letters, backend_.ListDeadLetters(target.name, target.version));
  if (position) {
    std::erase_if(letters, [&](const DeadLetter& l) { return l.position != *position; });
    if (letters.empty()) {
      return NotFoundError("projection " + key + " has no dead letter at position " +
                           std::to_string(*position));
    }
  }
  int64_t succeeded = 0;
  for (DeadLetter& letter : letters) {
    TRIAD_ASSIGN_OR_RETURN(bool ok, ReplayDeadLetter(Env(), Work(*target.runtime), letter));
    if (ok) ++succeeded;
  }
  return succeeded;
}

}  // namespace triad::internal
