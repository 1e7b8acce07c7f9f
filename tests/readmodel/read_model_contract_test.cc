// The contract every ReadModelBackend passes: collections, documents with meta, transactions,
// projection records, dead letters, errors, open modes, and as_of read in one snapshot.
#include "triad/document.h"
#include "triad/read_model_backend.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "read_model_factory.h"

namespace triad::testing {
namespace {

const std::string kAccounts = CollectionStorageName("accounts", 1, "accounts");

CollectionSpec AccountsSpec() {
  return CollectionSpec{
      .name = "accounts",
      .indexes = {{"owner", IndexType::kString}, {"balance", IndexType::kNumber}}};
}

Document Doc(std::string id, std::string body, Position position = 1,
             std::map<std::string, StreamVersion, std::less<>> sources = {}) {
  return Document{.id = std::move(id),
                  .body = std::move(body),
                  .meta = {.projection = "", .position = position, .sources = std::move(sources)}};
}

class ReadModelContract : public ReadModelTest {
 protected:
  // Creates the accounts collection and commits.
  void CreateAccounts() {
    auto txn = rm().BeginWrite();
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->EnsureCollection(kAccounts, AccountsSpec()));
    ASSERT_OK((*txn)->Commit());
  }

  // Puts documents and commits.
  void PutAll(const std::vector<Document>& docs) {
    auto txn = rm().BeginWrite();
    ASSERT_OK(txn);
    for (const Document& d : docs) ASSERT_OK((*txn)->Put(kAccounts, d));
    ASSERT_OK((*txn)->Commit());
  }

  std::vector<std::string> Ids(const QueryPage& page) {
    std::vector<std::string> ids;
    for (const Document& d : page.documents) ids.push_back(d.id);
    return ids;
  }
};

TEST_P(ReadModelContract, PutGetDeleteRoundTripWithMeta) {
  CreateAccounts();
  PutAll({Doc("a-1", R"({"owner":"ann","balance":10})", 7, {{"account-1", 3}, {"bank", 0}})});
  auto read = rm().Get(kAccounts, "a-1", "accounts", 1);
  ASSERT_OK(read);
  ASSERT_TRUE(read->document.has_value());
  EXPECT_EQ(read->document->id, "a-1");
  EXPECT_EQ(read->document->body, R"({"owner":"ann","balance":10})");
  EXPECT_EQ(read->document->meta.projection, "accounts@1");
  EXPECT_EQ(read->document->meta.position, 7);
  const std::map<std::string, StreamVersion, std::less<>> sources{{"account-1", 3}, {"bank", 0}};
  EXPECT_EQ(read->document->meta.sources, sources);
  EXPECT_EQ(read->as_of, 0);  // no projection record yet

  auto missing = rm().Get(kAccounts, "nope", "accounts", 1);
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->document.has_value());

  // Replace, then delete.
  PutAll({Doc("a-1", R"({"owner":"bob"})", 9)});
  read = rm().Get(kAccounts, "a-1", "accounts", 1);
  ASSERT_OK(read);
  ASSERT_TRUE(read->document.has_value());
  EXPECT_EQ(read->document->body, R"({"owner":"bob"})");
  EXPECT_EQ(read->document->meta.position, 9);
  EXPECT_TRUE(read->document->meta.sources.empty());

  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->Delete(kAccounts, "a-1"));
  ASSERT_OK((*txn)->Delete(kAccounts, "never-there"));
  ASSERT_OK((*txn)->Commit());
  read = rm().Get(kAccounts, "a-1", "accounts", 1);
  ASSERT_OK(read);
  EXPECT_FALSE(read->document.has_value());
}

TEST_P(ReadModelContract, EnsureCollectionIsIdempotentAndIndexesExistingDocuments) {
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->EnsureCollection(kAccounts, {.name = "accounts", .indexes = {}}));
  ASSERT_OK((*txn)->EnsureCollection(kAccounts, {.name = "accounts", .indexes = {}}));
  ASSERT_OK((*txn)->Put(kAccounts, Doc("a", R"({"owner":"ann"})")));
  ASSERT_OK((*txn)->Put(kAccounts, Doc("b", R"({"owner":"bob"})")));
  ASSERT_OK((*txn)->Commit());

  Query q{.filters = {{.field = "owner", .op = FilterOp::kEq, .values = {std::string("bob")}}}};
  EXPECT_ERROR_CODE(rm().Find(kAccounts, q, "accounts", 1), kInvalidArgument);

  // The index added later covers the documents already stored.
  CreateAccounts();
  CreateAccounts();  // idempotent
  auto page = rm().Find(kAccounts, q, "accounts", 1);
  ASSERT_OK(page);
  EXPECT_EQ(Ids(*page), std::vector<std::string>{"b"});
}

