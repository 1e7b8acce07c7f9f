#include "postgres/pg_read_model.h"

#include "util/connection_pool.h"
#include "util/status_macros.h"

#include <algorithm>
#include <condition_variable>
#include <libpq-fe.h>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "postgres/pg_connection.h"
#include "postgres/pg_migrations.h"
#include "postgres/pg_rm_catalog.h"
#include "postgres/pg_rm_documents.h"
#include "postgres/pg_rm_leases.h"
#include "postgres/pg_rm_records.h"
#include "postgres/pg_rm_schema.h"
#include "postgres/pg_uri.h"
#include "readmodel/names.h"

namespace triad::internal::pg {
namespace {

using readmodel::Catalog;
using readmodel::CollectionInfo;

constexpr size_t kReaderConnections = 4;

class PgReadModel;

// The write transaction: one PostgreSQL transaction (READ COMMITTED) on the writer connection.
// Catalog changes go to a private copy that is published when the transaction commits.
class PgReadModelTransaction final : public ReadModelTransaction {
 public:
  PgReadModelTransaction(PgReadModel& backend, PgConnection& conn,
                         std::shared_ptr<const Catalog> catalog)
      : backend_(backend), conn_(conn), base_(std::move(catalog)) {}
  ~PgReadModelTransaction() override;

  Status EnsureCollection(std::string_view storage_name, const CollectionSpec& spec) override;
  Status DropCollection(std::string_view storage_name) override;

  Result<std::optional<Document>> Get(std::string_view storage_name, std::string_view id) override {
    TRIAD_ASSIGN_OR_RETURN(const CollectionInfo* info, Collection(storage_name));
    return PgReadDocument(conn_, *info, storage_name, id);
  }
  Status Put(std::string_view storage_name, const Document& document) override {
    TRIAD_ASSIGN_OR_RETURN(const CollectionInfo* info, Collection(storage_name));
    return PgWriteDocument(conn_, *info, document);
  }
  Status Delete(std::string_view storage_name, std::string_view id) override {
    TRIAD_ASSIGN_OR_RETURN(const CollectionInfo* info, Collection(storage_name));
    return PgDeleteDocument(conn_, *info, id);
  }
  Result<QueryPage> Find(std::string_view storage_name, const Query& query) override {
    TRIAD_ASSIGN_OR_RETURN(const CollectionInfo* info, Collection(storage_name));
    return PgReadPage(conn_, *info, storage_name, query);
  }

  Result<std::optional<ProjectionRecord>> GetProjection(std::string_view name,
                                                        int32_t version) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return PgReadProjection(conn_, name, version);
  }
  Status PutProjection(const ProjectionRecord& record) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return PgWriteProjection(conn_, record);
  }
  Status DeleteProjection(std::string_view name, int32_t version) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return PgDeleteProjection(conn_, name, version);
  }
  Status PutDeadLetter(const DeadLetter& letter) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return PgWriteDeadLetter(conn_, letter);
  }
  Status DeleteDeadLetter(std::string_view projection, int32_t version,
                          Position position) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return PgDeleteDeadLetter(conn_, projection, version, position);
  }
  Status DeleteDeadLetters(std::string_view projection, int32_t version) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return PgDeleteDeadLetters(conn_, projection, version);
  }

  Status Commit() override;

 private:
  // The indexes `storage_name` has after adding `spec`'s. Errors: kInvalidArgument (a field
  // declared with two types).
  Result<std::vector<IndexSpec>> MergedIndexes(std::string_view storage_name,
                                               const CollectionInfo* existing,
                                               const CollectionSpec& spec) const;
  // EnsureCollection's writes, inside its savepoint.
  Status CreateStorage(std::string_view storage_name, const CollectionSpec& spec);

  const Catalog& View() const { return pending_ ? *pending_ : *base_; }

  // The transaction ends at Commit(), successful or not.
  Status CheckOpen() const {
    if (finished_) return FailedPreconditionError("the read-model transaction is already over");
    return Status::OK();
  }

  // Frees the writer for the next transaction (rolling back unless committed); once.
  void Finish();

  Result<const CollectionInfo*> Collection(std::string_view storage_name) {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    const CollectionInfo* info = View().Find(storage_name);
    if (info == nullptr) {
      return NotFoundError("collection " + Quote(storage_name) + " does not exist");
    }
    return info;
  }

  // The catalog copy this transaction changes. The first call bumps the stored catalog version,
  // which locks it until the end of the transaction; when another node changed the catalog since
  // this transaction began, the copy starts from the catalog as that node committed it.
  Result<Catalog*> Mutable();

  PgReadModel& backend_;
  PgConnection& conn_;
  std::shared_ptr<const Catalog> base_;
  std::shared_ptr<Catalog> pending_;  // set once the catalog changed
  bool committed_ = false;
  bool finished_ = false;
};

