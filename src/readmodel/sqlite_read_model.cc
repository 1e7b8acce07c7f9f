#include "readmodel/sqlite_read_model.h"

#include "util/connection_pool.h"
#include "util/status_macros.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include "readmodel/catalog.h"
#include "readmodel/document_ops.h"
#include "readmodel/names.h"
#include "readmodel/records.h"
#include "readmodel/schema.h"

namespace triad::internal::readmodel {
namespace {

using sqlite::Connection;
using sqlite::FileKind;
using sqlite::FileState;
using sqlite::OpenTriadFile;

constexpr size_t kReaderConnections = 4;

// Runs a cached statement without results (BEGIN, COMMIT on the read path: no parsing per call).
Status StepCached(Connection& conn, const std::string& sql) {
  TRIAD_ASSIGN_OR_RETURN(sqlite::Statement * stmt, conn.Prepare(sql));
  sqlite::ScopedReset reset(stmt);
  const int rc = stmt->Step();
  if (rc != SQLITE_DONE) return sqlite::ErrorStatus(conn.db(), rc, sql);
  return Status::OK();
}

class SqliteReadModel;

// The write transaction on the writer connection. Catalog changes go to a private copy that is
// published when the transaction commits.
class SqliteReadModelTransaction final : public ReadModelTransaction {
 public:
  SqliteReadModelTransaction(SqliteReadModel& backend, RmConnection& conn,
                             std::shared_ptr<const Catalog> catalog)
      : backend_(backend), conn_(conn), base_(std::move(catalog)) {}
  ~SqliteReadModelTransaction() override;

  Status EnsureCollection(std::string_view storage_name, const CollectionSpec& spec) override;
  Status DropCollection(std::string_view storage_name) override;

  Result<std::optional<Document>> Get(std::string_view storage_name, std::string_view id) override {
    TRIAD_ASSIGN_OR_RETURN(const CollectionInfo* info, Collection(storage_name));
    return ReadDocument(conn_.db(), *info, storage_name, id);
  }

  Status Put(std::string_view storage_name, const Document& document) override {
    TRIAD_ASSIGN_OR_RETURN(const CollectionInfo* info, Collection(storage_name));
    return WriteDocument(conn_.db(), *info, document);
  }

  Status Delete(std::string_view storage_name, std::string_view id) override {
    TRIAD_ASSIGN_OR_RETURN(const CollectionInfo* info, Collection(storage_name));
    return DeleteDocument(conn_.db(), *info, id);
  }

  Result<QueryPage> Find(std::string_view storage_name, const Query& query) override {
    TRIAD_ASSIGN_OR_RETURN(const CollectionInfo* info, Collection(storage_name));
    return ReadPage(conn_, *info, storage_name, query);
  }