TEST_P(ReadModelContract, TransactionSeesOwnWritesAndReadersDoNot) {
  CreateAccounts();
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->Put(kAccounts, Doc("a", R"({"owner":"ann","balance":5})", 3)));
  auto own = (*txn)->Get(kAccounts, "a");
  ASSERT_OK(own);
  ASSERT_TRUE(own->has_value());
  EXPECT_EQ((*own)->meta.position, 3);
  auto found = (*txn)->Find(
      kAccounts,
      {.filters = {{.field = "owner", .op = FilterOp::kEq, .values = {std::string("ann")}}}});
  ASSERT_OK(found);
  EXPECT_EQ(Ids(*found), std::vector<std::string>{"a"});
  // Another reader does not see the uncommitted write.
  auto outside = rm().Get(kAccounts, "a", "accounts", 1);
  ASSERT_OK(outside);
  EXPECT_FALSE(outside->document.has_value());
  ASSERT_OK((*txn)->Commit());
  outside = rm().Get(kAccounts, "a", "accounts", 1);
  ASSERT_OK(outside);
  EXPECT_TRUE(outside->document.has_value());
}

TEST_P(ReadModelContract, DestroyWithoutCommitRollsBack) {
  CreateAccounts();
  {
    auto txn = rm().BeginWrite();
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->Put(kAccounts, Doc("a", "{}")));
    ASSERT_OK((*txn)->EnsureCollection("other@1/things", {.name = "things", .indexes = {}}));
    ASSERT_OK((*txn)->PutProjection({.name = "accounts", .version = 1, .checkpoint = 5}));
  }
  auto read = rm().Get(kAccounts, "a", "accounts", 1);
  ASSERT_OK(read);
  EXPECT_FALSE(read->document.has_value());
  EXPECT_EQ(read->as_of, 0);
  EXPECT_ERROR_CODE(rm().Get("other@1/things", "a", "other", 1), kNotFound);
  auto records = rm().ListProjections();
  ASSERT_OK(records);
  EXPECT_TRUE(records->empty());
  // The next transaction starts cleanly and does not see the rolled-back collection.
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  EXPECT_ERROR_CODE((*txn)->Put("other@1/things", Doc("x", "{}")), kNotFound);
}

TEST_P(ReadModelContract, CommitIsDurableAcrossReopen) {
  if (!GetParam().durable) GTEST_SKIP() << "memory stores do not survive reopening";
  CreateAccounts();
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->Put(kAccounts, Doc("a", R"({"owner":"ann"})", 4, {{"s", 1}})));
  ASSERT_OK((*txn)->PutProjection({.name = "accounts", .version = 1, .checkpoint = 4}));
  ASSERT_OK((*txn)->Commit());
  // A committed transaction is over: it no longer holds the writer.
  EXPECT_ERROR_CODE((*txn)->Put(kAccounts, Doc("b", "{}")), kFailedPrecondition);
  EXPECT_ERROR_CODE((*txn)->Commit(), kFailedPrecondition);
  auto next = rm().BeginWrite();
  ASSERT_OK(next);
  next = Result<std::unique_ptr<ReadModelTransaction>>(InternalError("released"));
  ASSERT_OK(Reopen());
  auto read = rm().Get(kAccounts, "a", "accounts", 1);
  ASSERT_OK(read);
  ASSERT_TRUE(read->document.has_value());
  EXPECT_EQ(read->document->meta.position, 4);
  EXPECT_EQ(read->as_of, 4);
  auto page = rm().Find(
      kAccounts,
      {.filters = {{.field = "owner", .op = FilterOp::kEq, .values = {std::string("ann")}}}},
      "accounts", 1);
  ASSERT_OK(page);
  EXPECT_EQ(Ids(*page), std::vector<std::string>{"a"});
}