class PgReadModel final : public ReadModelBackend {
 public:
  PgReadModel(const ReadModelOptions& options, PgTarget target,
              std::unique_ptr<PgConnection> writer)
      : options_(options), target_(std::move(target)), writer_(std::move(writer)) {}

  // Configures the writer and loads the catalog.
  Status Initialize() {
    TRIAD_RETURN_IF_ERROR(ConfigureWriter(*writer_));
    TRIAD_ASSIGN_OR_RETURN(catalog_, LoadPgCatalog(*writer_));
    return Status::OK();
  }

  Result<std::unique_ptr<ReadModelTransaction>> BeginWrite() override {
    if (options_.read_only) {
      return FailedPreconditionError("the read-model store " + Describe() + " is open read-only");
    }
    std::unique_lock lock(writer_mu_);
    while (writer_busy_) writer_cv_.wait(lock);
    // After a server restart (or a cut connection) the idle writer's connection is dead:
    // reconnect once. Reopening re-takes the leases first and drops those another node took
    // meanwhile, so HoldsLease() called after this returns tells whether this transaction
    // commits on the session holding the lease (the fence; pg_rm_leases.h).
    Status begun = Begin();
    if (begun.code() == StatusCode::kUnavailable) {
      TRIAD_RETURN_IF_ERROR(ReopenWriter());
      begun = Begin();
    }
    TRIAD_RETURN_IF_ERROR(begun.Annotate("starting a read-model write"));
    // Another process may have changed the catalog since we last looked.
    auto stored = ReadPgCatalogVersion(*writer_);
    std::shared_ptr<const Catalog> catalog = Current();
    if (stored.ok() && *stored != catalog->version) {
      auto loaded = LoadPgCatalog(*writer_);
      if (loaded.ok()) {
        catalog = *loaded;
        Publish(catalog);
      } else {
        stored = loaded.status();
      }
    }
    if (!stored.ok()) {
      writer_->Exec("ROLLBACK").IgnoreError();
      return stored.status();
    }
    writer_busy_ = true;
    return std::unique_ptr<ReadModelTransaction>(
        new PgReadModelTransaction(*this, *writer_, std::move(catalog)));
  }

  // Called once by a transaction that ends: rolls back unless committed, frees the writer.
  void EndWrite(bool committed) {
    if (!committed && PQtransactionStatus(writer_->raw()) != PQTRANS_IDLE) {
      writer_->Exec("ROLLBACK").IgnoreError();
    }
    std::lock_guard lock(writer_mu_);
    writer_busy_ = false;
    writer_cv_.notify_all();
  }

  // Makes `catalog` the current one unless a newer one is already current.
  void Publish(std::shared_ptr<const Catalog> catalog) {
    std::lock_guard lock(catalog_mu_);
    if (catalog->version >= catalog_->version) catalog_ = std::move(catalog);
  }

  Result<std::vector<ProjectionRecord>> ListProjections() override {
    return WithReader<std::vector<ProjectionRecord>>(
        [&](PgConnection& conn) { return PgReadProjections(conn); });
  }