  Result<std::optional<ProjectionRecord>> GetProjection(std::string_view name,
                                                        int32_t version) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return ReadProjection(conn_.db(), name, version);
  }
  Status PutProjection(const ProjectionRecord& record) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return WriteProjection(conn_.db(), record);
  }
  Status DeleteProjection(std::string_view name, int32_t version) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return DeleteProjectionRow(conn_.db(), name, version);
  }
  Status PutDeadLetter(const DeadLetter& letter) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return WriteDeadLetter(conn_.db(), letter);
  }
  Status DeleteDeadLetter(std::string_view projection, int32_t version,
                          Position position) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return DeleteDeadLetterRow(conn_.db(), projection, version, position);
  }
  Status DeleteDeadLetters(std::string_view projection, int32_t version) override {
    TRIAD_RETURN_IF_ERROR(CheckOpen());
    return DeleteDeadLetterRows(conn_.db(), projection, version);
  }

  Status Commit() override;

 private:
  // EnsureCollection's writes: the table if `existing` is null, the indexes from `old_count` on,
  // the catalog row and this transaction's catalog copy.
  Status CreateStorage(std::string_view storage_name, const CollectionInfo* existing,
                       std::vector<IndexSpec> indexes, size_t old_count);

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

  // The catalog copy this transaction changes; bumps the stored catalog version once.
  Result<Catalog*> Mutable() {
    if (!pending_) {
      pending_ = std::make_shared<Catalog>(*base_);
      pending_->version = base_->version + 1;
      TRIAD_ASSIGN_OR_RETURN(
          sqlite::Statement * stmt,
          conn_.db().Prepare("INSERT INTO rm_meta (key, value) VALUES ('catalog_version', ?1) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
      const std::string version = std::to_string(pending_->version);
      stmt->Bind(1, version);
      sqlite::ScopedReset reset(stmt);
      const int rc = stmt->Step();
      if (rc != SQLITE_DONE) {
        pending_.reset();
        return sqlite::ErrorStatus(conn_.db().db(), rc, "updating the catalog version");
      }
    }
    return pending_.get();
  }

  SqliteReadModel& backend_;
  RmConnection& conn_;
  std::shared_ptr<const Catalog> base_;
  std::shared_ptr<Catalog> pending_;  // set once the catalog changed
  bool committed_ = false;
  bool finished_ = false;
};

class SqliteReadModel final : public ReadModelBackend {
 public:
  SqliteReadModel(const ReadModelOptions& options, std::string path, std::string describe,
                  int reader_flags, std::unique_ptr<RmConnection> writer)
      : options_(options),
        path_(std::move(path)),
        describe_(std::move(describe)),
        reader_flags_(reader_flags),
        writer_(std::move(writer)) {}

  ~SqliteReadModel() override {
    if (!temporary_) return;
    readers_.Clear();
    writer_.reset();
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix, ec);
  }

  // Deletes the files when the backend is destroyed (memory: stores).
  void SetTemporary() { temporary_ = true; }

  // Creates the schema on a new file, or checks an existing one; loads the catalog.
  Status Initialize(bool in_memory) {
    Connection& db = writer_->db();
    const bool read_only = options_.read_only && !in_memory;
    const FileKind kind{.application_id = kApplicationId,
                        .create_sql = std::string(kCreateSchema) +
                                      "INSERT OR IGNORE INTO rm_meta (key, value) VALUES "
                                      "('schema_version', '" +
                                      std::to_string(kSchemaVersion) +
                                      "'), ('catalog_version', '0');",
                        .name = "Triad read-model file"};
    TRIAD_ASSIGN_OR_RETURN(const FileState state,
                           OpenTriadFile(db, path_, kind, /*create=*/!read_only,
                                         /*wal=*/!read_only));
    if (state == FileState::kEmpty) {
      return NotFoundError("'" + path_ + "' holds no read-model store");
    }
    // A temporary store has nothing to protect from a crash: never sync it.
    TRIAD_RETURN_IF_ERROR(db.Exec(in_memory ? "PRAGMA synchronous=OFF"
                                  : options_.durability == Durability::kFull
                                      ? "PRAGMA synchronous=FULL"
                                      : "PRAGMA synchronous=NORMAL"));
    TRIAD_ASSIGN_OR_RETURN(
        const int64_t version,
        db.QueryInt("SELECT CAST(value AS INTEGER) FROM rm_meta WHERE key = 'schema_version'"));
    if (version > kSchemaVersion) {
      return DataLossError("'" + path_ + "' has read-model schema version " +
                           std::to_string(version) + ", newer than this binary's " +
                           std::to_string(kSchemaVersion) + "; upgrade Triad");
    }
    TRIAD_ASSIGN_OR_RETURN(catalog_, LoadCatalog(db));
    return Status::OK();
  }

  Result<std::unique_ptr<ReadModelTransaction>> BeginWrite() override {
    if (options_.read_only) {
      return FailedPreconditionError("the read-model store " + describe_ + " is open read-only");
    }
    std::unique_lock lock(writer_mu_);
    while (writer_busy_) writer_cv_.wait(lock);
    Connection& db = writer_->db();
    TRIAD_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE").Annotate("starting a read-model write"));
    // Another process may have changed the catalog since we last looked.
    auto stored = ReadCatalogVersion(db);
    std::shared_ptr<const Catalog> catalog = Current();
    if (stored.ok() && *stored != catalog->version) {
      auto loaded = LoadCatalog(db);
      if (loaded.ok()) {
        catalog = *loaded;
        Publish(catalog);
      } else {
        stored = loaded.status();
      }
    }
    if (!stored.ok()) {
      db.Exec("ROLLBACK").IgnoreError();
      return stored.status();
    }
    writer_busy_ = true;
    return std::unique_ptr<ReadModelTransaction>(
        new SqliteReadModelTransaction(*this, *writer_, std::move(catalog)));
  }

  // Called by a transaction's destructor: rolls back unless committed, frees the writer.
  void EndWrite(bool committed) {
    if (!committed && !sqlite3_get_autocommit(writer_->db().db())) {
      writer_->db().Exec("ROLLBACK").IgnoreError();
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
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    return ReadProjections(reader->db());
  }

  Result<DocumentRead> Get(std::string_view storage_name, std::string_view id,
                           std::string_view projection, int32_t version) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    return WithCollection<DocumentRead>(
        *reader, storage_name, [&](const CollectionInfo& info) -> Result<DocumentRead> {
          return ReadDocumentAsOf(reader->db(), info, storage_name, id, projection, version);
        });
  }

  Result<QueryPage> Find(std::string_view storage_name, const Query& query,
                         std::string_view projection, int32_t version) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    // The checkpoint and the page's statements share one read transaction (one snapshot).
    TRIAD_RETURN_IF_ERROR(StepCached(reader->db(), "BEGIN"));
    auto page = WithCollection<QueryPage>(
        *reader, storage_name, [&](const CollectionInfo& info) -> Result<QueryPage> {
          TRIAD_ASSIGN_OR_RETURN(const Position as_of,
                                 ReadCheckpoint(reader->db(), projection, version));
          TRIAD_ASSIGN_OR_RETURN(QueryPage p, ReadPage(*reader, info, storage_name, query));
          p.as_of = as_of;
          return p;
        });
    StepCached(reader->db(), "COMMIT").IgnoreError();  // a read transaction: nothing to lose
    return page;
  }

  Result<CountResult> Count(std::string_view storage_name, const Query& query,
                            std::string_view projection, int32_t version) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    return WithCollection<CountResult>(
        *reader, storage_name, [&](const CollectionInfo& info) -> Result<CountResult> {
          return ReadCount(*reader, info, query, projection, version);
        });
  }

  Result<std::vector<Document>> ScanDocuments(std::string_view storage_name,
                                              std::string_view after_id, size_t limit) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    return WithCollection<std::vector<Document>>(
        *reader, storage_name, [&](const CollectionInfo& info) -> Result<std::vector<Document>> {
          return ReadDocumentsAfter(reader->db(), info, storage_name, after_id, limit);
        });
  }

  Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view projection,
                                                  int32_t version) override {
    TRIAD_ASSIGN_OR_RETURN(auto reader, AcquireReader());
    return ReadDeadLetters(reader->db(), projection, version);
  }

  std::string Describe() const override { return describe_; }

 private:
  using ReaderLease = ConnectionPool<RmConnection>::Lease;
  Result<ReaderLease> AcquireReader() { return readers_.Acquire(); }

  std::shared_ptr<const Catalog> Current() {
    std::lock_guard lock(catalog_mu_);
    return catalog_;
  }

  // Runs `read` on the collection as the current catalog describes it. A catalog changed by
  // another process (or one committed after our snapshot began) shows up as a missing
  // collection or a failed read; then the catalog is reloaded through `reader` and, if the
  // collection's storage differs, `read` runs once more.
  template <typename T, typename Read>
  Result<T> WithCollection(RmConnection& reader, std::string_view storage_name, Read read) {
    std::shared_ptr<const Catalog> catalog = Current();
    std::shared_ptr<const CollectionInfo> info;
    if (auto it = catalog->collections.find(storage_name); it != catalog->collections.end()) {
      info = it->second;
      Result<T> result = read(*info);
      if (result.ok()) return result;
      auto stored = ReadCatalogVersion(reader.db());
      if (!stored.ok() || *stored == catalog->version) return result;
    }
    TRIAD_ASSIGN_OR_RETURN(catalog, LoadCatalog(reader.db()));
    Publish(catalog);
    auto it = catalog->collections.find(storage_name);
    if (it == catalog->collections.end()) {
      return NotFoundError("collection " + Quote(storage_name) + " does not exist");
    }
    return read(*it->second);
  }

  friend class SqliteReadModelTransaction;

  const ReadModelOptions options_;
  const std::string path_;
  const std::string describe_;
  const int reader_flags_;
  bool temporary_ = false;
  std::unique_ptr<RmConnection> writer_;
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  bool writer_busy_ = false;  // guarded by writer_mu_

  std::mutex catalog_mu_;
  std::shared_ptr<const Catalog> catalog_;  // guarded by catalog_mu_

  ConnectionPool<RmConnection> readers_{
      kReaderConnections, [this] { return RmConnection::Open(path_, reader_flags_); }};
};

