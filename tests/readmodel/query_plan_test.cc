// The SQL of indexed queries uses the indexes: EXPLAIN QUERY PLAN on the statements the store
// runs (built by the same internal functions) must search an index, never scan the table, and
// never sort when the order is an index's order.
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include "triad/read_model_backend.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "readmodel/catalog.h"
#include "readmodel/cursor.h"
#include "readmodel/query_sql.h"

namespace triad::testing {
namespace {

using internal::readmodel::BoundSql;
using internal::readmodel::CollectionInfo;
using internal::readmodel::IndexesFromJson;
using internal::readmodel::MakeCollectionInfo;
using internal::readmodel::PageStatements;
using internal::readmodel::PlanQuery;

class QueryPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = (dir_.path() / "plan.readmodel").string();
    auto rm = OpenReadModelBackend({}, "sqlite:" + path);
    ASSERT_OK(rm);
    auto txn = (*rm)->BeginWrite();
    ASSERT_OK(txn);
    ASSERT_OK(
        (*txn)->EnsureCollection("p@1/c", {.name = "c",
                                           .indexes = {{"owner", IndexType::kString},
                                                       {"balance", IndexType::kNumber},
                                                       {"open", IndexType::kBool},
                                                       {"address.city", IndexType::kString}}}));
    for (int i = 0; i < 200; ++i) {
      ASSERT_OK((*txn)->Put(
          "p@1/c", Document{.id = "d" + std::to_string(i),
                            .body = R"({"owner":"o)" + std::to_string(i % 50) + R"(","balance":)" +
                                    std::to_string(i) + R"(,"open":)" + (i % 2 ? "true" : "false") +
                                    R"(,"address":{"city":"c)" + std::to_string(i % 7) + R"("}})",
                            .meta = {}}));
    }
    ASSERT_OK((*txn)->Commit());
    txn = Result<std::unique_ptr<ReadModelTransaction>>(InternalError("closed"));
    rm->reset();
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "SELECT id, indexes FROM rm_collections", -1, &stmt, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    const int64_t id = sqlite3_column_int64(stmt, 0);
    auto indexes = IndexesFromJson(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
    sqlite3_finalize(stmt);
    ASSERT_OK(indexes);
    info_ = MakeCollectionInfo(id, std::move(*indexes));
  }

  void TearDown() override { sqlite3_close(db_); }

  // The EXPLAIN QUERY PLAN details of each page statement of `query`, one string per statement.
  std::vector<std::string> Plans(const Query& query) {
    std::vector<std::string> out;
    auto plan = PlanQuery(*info_, query);
    EXPECT_OK(plan);
    if (!plan.ok()) return out;
    auto statements = PageStatements(*info_, *plan, query.after);
    EXPECT_OK(statements);
    if (!statements.ok()) return out;
    for (const BoundSql& s : *statements) {
      sqlite3_stmt* stmt = nullptr;
      const std::string sql = "EXPLAIN QUERY PLAN " + s.sql;
      EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
          << sqlite3_errmsg(db_);
      std::string details;
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        details += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
        details += "\n";
      }
      sqlite3_finalize(stmt);
      out.push_back(details);
    }
    return out;
  }

  std::string Index(int i) const { return info_->table + "_i" + std::to_string(i); }

  triad::testing::TempDir dir_{"triad-rm-plan"};
  sqlite3* db_ = nullptr;
  std::shared_ptr<CollectionInfo> info_;
};

Filter F(std::string field, FilterOp op, FieldValue v) {
  return Filter{.field = std::move(field), .op = op, .values = {std::move(v)}};
}

// A query with a cursor resuming after (value, id).
Query WithCursor(const CollectionInfo& info, Query q, double value, std::string id) {
  auto plan = PlanQuery(info, q);
  EXPECT_OK(plan);
  using internal::readmodel::Cursor;
  q.after = internal::readmodel::EncodeCursor(
      Cursor{.fingerprint = plan.ok() ? plan->fingerprint : 0,
             .kind = q.order_by.empty() ? Cursor::Kind::kId : Cursor::Kind::kNumber,
             .number = value,
             .id = std::move(id)});
  return q;
}

// The first statement's plan contains `expected`; every statement uses an index and does not
// sort unless `sort_ok`.
void ExpectIndexed(const std::vector<std::string>& plans, const std::string& expected,
                   bool sort_ok = false) {
  ASSERT_FALSE(plans.empty());
  EXPECT_NE(plans[0].find(expected), std::string::npos) << plans[0] << " expected " << expected;
  for (const std::string& plan : plans) {
    EXPECT_NE(plan.find("USING INDEX"), std::string::npos) << plan;
    if (!sort_ok) {
      EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
    }
  }
}

TEST_F(QueryPlanTest, FiltersSearchTheirIndex) {
  ExpectIndexed(Plans({.filters = {F("owner", FilterOp::kEq, std::string("o1"))}}),
                "SEARCH " + info_->table + " USING INDEX " + Index(0) + " (<expr>=?)");
  ExpectIndexed(Plans({.filters = {F("open", FilterOp::kEq, true)}}),
                "USING INDEX " + Index(2) + " (<expr>=?)");
  ExpectIndexed(Plans({.filters = {F("address.city", FilterOp::kEq, std::string("c1"))}}),
                "USING INDEX " + Index(3) + " (<expr>=?)");
  ExpectIndexed(Plans({.filters = {F("balance", FilterOp::kLe, 10.0)}}),
                "USING INDEX " + Index(1) + " (<expr><?)", /*sort_ok=*/true);
  ExpectIndexed(
      Plans({.filters = {F("owner", FilterOp::kPrefix, std::string("o1"))}, .order_by = "owner"}),
      "USING INDEX " + Index(0) + " (<expr>>? AND <expr><?)");
  ExpectIndexed(Plans({.filters = {{.field = "owner",
                                    .op = FilterOp::kIn,
                                    .values = {std::string("o1"), std::string("o2")}}}}),
                "USING INDEX " + Index(0) + " (<expr>=?)", /*sort_ok=*/true);
}

TEST_F(QueryPlanTest, OrderAndCursorsAreIndexRanges) {
  // First pages: the order index is read in order (no sort), both directions.
  ExpectIndexed(Plans({.filters = {F("balance", FilterOp::kGt, 10.0)}, .order_by = "balance"}),
                "USING INDEX " + Index(1) + " (<expr>>?)");
  const auto desc = Plans({.order_by = "balance", .order = SortOrder::kDescending});
  ASSERT_EQ(desc.size(), 2u);  // rows with a value, then rows without
  ExpectIndexed(desc, "USING INDEX " + Index(1));
  // Later pages start inside the index, not at its beginning.
  ExpectIndexed(Plans(WithCursor(*info_, {.order_by = "balance"}, 5, "d5")),
                "SEARCH " + info_->table + " USING INDEX " + Index(1) + " (<expr>>?)");
  ExpectIndexed(
      Plans(WithCursor(*info_, {.order_by = "balance", .order = SortOrder::kDescending}, 5, "d5")),
      "SEARCH " + info_->table + " USING INDEX " + Index(1) + " (<expr><?)");
  ExpectIndexed(Plans(WithCursor(
                    *info_, {.filters = {F("owner", FilterOp::kEq, std::string("o1"))}}, 0, "d5")),
                "USING INDEX " + Index(0) + " (<expr>=? AND id>?)");
}

}  // namespace
}  // namespace triad::testing