TEST_P(ReadModelContract, ProjectionRecordsRoundTripEveryField) {
  ProjectionRecord r{
      .name = "accounts",
      .version = 2,
      .checkpoint = 123,
      .serving = true,
      .paused = true,
      .faulted = true,
      .retired = true,
      .stop_at = 456,
      .last_tick_us = 1'700'000'000'000'001,
      .last_error = "boom \"quoted\"",
      .last_error_position = 99,
      .collections = {AccountsSpec(), {.name = "totals", .indexes = {{"ok", IndexType::kBool}}}}};
  ProjectionRecord other{.name = "aaa", .version = 1};
  ProjectionRecord r1{.name = "accounts", .version = 1};
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->PutProjection(r));
  ASSERT_OK((*txn)->PutProjection(other));
  ASSERT_OK((*txn)->PutProjection(r1));
  auto got = (*txn)->GetProjection("accounts", 2);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  ASSERT_OK((*txn)->Commit());

  auto list = rm().ListProjections();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "aaa");
  EXPECT_EQ((*list)[1].version, 1);
  const ProjectionRecord& g = (*list)[2];
  EXPECT_EQ(g.name, r.name);
  EXPECT_EQ(g.version, r.version);
  EXPECT_EQ(g.checkpoint, r.checkpoint);
  EXPECT_EQ(g.serving, r.serving);
  EXPECT_EQ(g.paused, r.paused);
  EXPECT_EQ(g.faulted, r.faulted);
  EXPECT_EQ(g.retired, r.retired);
  EXPECT_EQ(g.stop_at, r.stop_at);
  EXPECT_EQ(g.last_tick_us, r.last_tick_us);
  EXPECT_EQ(g.last_error, r.last_error);
  EXPECT_EQ(g.last_error_position, r.last_error_position);
  ASSERT_EQ(g.collections.size(), 2u);
  EXPECT_EQ(g.collections[0].name, "accounts");
  ASSERT_EQ(g.collections[0].indexes.size(), 2u);
  EXPECT_EQ(g.collections[0].indexes[1].field, "balance");
  EXPECT_EQ(g.collections[0].indexes[1].type, IndexType::kNumber);
  EXPECT_EQ(g.collections[1].indexes[0].type, IndexType::kBool);

  txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->DeleteProjection("accounts", 2));
  auto gone = (*txn)->GetProjection("accounts", 2);
  ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
  ASSERT_OK((*txn)->Commit());
  list = rm().ListProjections();
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 2u);
}

TEST_P(ReadModelContract, DeadLettersPutListDelete) {
  auto letter = [](Position p, DeadLetterKind kind) {
    return DeadLetter{.projection = "accounts",
                      .version = 1,
                      .position = p,
                      .stream = "account-" + std::to_string(p),
                      .stream_version = p + 1,
                      .event_type = "Deposited",
                      .error = "bad amount",
                      .kind = kind,
                      .recorded_at_us = 1000 + p,
                      .attempts = 1};
  };
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->PutDeadLetter(letter(9, DeadLetterKind::kParked)));
  ASSERT_OK((*txn)->PutDeadLetter(letter(3, DeadLetterKind::kSkipped)));
  ASSERT_OK((*txn)->PutDeadLetter(letter(5, DeadLetterKind::kParked)));
  DeadLetter other = letter(1, DeadLetterKind::kParked);
  other.version = 2;
  ASSERT_OK((*txn)->PutDeadLetter(other));
  DeadLetter replaced = letter(9, DeadLetterKind::kParked);
  replaced.attempts = 2;
  replaced.error = "still bad";
  ASSERT_OK((*txn)->PutDeadLetter(replaced));
  ASSERT_OK((*txn)->Commit());

  auto list = rm().ListDeadLetters("accounts", 1);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].position, 3);
  EXPECT_EQ((*list)[0].kind, DeadLetterKind::kSkipped);
  EXPECT_EQ((*list)[0].stream, "account-3");
  EXPECT_EQ((*list)[0].stream_version, 4);
  EXPECT_EQ((*list)[0].event_type, "Deposited");
  EXPECT_EQ((*list)[0].error, "bad amount");
  EXPECT_EQ((*list)[0].recorded_at_us, 1003);
  EXPECT_EQ((*list)[1].position, 5);
  EXPECT_EQ((*list)[2].position, 9);
  EXPECT_EQ((*list)[2].attempts, 2);
  EXPECT_EQ((*list)[2].error, "still bad");

  txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->DeleteDeadLetter("accounts", 1, 5));
  ASSERT_OK((*txn)->Commit());
  list = rm().ListDeadLetters("accounts", 1);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].position, 9);

  txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->DeleteDeadLetters("accounts", 1));
  ASSERT_OK((*txn)->Commit());
  list = rm().ListDeadLetters("accounts", 1);
  ASSERT_OK(list);
  EXPECT_TRUE(list->empty());
  list = rm().ListDeadLetters("accounts", 2);
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
}

