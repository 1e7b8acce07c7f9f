// ApplyClientBatch: document writes plus checkpoint of a projection that runs in a client.
#include "util/status_macros.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "projections/engine_impl.h"

namespace triad::internal {
namespace {

constexpr size_t kMaxClientIdBytes = 512;

Status CheckId(const ClientBatch& batch, std::string_view id) {
  if (id.empty() || id.size() > kMaxClientIdBytes) {
    return InvalidArgumentError("document id must be 1-512 bytes (collection '" + batch.collection +
                                "')");
  }
  return Status::OK();
}

// The batch's own rules, checked before anything is read or written.
Status CheckBatch(const ClientBatch& batch) {
  if (!ValidName(batch.projection)) {
    return InvalidArgumentError("projection name '" + batch.projection +
                                "' must be 1-64 characters of [a-z0-9_-] starting with a letter");
  }
  if (batch.version < 1) {
    return InvalidArgumentError("projection version must be >= 1, got " +
                                std::to_string(batch.version));
  }
  if (!ValidName(batch.collection)) {
    return InvalidArgumentError("collection name '" + batch.collection +
                                "' must be 1-64 characters of [a-z0-9_-] starting with a letter");
  }
  if (batch.expected_checkpoint < 0 || batch.checkpoint < batch.expected_checkpoint) {
    return InvalidArgumentError("checkpoint " + std::to_string(batch.checkpoint) +
                                " must be >= expected_checkpoint " +
                                std::to_string(batch.expected_checkpoint) + " (and >= 0)");
  }
  std::set<std::string_view> seen;
  for (const ClientBatch::Upsert& upsert : batch.upserts) {
    TRIAD_RETURN_IF_ERROR(CheckId(batch, upsert.id));
    if (!seen.insert(upsert.id).second) {
      return InvalidArgumentError("document '" + upsert.id + "' appears twice in the batch");
    }
    if (upsert.position < 0 || upsert.position > batch.checkpoint) {
      return InvalidArgumentError("document '" + upsert.id + "': position " +
                                  std::to_string(upsert.position) + " is not in [0, checkpoint " +
                                  std::to_string(batch.checkpoint) + "]");
    }
    const auto body = nlohmann::json::parse(upsert.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      return InvalidArgumentError("document '" + upsert.id + "' must be a JSON object");
    }
    if (body.contains("_meta")) {
      return InvalidArgumentError("document '" + upsert.id +
                                  "': _meta is written by Triad, not by clients");
    }
  }
  for (const std::string& id : batch.deletes) {
    TRIAD_RETURN_IF_ERROR(CheckId(batch, id));
    if (!seen.insert(id).second) {
      return InvalidArgumentError("document '" + id + "' is both written and deleted, or twice");
    }
  }
  return Status::OK();
}

bool SameIndexes(const std::vector<IndexSpec>& a, const std::vector<IndexSpec>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const IndexSpec& x, const IndexSpec& y) {
                      return x.field == y.field && x.type == y.type;
                    });
}

}  // namespace

Result<ProjectionStatus> ProjectionEngineImpl::ApplyClientBatch(const ClientBatch& batch) {
  TRIAD_RETURN_IF_ERROR(CheckBatch(batch));
  const std::string key = ProjectionKeyString(batch.projection, batch.version);
  {
    std::lock_guard lock(mu_);
    if (FindRuntime(batch.projection, batch.version) != nullptr) {
      return FailedPreconditionError("projection " + key +
                                     " runs in this server; only client projections take batches");
    }
  }
  TRIAD_ASSIGN_OR_RETURN(const Position head, store_.HeadPosition());
  if (batch.checkpoint > head) {
    return InvalidArgumentError("checkpoint " + std::to_string(batch.checkpoint) +
                                " is beyond the head of the log (" + std::to_string(head) + ")");
  }
  // Ownership is checked against every stored record inside the write transaction's view.
  TRIAD_ASSIGN_OR_RETURN(auto records, backend_.ListProjections());
  for (const ProjectionRecord& r : records) {
    if (r.retired || r.name == batch.projection) continue;
    for (const CollectionSpec& spec : r.collections) {
      if (spec.name == batch.collection) {
        return InvalidArgumentError("collection '" + batch.collection + "' belongs to projection " +
                                    r.name + ", not " + batch.projection);
      }
    }
  }

  const std::string storage =
      CollectionStorageName(batch.projection, batch.version, batch.collection);
  ProjectionRecord record;
  {
    TRIAD_ASSIGN_OR_RETURN(auto txn, backend_.BeginWrite());
    TRIAD_ASSIGN_OR_RETURN(auto stored, txn->GetProjection(batch.projection, batch.version));
    if (stored) {
      record = std::move(*stored);
      if (record.retired) return FailedPreconditionError("projection " + key + " was retired");
    } else {
      record.name = batch.projection;
      record.version = batch.version;
      // A client projection serves at once unless another version of the name already does.
      record.serving = true;
      for (const ProjectionRecord& r : records) {
        if (r.name == batch.projection && r.serving && !r.retired) record.serving = false;
      }
    }
    if (record.checkpoint != batch.expected_checkpoint) {
      return FailedPreconditionError("projection " + key + " is at checkpoint " +
                                     std::to_string(record.checkpoint) + ", the batch expected " +
                                     std::to_string(batch.expected_checkpoint));
    }
    auto spec = std::find_if(record.collections.begin(), record.collections.end(),
                             [&](const CollectionSpec& c) { return c.name == batch.collection; });
    if (spec == record.collections.end()) {
      record.collections.push_back(
          CollectionSpec{.name = batch.collection, .indexes = batch.indexes});
      TRIAD_RETURN_IF_ERROR(txn->EnsureCollection(storage, record.collections.back()));
    } else if (!batch.indexes.empty() && !SameIndexes(spec->indexes, batch.indexes)) {
      return InvalidArgumentError("collection '" + batch.collection +
                                  "' was created with other indexes; a batch may omit them but "
                                  "not change them");
    }
    for (const ClientBatch::Upsert& upsert : batch.upserts) {
      Document document{.id = upsert.id,
                        .body = upsert.body,
                        .meta = DocumentMeta{
                            .projection = key,
                            .position = upsert.position == 0 ? batch.checkpoint : upsert.position,
                            .sources = upsert.sources}};
      TRIAD_RETURN_IF_ERROR(txn->Put(storage, document));
    }
    for (const std::string& id : batch.deletes) TRIAD_RETURN_IF_ERROR(txn->Delete(storage, id));
    record.checkpoint = batch.checkpoint;
    TRIAD_RETURN_IF_ERROR(txn->PutProjection(record));
    TRIAD_RETURN_IF_ERROR(txn->Commit());
  }
  TRIAD_RETURN_IF_ERROR(RefreshRoutes());
  {
    std::lock_guard lock(mu_);
    WakeAllLocked();
  }
  cv_.notify_all();
  return StatusOf(record, head);
}

}  // namespace triad::internal
