#include "projections/batch_context.h"

#include "util/status_macros.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace triad::internal {

namespace {
constexpr size_t kMaxIdBytes = 512;
}  // namespace

Result<nlohmann::json> ParseBody(std::string_view collection, const Document& document) {
  try {
    nlohmann::json body = nlohmann::json::parse(document.body);
    if (body.is_object()) return body;
  } catch (const std::exception&) {
    // reported below
  }
  return DataLossError("document '" + document.id + "' of collection '" + std::string(collection) +
                       "' is not a JSON object");
}

BatchContext::BatchContext(const ProjectionDefinition& definition, const StorageNames& storage,
                           ReadModelBackend& backend, Clock& clock)
    : definition_(definition),
      storage_(storage),
      backend_(backend),
      clock_(clock),
      projection_key_(ProjectionKeyString(definition.name, definition.version)) {}

void BatchContext::BeginCall(const EventView* event) {
  overlay_.clear();
  storage_error_ = Status::OK();
  in_event_ = event != nullptr;
  if (event != nullptr) {
    event_stream_.assign(event->stream);
    event_version_ = event->version;
    event_position_ = event->position;
  }
}

void BatchContext::CommitCall() {
  for (auto& [key, doc] : overlay_) cache_[key] = std::move(doc);
  overlay_.clear();
}

void BatchContext::AbortCall() { overlay_.clear(); }

Status BatchContext::Flush(ReadModelTransaction& txn) {
  for (auto& [key, doc] : cache_) {
    if (!doc.dirty) continue;
    const std::string& storage = storage_.find(key.first)->second;
    if (doc.body) {
      doc.body->erase("_meta");
      Document out{.id = key.second, .body = doc.body->dump(), .meta = doc.meta};
      TRIAD_RETURN_IF_ERROR(txn.Put(storage, out));
    } else {
      TRIAD_RETURN_IF_ERROR(txn.Delete(storage, key.second));
    }
    doc.dirty = false;
  }
  return Status::OK();
}

const CachedDocument* BatchContext::Cached(std::string_view collection, std::string_view id) const {
  auto it = cache_.find(Key(collection, id));
  return it == cache_.end() ? nullptr : &it->second;
}

Result<std::string_view> BatchContext::Storage(std::string_view collection,
                                               std::string_view id) const {
  auto it = storage_.find(collection);
  if (it == storage_.end()) {
    return InvalidArgumentError("projection " + projection_key_ + " does not declare collection '" +
                                std::string(collection) + "'");
  }
  if (id.empty() || id.size() > kMaxIdBytes) {
    return InvalidArgumentError("document id must be 1-512 bytes (collection '" +
                                std::string(collection) + "', " + std::to_string(id.size()) +
                                " bytes)");
  }
  return std::string_view(it->second);
}

Status BatchContext::NoteStorage(Status status) {
  if (!status.ok() && storage_error_.ok()) storage_error_ = status;
  return status;
}

Result<CachedDocument*> BatchContext::Load(std::string_view collection, std::string_view id) {
  TRIAD_ASSIGN_OR_RETURN(std::string_view storage, Storage(collection, id));
  Key key(collection, id);
  auto it = cache_.find(key);
  if (it != cache_.end()) return &it->second;
  std::optional<Document> stored;
  if (txn_ != nullptr) {
    auto got = txn_->Get(storage, id);
    if (!got.ok()) return NoteStorage(got.status());
    stored = std::move(*got);
  } else {
    auto got = backend_.Get(storage, id, definition_.name, definition_.version);
    if (!got.ok()) return NoteStorage(got.status());
    stored = std::move(got->document);
  }
  CachedDocument doc;
  if (stored) {
    auto body = ParseBody(collection, *stored);
    if (!body.ok()) return NoteStorage(body.status());
    body->erase("_meta");
    doc.body = std::move(*body);
    doc.meta = std::move(stored->meta);
  }
  doc.meta.projection = projection_key_;
  return &cache_.emplace(std::move(key), std::move(doc)).first->second;
}

Result<CachedDocument*> BatchContext::Writable(std::string_view collection, std::string_view id) {
  Key key(collection, id);
  auto it = overlay_.find(key);
  if (it != overlay_.end()) return &it->second;
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * base, Load(collection, id));
  return &overlay_.emplace(std::move(key), *base).first->second;
}

void BatchContext::Stamp(CachedDocument& doc) const {
  doc.dirty = true;
  if (!in_event_) return;
  // max(): a replayed dead letter is older than later events already applied to the document.
  doc.meta.position = std::max(doc.meta.position, event_position_);
  if (!definition_.record_sources) return;
  auto [it, inserted] = doc.meta.sources.try_emplace(event_stream_, event_version_);
  if (!inserted) it->second = std::max(it->second, event_version_);
}

Result<const nlohmann::json*> BatchContext::Get(std::string_view collection, std::string_view id) {
  auto it = overlay_.find(Key(collection, id));
  if (it != overlay_.end()) {
    return it->second.body ? &*it->second.body : static_cast<const nlohmann::json*>(nullptr);
  }
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * doc, Load(collection, id));
  return doc->body ? &*doc->body : static_cast<const nlohmann::json*>(nullptr);
}

Result<nlohmann::json*> BatchContext::Mutate(std::string_view collection, std::string_view id) {
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * doc, Writable(collection, id));
  if (!doc->body) return static_cast<nlohmann::json*>(nullptr);
  Stamp(*doc);
  return &*doc->body;
}

Result<nlohmann::json*> BatchContext::Upsert(std::string_view collection, std::string_view id) {
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * doc, Writable(collection, id));
  if (!doc->body) {
    doc->body = nlohmann::json::object();
    // A re-created document starts a new history.
    doc->meta.sources.clear();
  }
  Stamp(*doc);
  return &*doc->body;
}

Status BatchContext::Delete(std::string_view collection, std::string_view id) {
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * doc, Writable(collection, id));
  if (!doc->body) return Status::OK();
  doc->body.reset();
  doc->dirty = true;
  return Status::OK();
}

Result<std::vector<Document>> BatchContext::Find(std::string_view collection, const Query& query) {
  TRIAD_ASSIGN_OR_RETURN(std::string_view storage, Storage(collection, "-"));
  if (!opener_) {
    auto page = backend_.Find(storage, query, definition_.name, definition_.version);
    if (!page.ok()) {
      if (page.status().code() != StatusCode::kInvalidArgument) {
        NoteStorage(page.status()).IgnoreError();
      }
      return page.status();
    }
    return std::move(page->documents);
  }
  auto txn = opener_();
  if (!txn.ok()) return NoteStorage(txn.status());
  // The query runs in SQL on the transaction, so the batch's earlier changes go there first.
  Status flushed = Flush(**txn);
  if (!flushed.ok()) return NoteStorage(flushed);
  auto page = (*txn)->Find(storage, query);
  if (!page.ok()) {
    if (page.status().code() != StatusCode::kInvalidArgument) {
      NoteStorage(page.status()).IgnoreError();
    }
    return page.status();
  }
  return std::move(page->documents);
}

}  // namespace triad::internal