TEST_P(ReadModelContract, DropCollection) {
  CreateAccounts();
  PutAll({Doc("a", R"({"owner":"ann"})")});
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->DropCollection(kAccounts));
  ASSERT_OK((*txn)->DropCollection(kAccounts));  // missing is fine
  ASSERT_OK((*txn)->DropCollection("never@1/existed"));
  EXPECT_ERROR_CODE((*txn)->Get(kAccounts, "a"), kNotFound);
  ASSERT_OK((*txn)->Commit());
  EXPECT_ERROR_CODE(rm().Get(kAccounts, "a", "accounts", 1), kNotFound);
  EXPECT_ERROR_CODE(rm().Find(kAccounts, {}, "accounts", 1), kNotFound);
  EXPECT_ERROR_CODE(rm().Count(kAccounts, {}, "accounts", 1), kNotFound);
  EXPECT_ERROR_CODE(rm().ScanDocuments(kAccounts, "", 10), kNotFound);
  // Recreated: empty, with fresh storage.
  CreateAccounts();
  auto read = rm().Get(kAccounts, "a", "accounts", 1);
  ASSERT_OK(read);
  EXPECT_FALSE(read->document.has_value());
}

TEST_P(ReadModelContract, ScanDocumentsInIdOrder) {
  CreateAccounts();
  PutAll({Doc("c", "{}"), Doc("a", "{}"), Doc("b", R"({"x":1})", 2, {{"s", 5}}), Doc("d", "{}")});
  auto first = rm().ScanDocuments(kAccounts, "", 2);
  ASSERT_OK(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, "a");
  EXPECT_EQ((*first)[1].id, "b");
  EXPECT_EQ((*first)[1].meta.sources.at("s"), 5);
  auto rest = rm().ScanDocuments(kAccounts, "b", 10);
  ASSERT_OK(rest);
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].id, "c");
  EXPECT_EQ((*rest)[1].id, "d");
}

TEST_P(ReadModelContract, ErrorsNameWhatWasWrong) {
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  auto& t = **txn;
  Status s = t.Put("missing@1/c", Doc("a", "{}"));
  EXPECT_ERROR_CODE(s, kNotFound);
  EXPECT_NE(s.message().find("missing@1/c"), std::string::npos) << s.message();
  EXPECT_ERROR_CODE(t.Get("missing@1/c", "a"), kNotFound);
  ASSERT_OK(t.EnsureCollection(kAccounts, AccountsSpec()));
  EXPECT_ERROR_CODE(t.Put(kAccounts, Doc("", "{}")), kInvalidArgument);
  EXPECT_ERROR_CODE(t.Put(kAccounts, Doc(std::string(513, 'x'), "{}")), kInvalidArgument);
  ASSERT_OK(t.Put(kAccounts, Doc(std::string(512, 'x'), "{}")));
  EXPECT_ERROR_CODE(t.Put(kAccounts, Doc("a", "[1,2]")), kInvalidArgument);
  EXPECT_ERROR_CODE(t.Put(kAccounts, Doc("a", "{\"a\":")), kInvalidArgument);
  EXPECT_ERROR_CODE(t.Put(kAccounts, Doc("a", "\"text\"")), kInvalidArgument);
  // Bad names and field paths.
  EXPECT_ERROR_CODE(t.EnsureCollection("x@1/Bad", {.name = "Bad", .indexes = {}}),
                    kInvalidArgument);
  EXPECT_ERROR_CODE(t.EnsureCollection("x@1/c", {.name = "", .indexes = {}}), kInvalidArgument);
  for (const char* field : {"", "a..b", ".a", "a.", "a-b", "a b", "a'b"}) {
    s = t.EnsureCollection("x@1/c", {.name = "c", .indexes = {{field, IndexType::kString}}});
    EXPECT_ERROR_CODE(s, kInvalidArgument) << field;
  }
  s = t.EnsureCollection("x@1/c",
                         {.name = "c", .indexes = {{std::string(65, 'a'), IndexType::kString}}});
  EXPECT_ERROR_CODE(s, kInvalidArgument);
  // Conflicting index types, within one spec and against an existing index.
  s = t.EnsureCollection(
      "x@1/c", {.name = "c", .indexes = {{"f", IndexType::kString}, {"f", IndexType::kBool}}});
  EXPECT_ERROR_CODE(s, kInvalidArgument);
  EXPECT_NE(s.message().find("'f'"), std::string::npos) << s.message();
  s = t.EnsureCollection(kAccounts,
                         {.name = "accounts", .indexes = {{"balance", IndexType::kString}}});
  EXPECT_ERROR_CODE(s, kInvalidArgument);
  EXPECT_NE(s.message().find("balance"), std::string::npos) << s.message();
  // Nothing half-made: the refused collection does not exist.
  EXPECT_ERROR_CODE(t.Get("x@1/c", "a"), kNotFound);
  ASSERT_OK(t.Commit());
}