SqliteReadModelTransaction::~SqliteReadModelTransaction() { Finish(); }

void SqliteReadModelTransaction::Finish() {
  if (!finished_) {
    finished_ = true;
    backend_.EndWrite(committed_);
  }
}

Status SqliteReadModelTransaction::EnsureCollection(std::string_view storage_name,
                                                    const CollectionSpec& spec) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  TRIAD_RETURN_IF_ERROR(ValidateStorageName(storage_name));
  TRIAD_RETURN_IF_ERROR(ValidateCollectionName(spec.name));
  const CollectionInfo* existing = View().Find(storage_name);
  std::vector<IndexSpec> indexes = existing ? existing->indexes : std::vector<IndexSpec>();
  const size_t old_count = indexes.size();
  // Validate everything before the first DDL statement.
  for (const IndexSpec& index : spec.indexes) {
    TRIAD_RETURN_IF_ERROR(ValidateFieldPath(index.field));
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
  if (existing != nullptr && indexes.size() == old_count) return Status::OK();

  // A failure half-way leaves nothing behind: the transaction stays usable.
  const bool had_pending = pending_ != nullptr;
  TRIAD_RETURN_IF_ERROR(StepCached(conn_.db(), "SAVEPOINT ensure_collection"));
  Status s = CreateStorage(storage_name, existing, std::move(indexes), old_count);
  if (s.ok()) return StepCached(conn_.db(), "RELEASE ensure_collection");
  StepCached(conn_.db(), "ROLLBACK TO ensure_collection").IgnoreError();
  StepCached(conn_.db(), "RELEASE ensure_collection").IgnoreError();
  if (!had_pending) pending_.reset();  // its catalog version bump was rolled back too
  return s;
}