  Result<DocumentRead> Get(std::string_view storage_name, std::string_view id,
                           std::string_view projection, int32_t version) override {
    return WithReader<DocumentRead>([&](PgConnection& conn) {
      return WithCollection<DocumentRead>(
          conn, storage_name, [&](const CollectionInfo& info) -> Result<DocumentRead> {
            return PgReadDocumentAsOf(conn, info, storage_name, id, projection, version);
          });
    });
  }

  Result<QueryPage> Find(std::string_view storage_name, const Query& query,
                         std::string_view projection, int32_t version) override {
    return WithReader<QueryPage>([&](PgConnection& conn) {
      return WithCollection<QueryPage>(
          conn, storage_name, [&](const CollectionInfo& info) -> Result<QueryPage> {
            // The checkpoint and the page's statements share one snapshot.
            TRIAD_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
            auto page = [&]() -> Result<QueryPage> {
              TRIAD_ASSIGN_OR_RETURN(const Position as_of,
                                     PgReadCheckpoint(conn, projection, version));
              TRIAD_ASSIGN_OR_RETURN(QueryPage p, PgReadPage(conn, info, storage_name, query));
              p.as_of = as_of;
              return p;
            }();
            // A read-only transaction: nothing to lose either way.
            conn.Exec(page.ok() ? "COMMIT" : "ROLLBACK").IgnoreError();
            return page;
          });
    });
  }

  Result<CountResult> Count(std::string_view storage_name, const Query& query,
                            std::string_view projection, int32_t version) override {
    return WithReader<CountResult>([&](PgConnection& conn) {
      return WithCollection<CountResult>(
          conn, storage_name, [&](const CollectionInfo& info) -> Result<CountResult> {
            return PgReadCount(conn, info, query, projection, version);
          });
    });
  }

