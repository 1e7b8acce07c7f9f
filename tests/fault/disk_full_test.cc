// Full disk and full database under SQLite: an append that cannot get space fails with
// kUnavailable saying so (and whether it was stored), nothing acknowledged before is lost or
// changed, Check() stays clean, and appends work again by themselves once there is space, at the
// next dense position (promises 1, 2 and 7).
//
// Two ways to run out of space, which fail at different points of the write path:
//   - A full disk (FaultVfs): the pages of a WAL transaction stay in SQLite's cache until COMMIT
//     writes them to the -wal file, so COMMIT fails. SQLite rolls the transaction back; the store
//     re-reads its head, tells the writers nothing was stored, reports unhealthy, and tries every
//     later append afresh, so it recovers without a reopen once space is freed.
//   - A database size limit (PRAGMA max_page_count, set on every connection by an SQLite
//     auto-extension): SQLite refuses the new page inside the INSERT and rolls back the whole
//     transaction, so every append of that group fails with the cause.
#include "testing/fault_injection_backend.h"
#include "testing/test_util.h"

#include "triad/backend.h"
#include "triad/event_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <unistd.h>
#include <vector>

#include "../server/route_harness.h"
#include "append_behind_gate.h"
#include "fault_vfs.h"
#include "server/request_log.h"
#include "server/router.h"
#include "server/routes/health_routes.h"
#include "server/routes/stream_routes.h"
#include "server/server_context.h"

namespace triad::testing {
namespace {

// The max_page_count every new connection gets; 0: no limit. Read by LimitPages().
std::atomic<int> g_max_page_count{0};

// An SQLite auto-extension: runs on every connection the process opens, including the store's
// own, which the test cannot reach otherwise. max_page_count is never set below the database's
// current size, so a limit of 1 means "the database may not grow".
int LimitPages(sqlite3* db, const char** /*error*/, const sqlite3_api_routines* /*api*/) {
  const int limit = g_max_page_count.load();
  if (limit == 0) return SQLITE_OK;
  const std::string sql = "PRAGMA max_page_count=" + std::to_string(limit);
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-00000000d15c", n);
  return buf;
}

// An event with about `bytes` bytes of data: big enough to need new pages.
NewEvent BigEvent(size_t bytes, std::string id = "") {
  return NewEvent{.id = std::move(id),
                  .type = "Uploaded",
                  .data = R"({"blob":")" + std::string(bytes, 'x') + R"("})"};
}

bool Mentions(const Status& s, std::string_view text) {
  return s.message().find(text) != std::string::npos;
}

// A durability setting to run with, named for test names and gtest's output.
struct DurabilityParam {
  Durability durability;
  const char* name;
};
void PrintTo(const DurabilityParam& param, std::ostream* os) { *os << param.name; }

class DiskFullTest : public ::testing::TestWithParam<DurabilityParam> {
 protected:
  static void SetUpTestSuite() {
    vfs_ = &FaultVfs::Install();
    // The cast is SQLite's documented calling convention for auto-extensions.
    ASSERT_EQ(sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(LimitPages)), SQLITE_OK);
  }

  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    path_ =
        ::testing::TempDir() + "triad_disk_full_" + name + "_" + std::to_string(::getpid()) + ".db";
    RemoveFiles();
    vfs_->SetDiskFull(false);
    g_max_page_count = 0;
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  void TearDown() override {
    store_.reset();
    vfs_->SetDiskFull(false);
    g_max_page_count = 0;
    RemoveFiles();
  }

  void Open() {
    Options options;
    options.durability = GetParam().durability;
    auto store = EventStore::Open(options, "sqlite:" + path_);
    ASSERT_OK(store);
    store_ = std::move(*store);
  }