Status SqliteReadModelTransaction::CreateStorage(std::string_view storage_name,
                                                 const CollectionInfo* existing,
                                                 std::vector<IndexSpec> indexes, size_t old_count) {
  Connection& db = conn_.db();
  TRIAD_ASSIGN_OR_RETURN(Catalog * catalog, Mutable());
  int64_t id = 0;
  if (existing == nullptr) {
    TRIAD_ASSIGN_OR_RETURN(
        sqlite::Statement * insert,
        db.Prepare("INSERT INTO rm_collections (name, indexes) VALUES (?1, '[]')"));
    insert->Bind(1, storage_name);
    sqlite::ScopedReset reset(insert);
    const int rc = insert->Step();
    if (rc != SQLITE_DONE) {
      return sqlite::ErrorStatus(db.db(), rc, "creating collection " + Quote(storage_name));
    }
    id = sqlite3_last_insert_rowid(db.db());
    TRIAD_RETURN_IF_ERROR(db.Exec("CREATE TABLE rm_c" + std::to_string(id) +
                                  " (id TEXT PRIMARY KEY, body TEXT NOT NULL, position INTEGER "
                                  "NOT NULL, sources TEXT NOT NULL) STRICT, WITHOUT ROWID"));
  } else {
    id = existing->id;
  }
  const std::string table = "rm_c" + std::to_string(id);
  for (size_t i = existing ? old_count : 0; i < indexes.size(); ++i) {
    // CREATE INDEX builds the index from the documents already stored.
    TRIAD_RETURN_IF_ERROR(db.Exec("CREATE INDEX " + table + "_i" + std::to_string(i) + " ON " +
                                  table + " (" +
                                  IndexExpression(indexes[i].field, indexes[i].type) + ", id)"));
  }
  TRIAD_ASSIGN_OR_RETURN(sqlite::Statement * update,
                         db.Prepare("UPDATE rm_collections SET indexes = ?1 WHERE id = ?2"));
  const std::string json = IndexesToJson(indexes);
  update->Bind(1, json);
  update->Bind(2, id);
  sqlite::ScopedReset reset(update);
  const int rc = update->Step();
  if (rc != SQLITE_DONE) return sqlite::ErrorStatus(db.db(), rc, "updating the catalog");
  catalog->collections.insert_or_assign(std::string(storage_name),
                                        MakeCollectionInfo(id, std::move(indexes)));
  return Status::OK();
}