  Result<std::vector<Document>> ScanDocuments(std::string_view storage_name,
                                              std::string_view after_id, size_t limit) override {
    return WithReader<std::vector<Document>>([&](PgConnection& conn) {
      return WithCollection<std::vector<Document>>(
          conn, storage_name, [&](const CollectionInfo& info) -> Result<std::vector<Document>> {
            return PgReadDocumentsAfter(conn, info, storage_name, after_id, limit);
          });
    });
  }

  Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view projection,
                                                  int32_t version) override {
    return WithReader<std::vector<DeadLetter>>(
        [&](PgConnection& conn) { return PgReadDeadLetters(conn, projection, version); });
  }

  std::string Describe() const override { return target_.display; }

  // Leases are session-level advisory locks of the writer session (pg_rm_leases.h).
  Result<bool> TryAcquireLease(std::string_view projection) override {
    // Already held: no round trip (the engine asks before every batch).
    if (leases_.Contains(projection)) return true;
    std::unique_lock lock(writer_mu_);
    // The writer session is used by one thread at a time: wait for the open transaction.
    while (writer_busy_) writer_cv_.wait(lock);
    if (leases_.Contains(projection)) return true;
    auto taken = PgTryLease(*writer_, projection);
    if (!taken.ok() && taken.status().code() == StatusCode::kUnavailable) {
      TRIAD_RETURN_IF_ERROR(ReopenWriter());
      taken = PgTryLease(*writer_, projection);
    }
    if (!taken.ok())
      return taken.status().Annotate("taking the lease of projection " + Quote(projection));
    if (*taken) leases_.Add(projection);
    return *taken;
  }

  bool HoldsLease(std::string_view projection) override { return leases_.Contains(projection); }

  void ReleaseLease(std::string_view projection) override {
    if (!leases_.Contains(projection)) return;
    std::unique_lock lock(writer_mu_);
    while (writer_busy_) writer_cv_.wait(lock);
    if (!leases_.Contains(projection)) return;
    // Not held from here on, even if the unlock fails: a dead session has freed it already.
    leases_.Remove(projection);
    PgReleaseLease(*writer_, projection).IgnoreError();
  }

 private:
  friend class PgReadModelTransaction;

  Status Begin() { return writer_->Exec("BEGIN"); }

  // Replaces the dead writer connection and re-takes its leases on the new session (the old
  // session's locks died with it); those another node took meanwhile are dropped.
  // REQUIRES: writer_mu_ held and !writer_busy_.
  Status ReopenWriter() {
    auto fresh = PgConnection::Open(target_, /*create_schema=*/false);
    if (!fresh.ok()) return fresh.status();
    writer_ = std::move(*fresh);
    TRIAD_RETURN_IF_ERROR(ConfigureWriter(*writer_));
    RetakeLeases(*writer_, leases_);
    return Status::OK();
  }

  // kRelaxed: commits return before the WAL reaches disk; a crash may lose the last batches,
  // documents and checkpoint together (promise 5 holds).
  Status ConfigureWriter(PgConnection& conn) const {
    if (options_.durability != Durability::kRelaxed) return Status::OK();
    return conn.Exec("SET synchronous_commit = off");
  }

  std::shared_ptr<const Catalog> Current() {
    std::lock_guard lock(catalog_mu_);
    return catalog_;
  }

  // Runs `read` on a pooled connection. A read failing with kUnavailable (the server restarted
  // and the pooled connections died with it) runs once more on a new connection.
  template <typename T, typename Read>
  Result<T> WithReader(Read read) {
    for (int attempt = 0;; ++attempt) {
      auto lease = readers_.Acquire();
      if (!lease.ok()) return lease.status();
      Result<T> result = read(**lease);
      if (result.ok() || result.status().code() != StatusCode::kUnavailable || attempt > 0) {
        return result;
      }
      readers_.Clear();  // the other idle connections died too
    }
  }

  // Runs `read` on the collection as the current catalog describes it. A catalog changed by
  // another process shows up as a missing collection or a failed read (a dropped table, an
  // index we do not know); then the catalog is reloaded through `conn` and, if it changed,
  // `read` runs once more. REQUIRES: `read` leaves `conn` outside any transaction.
  template <typename T, typename Read>
  Result<T> WithCollection(PgConnection& conn, std::string_view storage_name, Read read) {
    std::shared_ptr<const Catalog> catalog = Current();
    if (auto it = catalog->collections.find(storage_name); it != catalog->collections.end()) {
      const std::shared_ptr<const CollectionInfo> info = it->second;
      Result<T> result = read(*info);
      if (result.ok() || result.status().code() == StatusCode::kUnavailable) return result;
      auto stored = ReadPgCatalogVersion(conn);
      if (!stored.ok() || *stored == catalog->version) return result;
    }
    TRIAD_ASSIGN_OR_RETURN(catalog, LoadPgCatalog(conn));
    Publish(catalog);
    auto it = catalog->collections.find(storage_name);
    if (it == catalog->collections.end()) {
      return NotFoundError("collection " + Quote(storage_name) + " does not exist");
    }
    return read(*it->second);
  }

  const ReadModelOptions options_;
  const PgTarget target_;
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  std::unique_ptr<PgConnection> writer_;  // replaced only under writer_mu_ while not busy
  bool writer_busy_ = false;              // guarded by writer_mu_
  // The leases the writer session holds; changed only by the thread that owns the writer
  // (writer_mu_ held, !writer_busy_), read by any thread.
  LeaseSet leases_;

  std::mutex catalog_mu_;
  std::shared_ptr<const Catalog> catalog_;  // guarded by catalog_mu_

  ConnectionPool<PgConnection> readers_{
      kReaderConnections, [this] { return PgConnection::Open(target_, /*create_schema=*/false); },
      [](const PgConnection& c) { return c.Healthy(); }};
};

PgReadModelTransaction::~PgReadModelTransaction() { Finish(); }