  void Reopen() {
    store_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  Result<AppendResult> AppendOne(const std::string& stream, ExpectedVersion expected,
                                 const NewEvent& event) {
    return store_->Append(stream, expected, {&event, 1});
  }

  // The database's size in pages, as a new connection sees it (WAL included).
  int64_t PageCount() {
    sqlite3* db = nullptr;
    int64_t pages = -1;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        pages = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    EXPECT_GT(pages, 0);
    return pages;
  }

  void RemoveFiles() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  // Appends 12 acknowledged appends of 1 to 3 events with client ids to three streams, and
  // remembers them for ExpectAckedIntact().
  void AppendAcked() {
    int id = 0;
    for (int i = 0; i < 12; ++i) {
      const std::string stream = "acct-" + std::to_string(i % 3);
      std::vector<NewEvent> events;
      for (int k = 0; k <= i % 3; ++k) {
        events.push_back(NewEvent{
            .id = Uuid(++id),
            .type = "Deposited",
            .data = R"({"i":)" + std::to_string(i) + R"(,"k":)" + std::to_string(k) + "}"});
      }
      auto r = store_->Append(stream, ExpectedVersion::Any(), events);
      ASSERT_OK(r);
      for (size_t k = 0; k < events.size(); ++k) {
        acked_.push_back(RecordedEvent{.id = events[k].id,
                                       .stream = stream,
                                       .version = r->first_version + static_cast<int64_t>(k),
                                       .position = r->first_position + static_cast<int64_t>(k),
                                       .type = events[k].type,
                                       .data = events[k].data});
      }
    }
    acked_head_ = acked_.back().position;
  }

  // Every acknowledged event is stored unchanged, positions are dense up to `head`, and
  // Check() (which runs PRAGMA integrity_check) finds nothing.
  void ExpectAckedIntact(Position head) {
    auto got = store_->HeadPosition();
    ASSERT_OK(got);
    EXPECT_EQ(*got, head);
    ReadAllOptions all;
    all.limit = 100000;
    auto log = store_->ReadAll(all);
    ASSERT_OK(log);
    ASSERT_EQ(log->size(), static_cast<size_t>(head));
    for (size_t i = 0; i < log->size(); ++i) {
      EXPECT_EQ((*log)[i].position, static_cast<Position>(i + 1));
    }
    for (const RecordedEvent& want : acked_) {
      const RecordedEvent& e = (*log)[want.position - 1];
      EXPECT_EQ(e.id, want.id);
      EXPECT_EQ(e.stream, want.stream);
      EXPECT_EQ(e.version, want.version);
      EXPECT_EQ(e.data, want.data);
    }
    auto report = store_->Check();
    ASSERT_OK(report);
    for (const std::string& problem : report->problems) ADD_FAILURE() << "Check(): " << problem;
  }

  static FaultVfs* vfs_;
  std::string path_;
  std::unique_ptr<EventStore> store_;
  std::vector<RecordedEvent> acked_;
  Position acked_head_ = 0;
};

FaultVfs* DiskFullTest::vfs_ = nullptr;

TEST_P(DiskFullTest, FullDiskFailsTheCommitAndRecoversByItselfOnceSpaceIsFreed) {
  ASSERT_NO_FATAL_FAILURE(AppendAcked());
  ASSERT_OK(store_->WriteHealth());
  const int64_t full_errors = vfs_->full_errors();
  vfs_->SetDiskFull(true);

  // 64 KiB fits SQLite's page cache, so nothing is written before COMMIT, which must grow the WAL.
  auto failed = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  EXPECT_ERROR_CODE(failed, kUnavailable);
  EXPECT_TRUE(Mentions(failed.status(), "full")) << failed.status().ToString();
  EXPECT_TRUE(Mentions(failed.status(), "commit failed")) << failed.status().ToString();
  // SQLite rolled the transaction back, and the store checked: the outcome is known.
  EXPECT_TRUE(Mentions(failed.status(), "not stored")) << failed.status().ToString();
  EXPECT_GT(vfs_->full_errors(), full_errors) << "the VFS never refused a write";

  // Unhealthy, naming the cause, while the disk stays full (the probe write fails too).
  const Status health = store_->WriteHealth();
  EXPECT_EQ(health.code(), StatusCode::kUnavailable) << health.ToString();
  EXPECT_TRUE(Mentions(health, "full")) << health.ToString();

  // Reads go on, and show only what was acknowledged.
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_));
  EXPECT_ERROR_CODE(store_->GetStreamInfo("acct-big"), kNotFound);

  // Still full: the next append is tried (not refused as poisoned) and fails the same way.
  auto again = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  EXPECT_ERROR_CODE(again, kUnavailable);
  EXPECT_TRUE(Mentions(again.status(), "full")) << again.status().ToString();