Status SqliteReadModelTransaction::DropCollection(std::string_view storage_name) {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  const CollectionInfo* existing = View().Find(storage_name);
  if (existing == nullptr) return Status::OK();
  const int64_t id = existing->id;
  TRIAD_ASSIGN_OR_RETURN(Catalog * catalog, Mutable());
  Connection& db = conn_.db();
  TRIAD_RETURN_IF_ERROR(db.Exec("DROP TABLE rm_c" + std::to_string(id)));
  TRIAD_RETURN_IF_ERROR(db.Exec("DELETE FROM rm_collections WHERE id = " + std::to_string(id)));
  catalog->collections.erase(catalog->collections.find(storage_name));
  return Status::OK();
}

Status SqliteReadModelTransaction::Commit() {
  TRIAD_RETURN_IF_ERROR(CheckOpen());
  Status s = conn_.db().Exec("COMMIT");
  if (s.ok()) {
    committed_ = true;
    // Published before the writer is freed: the next transaction starts from this catalog.
    if (pending_) backend_.Publish(std::move(pending_));
  }
  Finish();
  return s.Annotate("committing a read-model transaction");
}

Result<std::unique_ptr<ReadModelBackend>> Open(const ReadModelOptions& options,
                                               const std::string& path, std::string describe,
                                               int flags, int reader_flags, bool in_memory) {
  auto writer = RmConnection::Open(path, flags);
  if (!writer.ok()) {
    if (!(flags & SQLITE_OPEN_CREATE) && !in_memory) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        return NotFoundError("read-model store '" + path + "' does not exist");
      }
    }
    return writer.status();
  }
  auto backend = std::make_unique<SqliteReadModel>(options, path, std::move(describe), reader_flags,
                                                   std::move(*writer));
  if (in_memory) backend->SetTemporary();
  if (Status s = backend->Initialize(in_memory); !s.ok()) {
    return s.Annotate("opening read-model store '" + path + "'");
  }
  return std::unique_ptr<ReadModelBackend>(std::move(backend));
}

}  // namespace

Result<std::unique_ptr<ReadModelBackend>> OpenSqliteReadModel(const ReadModelOptions& options,
                                                              std::string_view path) {
  const std::string file(path);
  int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (options.create_if_missing && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  const int reader_flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  return Open(options, file, "sqlite:" + file, flags, reader_flags, /*in_memory=*/false);
}

Result<std::unique_ptr<ReadModelBackend>> OpenMemoryReadModel(const ReadModelOptions& options) {
  // A private WAL file, on a RAM file system when there is one, deleted with the backend: the
  // same engine and the same isolation as a file store (readers never see an open write
  // transaction, and never wait for it), which SQLite's in-memory databases cannot give to
  // several connections at once.
  std::error_code ec;
  std::filesystem::path dir = "/dev/shm";
  if (!std::filesystem::is_directory(dir, ec) || ::access(dir.c_str(), W_OK) != 0) {
    dir = std::filesystem::temp_directory_path(ec);
    if (ec) return UnavailableError("no temporary directory for a memory: read-model store");
  }
  static std::atomic<uint64_t> counter{0};
  const std::string path = (dir / ("triad-readmodel-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(counter.fetch_add(1)) + ".db"))
                               .string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
  // read_only still makes BeginWrite() fail; the new, empty store is created regardless.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  return Open(options, path, "memory:", flags, SQLITE_OPEN_READWRITE, /*in_memory=*/true);
}

}  // namespace triad::internal::readmodel