void PgReadModelTransaction::Finish() {
  if (!finished_) {
    finished_ = true;
    backend_.EndWrite(committed_);
  }
}

Result<Catalog*> PgReadModelTransaction::Mutable() {
  if (!pending_) {
    TRIAD_ASSIGN_OR_RETURN(const int64_t version, BumpPgCatalogVersion(conn_));
    if (version - 1 == base_->version) {
      pending_ = std::make_shared<Catalog>(*base_);
    } else {
      // We waited for the lock behind another node's change, or raced it: start from its catalog
      // (the statement's snapshot is taken after the lock was granted).
      TRIAD_ASSIGN_OR_RETURN(auto current, LoadPgCatalog(conn_));
      pending_ = std::make_shared<Catalog>(*current);
    }
    pending_->version = version;
  }
  return pending_.get();
}

Result<std::vector<IndexSpec>> PgReadModelTransaction::MergedIndexes(
    std::string_view storage_name, const CollectionInfo* existing,
    const CollectionSpec& spec) const {
  std::vector<IndexSpec> indexes = existing ? existing->indexes : std::vector<IndexSpec>();
  for (const IndexSpec& index : spec.indexes) {
    TRIAD_RETURN_IF_ERROR(readmodel::ValidateFieldPath(index.field));
    auto same = std::find_if(indexes.begin(), indexes.end(),
                             [&](const IndexSpec& i) { return i.field == index.field; });
    if (same == indexes.end()) {
      indexes.push_back(index);
    } else if (same->type != index.type) {
      return InvalidArgumentError(
          "collection " + Quote(storage_name) + ": field " + Quote(index.field) +
          " is indexed as " + std::string(IndexTypeName(same->type)) +
          " and cannot also be indexed as " + std::string(IndexTypeName(index.type)));
    }
  }
  return indexes;
}

Status PgReadModelTransaction::EnsureCollection(std::string_view storage_name,
                                                const CollectionSpec& spec) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(readmodel::ValidateStorageName(storage_name));
  TRIAD_RETURN_IF_ERROR(readmodel::ValidateCollectionName(spec.name));
  // Validate everything before the first DDL statement.
  const CollectionInfo* existing = View().Find(storage_name);
  TRIAD_ASSIGN_OR_RETURN(const auto indexes, MergedIndexes(storage_name, existing, spec));
  if (existing != nullptr && indexes.size() == existing->indexes.size()) return Status::OK();

  // A failure half-way leaves nothing behind, and the transaction usable.
  const bool had_pending = pending_ != nullptr;
  TRIAD_RETURN_IF_ERROR(conn_.Exec("SAVEPOINT ensure_collection"));
  Status s = CreateStorage(storage_name, spec);
  if (s.ok()) return conn_.Exec("RELEASE ensure_collection");
  conn_.Exec("ROLLBACK TO ensure_collection").IgnoreError();
  conn_.Exec("RELEASE ensure_collection").IgnoreError();
  if (!had_pending) pending_.reset();  // its catalog version bump was rolled back too
  return s;
}