  // Space freed: without a reopen, the store is healthy and appends work, at the next dense
  // position; the failed appends left no trace.
  vfs_->SetDiskFull(false);
  ASSERT_OK(store_->WriteHealth());
  auto stored = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  ASSERT_OK(stored);
  EXPECT_EQ(stored->first_version, 0);
  EXPECT_EQ(stored->first_position, acked_head_ + 1);
  auto next = AppendOne("acct-0", ExpectedVersion::Any(), BigEvent(10));
  ASSERT_OK(next);
  EXPECT_EQ(next->first_position, acked_head_ + 2);
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_ + 2));

  // Fails and recovers again, then survives a reopen with everything acknowledged (promise 1).
  vfs_->SetDiskFull(true);
  EXPECT_ERROR_CODE(AppendOne("acct-big", ExpectedVersion::Any(), BigEvent(64 << 10)),
                    kUnavailable);
  vfs_->SetDiskFull(false);
  auto last = AppendOne("acct-big", ExpectedVersion::Any(), BigEvent(64 << 10));
  ASSERT_OK(last);
  EXPECT_EQ(last->first_position, acked_head_ + 3);
  EXPECT_EQ(last->first_version, 1);
  ASSERT_OK(store_->WriteHealth());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_ + 3));
}

TEST_P(DiskFullTest, OverHttpAppendsAnswer503AndHealthIsUnhealthyUntilSpaceIsFreed) {
  using server::testing::BodyOf;
  using server::testing::Dispatch;
  using server::testing::ErrorCode;
  ASSERT_NO_FATAL_FAILURE(AppendAcked());
  server::Router router;
  server::ServerContext context{.store = store_.get()};
  server::RegisterHealthRoutes(router, context);
  server::RegisterStreamRoutes(router, context);
  ASSERT_OK(server::ConfigureLogging("info", server::LogFormat::kJson));
  const std::string big =
      R"({"events":[{"type":"Uploaded","data":{"blob":")" + std::string(64 << 10, 'x') + R"("}}]})";
  const server::testing::RouteCall append{
      .method = "POST", .path = "/streams/acct-big", .body = big};
  EXPECT_EQ(Dispatch(router, {.path = "/health"}).status, 200);

  vfs_->SetDiskFull(true);
  ::testing::internal::CaptureStderr();
  const auto refused = Dispatch(router, append);
  const std::string log = ::testing::internal::GetCapturedStderr();
  // Retryable, and not a 4xx: the docs promise nothing is stored on a 4xx; here the client is
  // told that this append was not stored.
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(ErrorCode(refused), "unavailable");
  EXPECT_NE(refused.body.find("not stored"), std::string::npos) << refused.body;
  EXPECT_NE(log.find(R"("level":"warn")"), std::string::npos) << log;
  EXPECT_NE(log.find("full"), std::string::npos) << log;

  const auto unhealthy = Dispatch(router, {.path = "/health", .role = server::Role::kNone});
  EXPECT_EQ(unhealthy.status, 503) << unhealthy.body;
  EXPECT_EQ(ErrorCode(unhealthy), "unavailable");
  EXPECT_NE(unhealthy.body.find("full"), std::string::npos) << unhealthy.body;

  vfs_->SetDiskFull(false);
  EXPECT_EQ(Dispatch(router, {.path = "/health"}).status, 200);
  const auto stored = Dispatch(router, append);
  ASSERT_EQ(stored.status, 201) << stored.body;
  EXPECT_EQ(BodyOf(stored)["first_position"], acked_head_ + 1);
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_ + 1));
}

TEST_P(DiskFullTest, DatabaseSizeLimitFailsOnlyTheAppendThatNeedsSpace) {
  ASSERT_NO_FATAL_FAILURE(AppendAcked());
  g_max_page_count = 1;  // clamped to the current size: the database may not grow
  ASSERT_NO_FATAL_FAILURE(Reopen());

  auto failed = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  EXPECT_ERROR_CODE(failed, kUnavailable);
  EXPECT_TRUE(Mentions(failed.status(), "full")) << failed.status().ToString();
  EXPECT_TRUE(Mentions(failed.status(), "not stored")) << failed.status().ToString();
  // It failed inside the insert, before the commit.
  EXPECT_FALSE(Mentions(failed.status(), "commit failed")) << failed.status().ToString();
  EXPECT_ERROR_CODE(store_->GetStreamInfo("acct-big"), kNotFound);
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_));

  // The next append runs. It needs space too, so it fails the same way.
  auto next = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  EXPECT_ERROR_CODE(next, kUnavailable);

  // Limit lifted: appends work again, at the next dense position.
  g_max_page_count = 0;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  auto stored = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  ASSERT_OK(stored);
  EXPECT_EQ(stored->first_position, acked_head_ + 1);
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_ + 1));
}