TEST_P(ReadModelContract, AsOfIsTheCheckpointCommittedWithTheDocuments) {
  CreateAccounts();
  for (Position p = 1; p <= 3; ++p) {
    auto txn = rm().BeginWrite();
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->Put(kAccounts,
                          Doc("a", R"({"owner":"ann","balance":)" + std::to_string(p) + "}", p)));
    ASSERT_OK((*txn)->PutProjection({.name = "accounts", .version = 1, .checkpoint = p * 10}));
    ASSERT_OK((*txn)->Commit());

    auto read = rm().Get(kAccounts, "a", "accounts", 1);
    ASSERT_OK(read);
    EXPECT_EQ(read->as_of, p * 10);
    EXPECT_EQ(read->document->meta.position, p);
    Query q{.filters = {{.field = "owner", .op = FilterOp::kEq, .values = {std::string("ann")}}}};
    auto page = rm().Find(kAccounts, q, "accounts", 1);
    ASSERT_OK(page);
    EXPECT_EQ(page->as_of, p * 10);
    ASSERT_EQ(page->documents.size(), 1u);
    EXPECT_EQ(page->documents[0].meta.position, p);
    auto count = rm().Count(kAccounts, q, "accounts", 1);
    ASSERT_OK(count);
    EXPECT_EQ(count->as_of, p * 10);
    EXPECT_EQ(count->count, 1);
    // Another version's checkpoint is not this one's.
    auto v2 = rm().Get(kAccounts, "a", "accounts", 2);
    ASSERT_OK(v2);
    EXPECT_EQ(v2->as_of, 0);
  }
}

TEST_P(ReadModelContract, DocumentToJsonIsExact) {
  EXPECT_EQ(
      DocumentToJson(Document{
          .id = "a", .body = "{}", .meta = {.projection = "p@1", .position = 5, .sources = {}}}),
      R"({"_meta":{"id":"a","projection":"p@1","position":5,"sources":{}}})");
  EXPECT_EQ(
      DocumentToJson(Document{
          .id = "a", .body = " { } ", .meta = {.projection = "p@1", .position = 0, .sources = {}}}),
      R"( { "_meta":{"id":"a","projection":"p@1","position":0,"sources":{}}})");
  EXPECT_EQ(DocumentToJson(Document{.id = "a\"b",
                                    .body = R"({"a":{"b":[1,{"c":"}"}]}})",
                                    .meta = {.projection = "acc@2",
                                             .position = 42,
                                             .sources = {{"account-1", 3}, {"q\"x\\y\n", 0}}}}),
            R"({"a":{"b":[1,{"c":"}"}]},"_meta":{"id":"a\"b","projection":"acc@2","position":42,)"
            R"("sources":{"account-1":3,"q\"x\\y\n":0}}})");
  EXPECT_EQ(DocumentMetaToJson({.projection = "p@1", .position = 1, .sources = {{"\x01", 2}}}),
            R"({"projection":"p@1","position":1,"sources":{"\u0001":2}})");
}

