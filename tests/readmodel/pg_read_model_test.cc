// What only the PostgreSQL read model has to show: several backend objects (nodes) on one schema
// changing the catalog concurrently, migrations refusing a newer database, reads surviving dead
// pooled connections, and indexed queries planned as index scans. Skipped without
// TRIAD_TEST_POSTGRES (testing/pg_test_env.h).
#include "testing/pg_test_env.h"
#include "testing/test_util.h"

#include "triad/read_model_backend.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "postgres/pg_connection.h"
#include "postgres/pg_rm_sql.h"
#include "postgres/pg_uri.h"
#include "readmodel/catalog.h"
#include "readmodel/query_sql.h"

namespace triad::testing {
namespace {

namespace pg = internal::pg;

const std::string kAccounts = CollectionStorageName("accounts", 1, "accounts");

Document Doc(std::string id, std::string body, Position position = 1) {
  return Document{.id = std::move(id), .body = std::move(body), .meta = {.position = position}};
}

class PgReadModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresTestUrl()) GTEST_SKIP() << "TRIAD_TEST_POSTGRES is not set";
    uri_ = FreshPostgresUri(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (!uri_.empty()) DropPostgresSchema(uri_);
  }

  // A direct connection to the test's schema, for what the API does not show.
  std::unique_ptr<pg::PgConnection> Admin() {
    auto target = pg::ParsePostgresUri(uri_);
    EXPECT_OK(target);
    auto conn = pg::PgConnection::Open(*target, /*create_schema=*/false);
    EXPECT_OK(conn);
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  std::unique_ptr<ReadModelBackend> OpenOrDie(const ReadModelOptions& options = {}) {
    auto opened = OpenReadModelBackend(options, uri_);
    EXPECT_OK(opened);
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  std::string uri_;
};

TEST_F(PgReadModelTest, MissingStoreIsNotFoundWithoutCreating) {
  ReadModelOptions options;
  options.create_if_missing = false;
  EXPECT_ERROR_CODE(OpenReadModelBackend(options, uri_), kNotFound);
  options.read_only = true;
  EXPECT_ERROR_CODE(OpenReadModelBackend(options, uri_), kNotFound);
  // The schema exists but holds no read model (an event store's schema, say).
  OpenOrDie().reset();
  auto admin = Admin();
  ASSERT_NE(admin, nullptr);
  ASSERT_OK(
      admin->Exec("DROP TABLE rm_meta, rm_collections, rm_projections, rm_dead_letters; "
                  "DELETE FROM schema_versions WHERE component = 'readmodel'"));
  options.read_only = false;
  EXPECT_ERROR_CODE(OpenReadModelBackend(options, uri_), kNotFound);
}

TEST_F(PgReadModelTest, NewerSchemaIsRefused) {
  OpenOrDie().reset();
  auto admin = Admin();
  ASSERT_NE(admin, nullptr);
  ASSERT_OK(admin->Exec("UPDATE schema_versions SET version = 99 WHERE component = 'readmodel'"));
  auto opened = OpenReadModelBackend({}, uri_);
  EXPECT_ERROR_CODE(opened, kDataLoss);
  ReadModelOptions read_only;
  read_only.read_only = true;
  EXPECT_ERROR_CODE(OpenReadModelBackend(read_only, uri_), kDataLoss);
}

// Two nodes add the same new collection at once, each with another index: the second waits for
// the first's catalog lock, then builds on what it committed; both indexes end up usable on
// both nodes.
TEST_F(PgReadModelTest, ConcurrentCatalogChangesFromTwoNodesSerialize) {
  auto a = OpenOrDie();
  auto b = OpenOrDie();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto first = a->BeginWrite();
  ASSERT_OK(first);
  ASSERT_OK((*first)->EnsureCollection(
      kAccounts, {.name = "accounts", .indexes = {{"owner", IndexType::kString}}}));
  ASSERT_OK((*first)->Put(kAccounts, Doc("a", R"({"owner":"ann","balance":5})")));
  std::atomic<bool> second_done{false};
  std::thread other([&] {
    auto second = b->BeginWrite();
    ASSERT_OK(second);
    ASSERT_OK((*second)->EnsureCollection(
        kAccounts, {.name = "accounts", .indexes = {{"balance", IndexType::kNumber}}}));
    ASSERT_OK((*second)->Put(kAccounts, Doc("b", R"({"owner":"bob","balance":7})")));
    ASSERT_OK((*second)->Commit());
    second_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(second_done.load());  // waiting for the first node's catalog lock
  ASSERT_OK((*first)->Commit());
  other.join();
  ASSERT_TRUE(second_done.load());
  for (ReadModelBackend* node : {a.get(), b.get()}) {
    Query by_owner{.filters = {{.field = "owner", .op = FilterOp::kEq, .values = {"bob"}}}};
    auto page = node->Find(kAccounts, by_owner, "accounts", 1);
    ASSERT_OK(page);
    ASSERT_EQ(page->documents.size(), 1u);
    EXPECT_EQ(page->documents[0].id, "b");
    Query by_balance{.filters = {{.field = "balance", .op = FilterOp::kLt, .values = {6.0}}}};
    page = node->Find(kAccounts, by_balance, "accounts", 1);
    ASSERT_OK(page);
    ASSERT_EQ(page->documents.size(), 1u);
    EXPECT_EQ(page->documents[0].id, "a");
  }
}

// After a server restart every pooled connection is dead; the next read still succeeds (on a new
// connection), and so does the next write.
TEST_F(PgReadModelTest, ReadsAndWritesSurviveKilledConnections) {
  const std::string app = "triad_rm_kill_" + std::to_string(::getpid());
  uri_ = WithApplicationName(uri_, app);
  auto rm = OpenOrDie();
  ASSERT_NE(rm, nullptr);
  auto txn = rm->BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->EnsureCollection(kAccounts, {.name = "accounts"}));
  ASSERT_OK((*txn)->Put(kAccounts, Doc("a", "{}")));
  ASSERT_OK((*txn)->Commit());
  ASSERT_OK(rm->Get(kAccounts, "a", "accounts", 1));   // a pooled reader now exists
  ASSERT_GE(TerminatePostgresSessions(uri_, app), 2);  // the writer and the reader
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto read = rm->Get(kAccounts, "a", "accounts", 1);
  ASSERT_OK(read);
  EXPECT_TRUE(read->document.has_value());
  auto again = rm->BeginWrite();
  ASSERT_OK(again);
  ASSERT_OK((*again)->Put(kAccounts, Doc("b", "{}")));
  ASSERT_OK((*again)->Commit());
}

// On a collection of 10,000 documents, indexed filters and orders are index scans: the plans of
// the statements the store runs (built by the same functions) never read the table sequentially.
TEST_F(PgReadModelTest, IndexedQueriesAreIndexScans) {
  auto rm = OpenOrDie();
  ASSERT_NE(rm, nullptr);
  auto txn = rm->BeginWrite();
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->EnsureCollection(kAccounts, {.name = "accounts",
                                                 .indexes = {{"owner", IndexType::kString},
                                                             {"balance", IndexType::kNumber},
                                                             {"open", IndexType::kBool}}}));
  for (int i = 0; i < 10000; ++i) {
    const std::string body = R"({"owner":"o)" + std::to_string(i % 1000) + R"(","balance":)" +
                             std::to_string(i) + R"(,"open":)" + (i % 2 ? "true" : "false") + "}";
    ASSERT_OK((*txn)->Put(kAccounts, Doc("d" + std::to_string(i), body)));
  }
  ASSERT_OK((*txn)->Commit());
  auto admin = Admin();
  ASSERT_NE(admin, nullptr);
  auto row = admin->Query("SELECT id, indexes FROM rm_collections");
  ASSERT_OK(row);
  ASSERT_EQ(row->rows(), 1);
  auto indexes = internal::readmodel::IndexesFromJson(row->Text(0, 1));
  ASSERT_OK(indexes);
  const auto info = internal::readmodel::MakeCollectionInfo(row->Int(0, 0), *indexes);
  ASSERT_OK(admin->Exec("ANALYZE " + info->table));

  struct Case {
    Query query;
    // A selective filter or an order must read the field's own index; a filter matching half of
    // the documents may as well read the primary key in id order, stopping at the limit.
    bool field_index = true;
  };
  const std::vector<Case> cases = {
      {{.filters = {{.field = "owner", .op = FilterOp::kEq, .values = {"o7"}}}}},
      {{.filters = {{.field = "owner", .op = FilterOp::kPrefix, .values = {"o99"}}}}},
      {{.filters = {{.field = "balance", .op = FilterOp::kGe, .values = {9990.0}}}}},
      {{.filters = {{.field = "owner", .op = FilterOp::kIn, .values = {"o1", "o2"}}},
        .order_by = "balance"}},
      {{.order_by = "balance", .order = SortOrder::kDescending, .limit = 20}},
      {{.filters = {{.field = "open", .op = FilterOp::kEq, .values = {true}}},
        .order_by = "open",
        .limit = 10},
       false},
  };
  for (const auto& [query, field_index] : cases) {
    auto plan = internal::readmodel::PlanQuery(*info, query, pg::kPgDialect);
    ASSERT_OK(plan);
    auto statements = internal::readmodel::PageStatements(*info, *plan, "");
    ASSERT_OK(statements);
    for (const auto& bound : *statements) {
      pg::PgParams params;
      pg::AppendParams(bound.params, params);
      params.Int(static_cast<int64_t>(query.limit + 1));
      auto explained = admin->Query("EXPLAIN " + pg::DollarPlaceholders(bound.sql), params);
      ASSERT_OK(explained);
      std::string text;
      for (int i = 0; i < explained->rows(); ++i) text += std::string(explained->Text(i, 0)) + "\n";
      EXPECT_EQ(text.find("Seq Scan"), std::string::npos) << bound.sql << "\n" << text;
      if (field_index) {
        EXPECT_NE(text.find(info->table + "_i"), std::string::npos) << bound.sql << "\n" << text;
      }
    }
  }
}

}  // namespace
}  // namespace triad::testing