TEST_P(DiskFullTest, DatabaseFullInsideAGroupNeverAcknowledgesWhatWasRolledBack) {
  ASSERT_NO_FATAL_FAILURE(AppendAcked());
  store_.reset();
  // Room for a few small appends but not for a big one. SQLite answers SQLITE_FULL inside an
  // INSERT by rolling back the whole transaction, so a writer of the same group that had already
  // succeeded loses its rows too and must not be told otherwise.
  g_max_page_count = static_cast<int>(PageCount()) + 12;
  Options options;
  options.durability = GetParam().durability;
  auto base = OpenBackend(options, "sqlite:" + path_);
  ASSERT_OK(base);
  FaultInjectionBackend fault(**base);
  options.backend = &fault;
  auto store = EventStore::Open(options, "sqlite:" + path_);
  ASSERT_OK(store);

  // The case that matters is a writer running before the big one in the same transaction; the
  // queue order is up to the scheduler, so try until it happens.
  bool behind_another = false;
  for (int attempt = 0; attempt < 10 && !behind_another && !HasFailure(); ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    const std::string n = std::to_string(attempt);
    const std::vector<PendingAppend> pending = {
        {"acct-a" + n, {NewEvent{.type = "Deposited", .data = R"({"small":1})"}}},
        {"acct-b" + n, {BigEvent(128 << 10)}},
        {"acct-c" + n, {NewEvent{.type = "Deposited", .data = R"({"small":2})"}}}};
    const size_t tx_before = fault.transactions().size();
    const auto results = AppendBehindGate(**store, fault, "gate-" + n, pending);
    for (const auto& record : fault.transactions()) {
      const auto& ins = record.inserts;
      const auto big = std::find(ins.begin(), ins.end(), pending[1].stream);
      if (big != ins.end() && big != ins.begin()) behind_another = true;
    }
    EXPECT_GT(fault.transactions().size(), tx_before);

    EXPECT_ERROR_CODE(results[1], kUnavailable);
    EXPECT_TRUE(Mentions(results[1].status(), "full")) << results[1].status().ToString();
    // Acknowledged iff stored.
    for (size_t i = 0; i < pending.size(); ++i) {
      auto stored = (*store)->ReadStream(pending[i].stream, ReadStreamOptions{});
      if (results[i].ok()) {
        ASSERT_OK(stored) << pending[i].stream << " was acknowledged but is not stored";
        ASSERT_EQ(stored->size(), 1u);
        EXPECT_EQ((*stored)[0].position, results[i]->first_position);
        EXPECT_EQ((*stored)[0].data, pending[i].events[0].data);
      } else {
        EXPECT_ERROR_CODE(results[i], kUnavailable) << pending[i].stream;
        EXPECT_ERROR_CODE(stored, kNotFound) << pending[i].stream << " failed but is stored";
      }
    }
    auto report = (*store)->Check();
    ASSERT_OK(report);
    for (const std::string& problem : report->problems) ADD_FAILURE() << "Check(): " << problem;
  }
  EXPECT_TRUE(behind_another) << "the big append never ran after another in its group";
  store->reset();

  g_max_page_count = 0;
  ASSERT_NO_FATAL_FAILURE(Open());
  auto head = store_->HeadPosition();
  ASSERT_OK(head);
  ASSERT_OK(AppendOne("acct-big", ExpectedVersion::Any(), BigEvent(128 << 10)));
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(*head + 1));
}

INSTANTIATE_TEST_SUITE_P(fault, DiskFullTest,
                         ::testing::Values(DurabilityParam{Durability::kFull, "full"},
                                           DurabilityParam{Durability::kRelaxed, "relaxed"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace triad::testing