Status PgReadModelTransaction::CreateStorage(std::string_view storage_name,
                                             const CollectionSpec& spec) {
  TRIAD_ASSIGN_OR_RETURN(Catalog * catalog, Mutable());
  // The catalog may have been reloaded: decide again on what it says now.
  const CollectionInfo* existing = catalog->Find(storage_name);
  TRIAD_ASSIGN_OR_RETURN(std::vector<IndexSpec> indexes,
                         MergedIndexes(storage_name, existing, spec));
  const size_t old_count = existing ? existing->indexes.size() : 0;
  int64_t id = 0;
  if (existing == nullptr) {
    TRIAD_ASSIGN_OR_RETURN(PgResult row,
                           conn_.QueryPrepared("rm_collection_insert",
                                               "INSERT INTO rm_collections (name, indexes) VALUES "
                                               "($1, '[]') RETURNING id",
                                               PgParams().Text(storage_name)));
    id = row.Int(0, 0);
  } else {
    id = existing->id;
  }
  const std::string table = "rm_c" + std::to_string(id);
  if (existing == nullptr) TRIAD_RETURN_IF_ERROR(conn_.Exec(CreateCollectionTableSql(table)));
  for (size_t i = old_count; i < indexes.size(); ++i) {
    // CREATE INDEX builds the index from the documents already stored.
    TRIAD_RETURN_IF_ERROR(conn_.Exec(CreateCollectionIndexSql(table, i, indexes[i])));
  }
  const std::string json = readmodel::IndexesToJson(indexes);
  TRIAD_RETURN_IF_ERROR(conn_
                            .QueryPrepared("rm_collection_indexes",
                                           "UPDATE rm_collections SET indexes = $1 WHERE id = $2",
                                           PgParams().Text(json).Int(id))
                            .status());
  catalog->collections.insert_or_assign(std::string(storage_name),
                                        readmodel::MakeCollectionInfo(id, std::move(indexes)));
  return Status::OK();
}

Status PgReadModelTransaction::DropCollection(std::string_view storage_name) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  if (View().Find(storage_name) == nullptr) return Status::OK();
  TRIAD_ASSIGN_OR_RETURN(Catalog * catalog, Mutable());
  const CollectionInfo* existing = catalog->Find(storage_name);
  if (existing == nullptr) return Status::OK();  // another node dropped it meanwhile
  const int64_t id = existing->id;
  TRIAD_RETURN_IF_ERROR(conn_.Exec("DROP TABLE rm_c" + std::to_string(id)));
  TRIAD_RETURN_IF_ERROR(conn_.Exec("DELETE FROM rm_collections WHERE id = " + std::to_string(id)));
  catalog->collections.erase(catalog->collections.find(storage_name));
  return Status::OK();
}

Status PgReadModelTransaction::Commit() {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  Status s;
  // COMMIT of a transaction a failed statement aborted "succeeds" as a rollback: refuse it.
  if (PQtransactionStatus(conn_.raw()) == PQTRANS_INERROR) {
    s = AbortedError("a statement of this read-model transaction failed; it was rolled back");
  } else {
    s = conn_.Exec("COMMIT");
  }
  if (s.ok()) {
    committed_ = true;
    // Published before the writer is freed: the next transaction starts from this catalog.
    if (pending_) backend_.Publish(std::move(pending_));
  }
  Finish();
  return s.Annotate("committing a read-model transaction");
}

}  // namespace

Result<std::unique_ptr<ReadModelBackend>> OpenPostgresReadModel(const ReadModelOptions& options,
                                                                std::string_view uri) {
  TRIAD_ASSIGN_OR_RETURN(PgTarget target, ParsePostgresUri(uri));
  const bool create = options.create_if_missing && !options.read_only;
  TRIAD_ASSIGN_OR_RETURN(auto conn, PgConnection::Open(target, create));
  Status migrated;
  if (create) {
    migrated = Migrate(*conn, kReadModelComponent, kReadModelMigrations, /*read_only=*/false);
  } else {
    // Nothing is created; an older read model is still migrated unless read-only.
    migrated = Migrate(*conn, kReadModelComponent, kReadModelMigrations, /*read_only=*/true);
    if (migrated.code() == StatusCode::kFailedPrecondition && !options.read_only) {
      migrated = Migrate(*conn, kReadModelComponent, kReadModelMigrations, /*read_only=*/false);
    }
  }
  if (!migrated.ok()) return migrated.Annotate("opening read-model store " + target.display);
  auto backend = std::make_unique<PgReadModel>(options, std::move(target), std::move(conn));
  TRIAD_RETURN_IF_ERROR(backend->Initialize());
  return std::unique_ptr<ReadModelBackend>(std::move(backend));
}

}  // namespace triad::internal::pg
