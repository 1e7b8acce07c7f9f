#include "projections/batch_context.h"

#include "util/status_macros.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace triad::internal {

namespace {
constexpr size_t kMaxIdBytes = 512;
// What a JSON value costs beyond its text: the node, a map entry.
constexpr size_t kValueBytes = 16;
}  // namespace

size_t ApproxJsonBytes(const nlohmann::json& value) {
  // A loop, not a recursion: documents written by C++ handlers may nest without bound.
  size_t bytes = 0;
  std::vector<const nlohmann::json*> pending{&value};
  while (!pending.empty()) {
    const nlohmann::json* v = pending.back();
    pending.pop_back();
    bytes += kValueBytes;
    if (v->is_string()) {
      bytes += v->get_ref<const std::string&>().size();
    } else if (v->is_object()) {
      for (const auto& [key, member] : v->items()) {
        bytes += key.size();
        pending.push_back(&member);
      }
    } else if (v->is_array()) {
      for (const nlohmann::json& item : *v) pending.push_back(&item);
    }
  }
  return bytes;
}

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
  AbortCall();
  storage_error_ = Status::OK();
  in_event_ = event != nullptr;
  if (event != nullptr) {
    event_stream_.assign(event->stream);
    event_version_ = event->version;
    event_position_ = event->position;
  }
}

Status BatchContext::EndCall() { return Settle(); }

void BatchContext::CommitCall() {
  Settle().IgnoreError();  // counted here; the runner checked the limit in EndCall
  for (auto& [key, doc] : overlay_) {
    CachedDocument& target = cache_[key];
    held_bytes_ -= target.bytes;
    // The transaction holds the call's version if Find wrote it: still flushed, still dirty.
    const bool flushed = target.flushed || doc.flushed;
    target = std::move(doc);
    target.flushed = flushed;
  }
  overlay_.clear();
  call_in_txn_ = false;
}

void BatchContext::AbortCall() {
  unsettled_ = nullptr;
  for (const auto& [key, doc] : overlay_) held_bytes_ -= doc.bytes;
  overlay_.clear();
  if (max_bytes_ == 0 || held_bytes_ <= max_bytes_) limit_error_ = Status::OK();
  if (!call_in_txn_) return;
  call_in_txn_ = false;
  // The failed call's writes are in the transaction: drop it, and write everything the batch
  // flushed to it again into the next one.
  if (discarder_) discarder_();
  txn_ = nullptr;
  for (auto& [key, doc] : cache_) {
    if (doc.flushed) doc.dirty = true;
    doc.flushed = false;
  }
}

Status BatchContext::Write(ReadModelTransaction& txn, const std::string& collection,
                           const std::string& id, CachedDocument& doc) {
  const std::string& storage = storage_.find(collection)->second;
  if (doc.body) {
    doc.body->erase("_meta");
    Document out{.id = id, .body = doc.body->dump(), .meta = doc.meta};
    TRIAD_RETURN_IF_ERROR(txn.Put(storage, out));
  } else {
    TRIAD_RETURN_IF_ERROR(txn.Delete(storage, id));
  }
  doc.flushed = true;
  return Status::OK();
}

Status BatchContext::Flush(ReadModelTransaction& txn) {
  for (auto& [key, doc] : cache_) {
    if (!doc.dirty) continue;
    TRIAD_RETURN_IF_ERROR(Write(txn, key.first, key.second, doc));
    doc.dirty = false;
  }
  return Status::OK();
}

void BatchContext::Count(CachedDocument& doc) {
  held_bytes_ -= doc.bytes;
  doc.bytes = doc.body ? ApproxJsonBytes(*doc.body) : 0;
  held_bytes_ += doc.bytes;
}

Status BatchContext::Settle() {
  if (unsettled_ != nullptr) {
    Count(*unsettled_);
    unsettled_ = nullptr;
  }
  if (limit_error_.ok() && max_bytes_ > 0 && held_bytes_ > max_bytes_) {
    limit_error_ = ResourceExhaustedError(
        "batch memory limit of " + std::to_string(max_bytes_) +
        " bytes (max_batch_bytes) exceeded: the documents of this batch take about " +
        std::to_string(held_bytes_) + " bytes");
  }
  return limit_error_;
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
  CachedDocument& loaded = cache_.emplace(std::move(key), std::move(doc)).first->second;
  Count(loaded);
  return &loaded;
}

Result<CachedDocument*> BatchContext::Writable(std::string_view collection, std::string_view id) {
  Key key(collection, id);
  auto it = overlay_.find(key);
  if (it != overlay_.end()) return &it->second;
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * base, Load(collection, id));
  CachedDocument& copy = overlay_.emplace(std::move(key), *base).first->second;
  copy.flushed = false;
  copy.changed_since_written = false;
  held_bytes_ += copy.bytes;
  return &copy;
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
  TRIAD_RETURN_IF_ERROR(Settle());
  auto it = overlay_.find(Key(collection, id));
  if (it != overlay_.end()) {
    return it->second.body ? &*it->second.body : static_cast<const nlohmann::json*>(nullptr);
  }
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * doc, Load(collection, id));
  return doc->body ? &*doc->body : static_cast<const nlohmann::json*>(nullptr);
}

Result<nlohmann::json*> BatchContext::Mutate(std::string_view collection, std::string_view id) {
  TRIAD_RETURN_IF_ERROR(Settle());
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * doc, Writable(collection, id));
  if (!doc->body) return static_cast<nlohmann::json*>(nullptr);
  Stamp(*doc);
  unsettled_ = doc;
  doc->changed_since_written = true;
  return &*doc->body;
}

Result<nlohmann::json*> BatchContext::Upsert(std::string_view collection, std::string_view id) {
  TRIAD_RETURN_IF_ERROR(Settle());
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * doc, Writable(collection, id));
  if (!doc->body) {
    doc->body = nlohmann::json::object();
    // A re-created document starts a new history.
    doc->meta.sources.clear();
  }
  Stamp(*doc);
  unsettled_ = doc;
  doc->changed_since_written = true;
  return &*doc->body;
}

Status BatchContext::Delete(std::string_view collection, std::string_view id) {
  TRIAD_RETURN_IF_ERROR(Settle());
  TRIAD_ASSIGN_OR_RETURN(CachedDocument * doc, Writable(collection, id));
  if (!doc->body) return Status::OK();
  doc->body.reset();
  doc->dirty = true;
  doc->changed_since_written = true;
  Count(*doc);
  return Status::OK();
}

Result<std::vector<Document>> BatchContext::Find(std::string_view collection, const Query& query) {
  TRIAD_RETURN_IF_ERROR(Settle());
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
  // The query runs in SQL on the transaction, so the batch's changes go there first: those of
  // the calls before, then the running call's (see the header for a call that then fails).
  Status flushed = Flush(**txn);
  if (!flushed.ok()) return NoteStorage(flushed);
  // Only what changed since the last Find, so that a tick paging through many documents writes
  // each once per change, not once per page.
  for (auto& [key, doc] : overlay_) {
    if (!doc.dirty || !doc.changed_since_written) continue;
    call_in_txn_ = true;
    // Stays dirty: the call may change it again, and CommitCall keeps the last version.
    Status written = Write(**txn, key.first, key.second, doc);
    if (!written.ok()) return NoteStorage(written);
    doc.changed_since_written = false;
  }
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
