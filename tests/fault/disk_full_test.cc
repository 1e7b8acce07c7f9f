// Full disk and full database under SQLite: an append that cannot get space fails with
// kResourceExhausted saying so, nothing acknowledged before is lost or changed, Check() stays
// clean, and appends work again once there is space (promises 1, 2 and 7).
//
// Two ways to run out of space, which fail at different points of the write path:
//   - A full disk (FaultVfs): the pages of a WAL transaction stay in SQLite's cache until COMMIT
//     writes them to the -wal file, so COMMIT fails. The store cannot know whether any of that
//     group reached the disk, so it is poisoned: appends fail with kFailedPrecondition until it is
//     reopened, even after space is freed.
//   - A database size limit (PRAGMA max_page_count, set on every connection by an SQLite
//     auto-extension): SQLite refuses the new page inside the INSERT and rolls back the whole
//     transaction, so every append of that group fails with the cause; nothing was committed, so
//     the store is not poisoned and stays usable.
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

#include "append_behind_gate.h"
#include "fault_vfs.h"

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

TEST_P(DiskFullTest, FullDiskFailsTheCommitPoisonsAndRecoversAfterReopen) {
  ASSERT_NO_FATAL_FAILURE(AppendAcked());
  const int64_t full_errors = vfs_->full_errors();
  vfs_->SetDiskFull(true);

  // 64 KiB fits SQLite's page cache, so nothing is written before COMMIT, which must grow the WAL.
  auto failed = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  EXPECT_ERROR_CODE(failed, kResourceExhausted);
  EXPECT_TRUE(Mentions(failed.status(), "full")) << failed.status().ToString();
  EXPECT_TRUE(Mentions(failed.status(), "commit failed")) << failed.status().ToString();
  EXPECT_GT(vfs_->full_errors(), full_errors) << "the VFS never refused a write";

  // Reads go on, and show only what was acknowledged.
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_));
  EXPECT_ERROR_CODE(store_->GetStreamInfo("acct-big"), kNotFound);

  // Poisoned, even once space is back: the store cannot tell what that commit left on disk.
  vfs_->SetDiskFull(false);
  EXPECT_ERROR_CODE(AppendOne("acct-0", ExpectedVersion::Any(), BigEvent(10)), kFailedPrecondition);

  // Reopened while the disk is still full: everything is readable and intact, and an append that
  // needs space fails again with the same error rather than damaging anything.
  vfs_->SetDiskFull(true);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_));
  EXPECT_ERROR_CODE(AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10)),
                    kResourceExhausted);

  // Space freed and reopened: appends work, at the next dense position.
  vfs_->SetDiskFull(false);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_));
  auto stored = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  ASSERT_OK(stored);
  EXPECT_EQ(stored->first_version, 0);
  EXPECT_EQ(stored->first_position, acked_head_ + 1);
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_ + 1));
}

TEST_P(DiskFullTest, DatabaseSizeLimitFailsOnlyTheAppendThatNeedsSpace) {
  ASSERT_NO_FATAL_FAILURE(AppendAcked());
  g_max_page_count = 1;  // clamped to the current size: the database may not grow
  ASSERT_NO_FATAL_FAILURE(Reopen());

  auto failed = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  EXPECT_ERROR_CODE(failed, kResourceExhausted);
  EXPECT_TRUE(Mentions(failed.status(), "full")) << failed.status().ToString();
  // It failed inside the insert, before the commit.
  EXPECT_FALSE(Mentions(failed.status(), "commit failed")) << failed.status().ToString();
  EXPECT_ERROR_CODE(store_->GetStreamInfo("acct-big"), kNotFound);
  ASSERT_NO_FATAL_FAILURE(ExpectAckedIntact(acked_head_));

  // Not poisoned: the next append runs. It needs space too, so it fails the same way; what it
  // must not do is fail as a poisoned store would.
  auto next = AppendOne("acct-big", ExpectedVersion::NoStream(), BigEvent(64 << 10));
  EXPECT_ERROR_CODE(next, kResourceExhausted);

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

    EXPECT_ERROR_CODE(results[1], kResourceExhausted);
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
        EXPECT_ERROR_CODE(results[i], kResourceExhausted) << pending[i].stream;
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
