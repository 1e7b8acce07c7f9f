// Opening the embedded SQLite store: creation, refusal of foreign or damaged files, read-only
// mode, and commits from another process seen by the live tail.
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace triad {
namespace {

class SqliteOpenTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return (dir_.path() / name).string(); }

  triad::testing::TempDir dir_{"triad-open"};
};

NewEvent Ev(std::string type) {
  NewEvent e;
  e.type = std::move(type);
  return e;
}

TEST_F(SqliteOpenTest, UriFormsOpenTheSameFile) {
  const std::string path = Path("a.db");
  {
    auto store = EventStore::Open({}, "sqlite:" + path);
    ASSERT_OK(store);
    NewEvent e = Ev("A");
    ASSERT_OK((*store)->Append("s-1", ExpectedVersion::Any(), {&e, 1}));
    EXPECT_EQ((*store)->Describe(), "sqlite:" + path);
  }
  for (const std::string& uri : {path, "sqlite://" + path}) {
    auto store = EventStore::Open({}, uri);
    ASSERT_OK(store);
    auto head = (*store)->HeadPosition();
    ASSERT_OK(head);
    EXPECT_EQ(*head, 1) << uri;
  }
}

TEST_F(SqliteOpenTest, UnknownSchemesAndEmptyPathsAreRefused) {
  ASSERT_ERROR_CODE(EventStore::Open({}, "mysql://localhost/x"), kInvalidArgument);
  ASSERT_ERROR_CODE(EventStore::Open({}, "postgres://localhost/x?schema="), kInvalidArgument);
  ASSERT_ERROR_CODE(EventStore::Open({}, "sqlite:"), kInvalidArgument);
}

TEST_F(SqliteOpenTest, MissingStoreIsNotFoundWithoutCreateIfMissing) {
  Options options;
  options.create_if_missing = false;
  auto r = EventStore::Open(options, Path("missing.db"));
  ASSERT_ERROR_CODE(r, kNotFound);
  EXPECT_FALSE(std::filesystem::exists(Path("missing.db")));
}

TEST_F(SqliteOpenTest, ForeignSqliteDatabaseIsRefusedUntouched) {
  const std::string path = Path("foreign.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE users (name TEXT)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const auto before = std::filesystem::file_size(path);
  auto r = EventStore::Open({}, path);
  ASSERT_ERROR_CODE(r, kDataLoss);
  EXPECT_NE(r.status().message().find("not a Triad store"), std::string::npos);
  // Still a rollback-journal database of the same size: not switched to WAL, nothing written.
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_EQ(std::filesystem::file_size(path), before);
  std::ifstream file(path, std::ios::binary);
  char header[20];
  file.read(header, sizeof header);
  EXPECT_EQ(header[18], 1) << "file format write version 1 = rollback journal, 2 = WAL";
}

TEST_F(SqliteOpenTest, GarbageFileIsRefused) {
  const std::string path = Path("garbage.db");
  std::ofstream(path) << std::string(8192, 'x');
  auto r = EventStore::Open({}, path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_EQ(std::filesystem::file_size(path), 8192u);
}

TEST_F(SqliteOpenTest, NewerSchemaIsRefused) {
  const std::string path = Path("newer.db");
  { ASSERT_OK(EventStore::Open({}, path)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE triad_meta SET value = '99' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto r = EventStore::Open({}, path);
  ASSERT_ERROR_CODE(r, kDataLoss);
  EXPECT_NE(r.status().message().find("schema version 99"), std::string::npos);
}

TEST_F(SqliteOpenTest, ReadOnlyStoreServesReadsAndRefusesWrites) {
  const std::string path = Path("ro.db");
  {
    auto store = EventStore::Open({}, path);
    ASSERT_OK(store);
    NewEvent e = Ev("A");
    ASSERT_OK((*store)->Append("s-1", ExpectedVersion::Any(), {&e, 1}));
  }
  Options options;
  options.read_only = true;
  auto store = EventStore::Open(options, path);
  ASSERT_OK(store);
  auto events = (*store)->ReadStream("s-1", {});
  ASSERT_OK(events);
  EXPECT_EQ(events->size(), 1u);
  NewEvent e = Ev("B");
  ASSERT_ERROR_CODE((*store)->Append("s-1", ExpectedVersion::Any(), {&e, 1}), kFailedPrecondition);
  ASSERT_ERROR_CODE((*store)->SaveSnapshot({.stream = "s-1", .version = 0, .state = "{}"}),
                    kFailedPrecondition);
}

// Two store objects on one file stand in for two processes: commits through one are seen by the
// other's WaitForPosition within the external poll interval.
TEST_F(SqliteOpenTest, WaitForPositionSeesCommitsFromAnotherStoreObject) {
  const std::string path = Path("shared.db");
  Options options;
  options.external_poll_interval_us = 10'000;
  auto reader = EventStore::Open(options, path);
  ASSERT_OK(reader);
  auto writer = EventStore::Open(options, path);
  ASSERT_OK(writer);
  std::thread append([&] {
    NewEvent e = Ev("A");
    ASSERT_OK((*writer)->Append("s-1", ExpectedVersion::Any(), {&e, 1}));
  });
  auto head = (*reader)->WaitForPosition(1, 30'000'000);
  append.join();
  ASSERT_OK(head);
  EXPECT_EQ(*head, 1);
}

}  // namespace
}  // namespace triad