TEST_P(ReadModelContract, ReadOnlyRefusesWrites) {
  CreateAccounts();
  PutAll({Doc("a", R"({"owner":"ann"})")});
  if (!GetParam().durable) {
    options_.read_only = true;
    ASSERT_OK(Reopen());
    EXPECT_ERROR_CODE(rm().BeginWrite(), kFailedPrecondition);
    return;
  }
  options_.read_only = true;
  ASSERT_OK(Reopen());
  EXPECT_ERROR_CODE(rm().BeginWrite(), kFailedPrecondition);
  auto read = rm().Get(kAccounts, "a", "accounts", 1);
  ASSERT_OK(read);
  EXPECT_TRUE(read->document.has_value());
}

TEST_P(ReadModelContract, CreateIfMissingFalseOnMissingFile) {
  if (!GetParam().sqlite) GTEST_SKIP() << "only files can be missing";
  rm_.reset();
  ReadModelOptions o;
  o.create_if_missing = false;
  const std::string path = (dir_.path() / "absent.readmodel").string();
  EXPECT_ERROR_CODE(OpenReadModelBackend(o, "sqlite:" + path), kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path));
  o.read_only = true;
  EXPECT_ERROR_CODE(OpenReadModelBackend(o, path), kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_P(ReadModelContract, ForeignSqliteFileIsRefusedAndUntouched) {
  if (!GetParam().sqlite) GTEST_SKIP() << "files only";
  const std::string path = (dir_.path() / "foreign.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  const auto size = std::filesystem::file_size(path);
  std::ifstream in(path, std::ios::binary);
  const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();

  auto opened = OpenReadModelBackend({}, "sqlite:" + path);
  EXPECT_ERROR_CODE(opened, kDataLoss);
  EXPECT_EQ(std::filesystem::file_size(path), size);
  std::ifstream again(path, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(again)),
                          std::istreambuf_iterator<char>());
  EXPECT_EQ(before, after);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST_P(ReadModelContract, UrisAndNames) {
  EXPECT_EQ(CollectionStorageName("accounts", 3, "by_owner"), "accounts@3/by_owner");
  EXPECT_EQ(DefaultReadModelUri("sqlite:/var/x/triad.db"), "sqlite:/var/x/triad.db.readmodel");
  EXPECT_EQ(DefaultReadModelUri("/var/x/triad.db"), "sqlite:/var/x/triad.db.readmodel");
  EXPECT_EQ(DefaultReadModelUri("memory:"), "memory:");
  EXPECT_ERROR_CODE(OpenReadModelBackend({}, "bogus://x"), kInvalidArgument);
  EXPECT_ERROR_CODE(OpenReadModelBackend({}, "sqlite:"), kInvalidArgument);
  EXPECT_EQ(rm().Describe(), ExpectedDescribe());
  EXPECT_EQ(IndexTypeName(IndexType::kBool), "bool");
  EXPECT_EQ(FilterOpName(FilterOp::kPrefix), "prefix");
}

TEST_P(ReadModelContract, TwoMemoryStoresAreSeparate) {
  auto other = OpenReadModelBackend({}, "memory:");
  ASSERT_OK(other);
  CreateAccounts();
  EXPECT_ERROR_CODE((*other)->Get(kAccounts, "a", "accounts", 1), kNotFound);
}

// Readers racing a writer always see a document and the checkpoint committed with it together.
TEST_P(ReadModelContract, ConcurrentReadersSeeDocumentsAndCheckpointTogether) {
  CreateAccounts();
  constexpr Position kCommits = 150;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> stopped{0};  // readers that returned on a failure
  std::vector<std::thread> readers;
  std::vector<std::string> failures(3);
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      Query q{.filters = {{.field = "owner", .op = FilterOp::kEq, .values = {std::string("ann")}}}};
      while (!done.load()) {
        auto read = rm().Get(kAccounts, "a", "accounts", 1);
        auto page = rm().Find(kAccounts, q, "accounts", 1);
        auto count = rm().Count(kAccounts, q, "accounts", 1);
        if (!read.ok() || !page.ok() || !count.ok()) {
          failures[t] = "read failed";
          stopped.fetch_add(1);
          return;
        }
        const Position doc = read->document ? read->document->meta.position : 0;
        const Position found = page->documents.empty() ? 0 : page->documents[0].meta.position;
        if (doc != read->as_of || found != page->as_of || count->count != (count->as_of > 0)) {
          failures[t] = "as_of " + std::to_string(read->as_of) + " with document at " +
                        std::to_string(doc) + "; find as_of " + std::to_string(page->as_of) +
                        " with " + std::to_string(found);
          stopped.fetch_add(1);
          return;
        }
        reads.fetch_add(1);
      }
    });
  }
  for (Position p = 1; p <= kCommits; ++p) {
    auto txn = rm().BeginWrite();
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->Put(kAccounts, Doc("a", R"({"owner":"ann"})", p)));
    ASSERT_OK((*txn)->PutProjection({.name = "accounts", .version = 1, .checkpoint = p}));
    ASSERT_OK((*txn)->Commit());
  }
  // Let the readers observe the final state at least once each.
  const int before = reads.load();
  while (reads.load() < before + 10 && stopped.load() == 0) std::this_thread::yield();
  done = true;
  for (auto& r : readers) r.join();
  for (const std::string& f : failures) EXPECT_EQ(f, "");
  EXPECT_GT(reads.load(), 10);
}

// BeginWrite() blocks while another transaction is open, then proceeds.
TEST_P(ReadModelContract, BeginWriteWaitsForTheOpenTransaction) {
  CreateAccounts();
  auto first = rm().BeginWrite();
  ASSERT_OK(first);
  std::atomic<bool> second_started{false};
  std::thread other([&] {
    auto second = rm().BeginWrite();
    second_started = true;
    ASSERT_OK(second);
    // It sees what the first committed.
    auto got = (*second)->Get(kAccounts, "a");
    ASSERT_OK(got);
    EXPECT_TRUE(got->has_value());
    ASSERT_OK((*second)->Commit());
  });
  ASSERT_OK((*first)->Put(kAccounts, Doc("a", "{}")));
  EXPECT_FALSE(second_started.load());
  ASSERT_OK((*first)->Commit());
  other.join();
  EXPECT_TRUE(second_started.load());
}

// A second handle on the same store sees collections another handle created, dropped and
// re-created after it loaded its catalog.
TEST_P(ReadModelContract, CatalogChangesFromAnotherHandleAreSeen) {
  if (!GetParam().durable) GTEST_SKIP() << "a memory store has one handle";
  auto other = OpenReadModelBackend(options_, Uri());
  ASSERT_OK(other);
  EXPECT_ERROR_CODE((*other)->Get(kAccounts, "a", "accounts", 1), kNotFound);
  CreateAccounts();
  PutAll({Doc("a", R"({"owner":"ann","balance":1})")});
  auto read = (*other)->Get(kAccounts, "a", "accounts", 1);
  ASSERT_OK(read);
  EXPECT_TRUE(read->document.has_value());
  // Dropped and re-created with another index: the other handle's old table is gone.
  auto txn = rm().BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->DropCollection(kAccounts));
  ASSERT_OK((*txn)->EnsureCollection(
      kAccounts, {.name = "accounts", .indexes = {{"branch", IndexType::kString}}}));
  ASSERT_OK((*txn)->Put(kAccounts, Doc("b", R"({"branch":"x"})")));
  ASSERT_OK((*txn)->Commit());
  read = (*other)->Get(kAccounts, "b", "accounts", 1);
  ASSERT_OK(read);
  EXPECT_TRUE(read->document.has_value());
  Query q{.filters = {{.field = "branch", .op = FilterOp::kEq, .values = {std::string("x")}}}};
  auto page = (*other)->Find(kAccounts, q, "accounts", 1);
  ASSERT_OK(page);
  EXPECT_EQ(Ids(*page), std::vector<std::string>{"b"});
  // Its writes start from the current catalog too.
  auto txn2 = (*other)->BeginWrite();
  ASSERT_OK(txn2);
  ASSERT_OK((*txn2)->Put(kAccounts, Doc("c", R"({"branch":"x"})")));
  ASSERT_OK((*txn2)->Commit());
  auto count = rm().Count(kAccounts, q, "accounts", 1);
  ASSERT_OK(count);
  EXPECT_EQ(count->count, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReadModelContract, ::testing::ValuesIn(AllReadModelBackends()),
                         ReadModelName);

}  // namespace
}  // namespace triad::testing
