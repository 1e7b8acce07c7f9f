// The shared consumer-group storage on PostgreSQL (src/postgres/pg_group_store.h): groups and
// their rows round-trip exactly, each GroupLock commit bumps the version, a second store (another
// node) waits for the row lock, Delete cascades, a cut connection costs at most one failed call,
// and a newer schema is refused.
#include "postgres/pg_group_store.h"

#include "testing/pg_test_env.h"
#include "testing/test_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "groups/group_settings.h"
#include "groups/group_storage.h"
#include "pg_schema_test.h"
#include "postgres/pg_connection.h"
#include "postgres/pg_uri.h"

namespace triad::testing {
namespace {

using internal::groups::GroupChanges;
using internal::groups::GroupLock;
using internal::groups::GroupStorage;
using internal::groups::StoredGroup;
using internal::groups::StoredMember;
using internal::groups::StoredMessage;
using internal::pg::OpenPgGroupStore;
using internal::pg::PgConnection;
using internal::pg::PgParams;

class PgGroupStoreTest : public PgSchemaTest {
 protected:
  std::unique_ptr<GroupStorage> Open() {
    auto store = OpenPgGroupStore(uri_);
    EXPECT_OK(store);
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Locks `name` on `store`, applies `changes` and commits; returns the version found.
  int64_t CommitChanges(GroupStorage& store, const std::string& name, const GroupChanges& changes) {
    auto lock = store.Lock(name);
    EXPECT_OK(lock);
    if (!lock.ok()) return -1;
    const int64_t version = (*lock)->version();
    EXPECT_OK((*lock)->Commit(changes));
    return version;
  }

  // The group as a new lock on `store` loads it; version() through `version`.
  StoredGroup LoadLocked(GroupStorage& store, const std::string& name, int64_t* version) {
    auto lock = store.Lock(name);
    EXPECT_OK(lock);
    if (!lock.ok()) return {};
    *version = (*lock)->version();
    if (*version == 0) return {};
    auto loaded = (*lock)->Load();
    EXPECT_OK(loaded);
    return loaded.ok() ? std::move(*loaded) : StoredGroup{};
  }
};

GroupSettings Settings() {
  GroupSettings s;
  s.event_types = {"Deposited", "Withdrawn"};
  s.categories = {"acct"};
  s.start_position = 7;
  s.max_attempts = 3;
  s.ack_timeout_us = 1'500'000;
  s.member_lease_us = 2'500'000;
  s.retry_backoff_us = 100'000;
  s.max_retry_backoff_us = 900'000;
  return s;
}

ParkedMessage Parked(Position position, const std::string& error) {
  return ParkedMessage{.position = position,
                       .stream = "acct-" + std::to_string(position),
                       .type = "Deposited",
                       .attempts = 3,
                       .last_error = error,
                       .parked_at_us = 1000 + position};
}

TEST_F(PgGroupStoreTest, CreateListAndLoadAllRoundTrip) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->shared());
  ASSERT_OK(store->Create("billing", Settings(), 111, 5));
  ASSERT_OK(store->Create("audit", GroupSettings{}, 222, 0));
  ASSERT_OK(store->Create("b-2", GroupSettings{}, 333, 9));
  const Status again = store->Create("billing", GroupSettings{}, 444, 0);
  ASSERT_ERROR_CODE(again, kAlreadyExists);
  EXPECT_EQ(again.message(), "consumer group 'billing' already exists");

  auto names = store->ListNames();
  ASSERT_OK(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"audit", "b-2", "billing"}));

  auto all = store->LoadAll();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  const StoredGroup& billing = (*all)[2];
  EXPECT_EQ(billing.name, "billing");
  EXPECT_TRUE(internal::groups::SameSettings(billing.settings, Settings()));
  EXPECT_EQ(billing.settings.start_position, 7);
  EXPECT_EQ(billing.settings.max_retry_backoff_us, 900'000);
  EXPECT_EQ(billing.checkpoint, 5);
  EXPECT_EQ(billing.created_at_us, 111);
  EXPECT_TRUE(billing.acked.empty());
  EXPECT_TRUE(billing.messages.empty());
  EXPECT_TRUE(billing.parked.empty());
  EXPECT_TRUE(billing.members.empty());
  EXPECT_EQ((*all)[0].name, "audit");
  EXPECT_EQ((*all)[0].created_at_us, 222);
  EXPECT_EQ((*all)[1].name, "b-2");
  EXPECT_EQ((*all)[1].checkpoint, 9);
}

TEST_F(PgGroupStoreTest, LockCommitAndLoadKeepEveryChange) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto missing = store->Lock("g");
    ASSERT_OK(missing);
    EXPECT_EQ((*missing)->version(), 0);
    ASSERT_ERROR_CODE((*missing)->Load(), kNotFound);
  }
  ASSERT_OK(store->Create("g", Settings(), 10, 0));

  // 1 → 2: deliveries (a position twice: the last entry wins), members, acks, parks.
  GroupChanges first;
  first.messages = {{1, StoredMessage{.attempts = 1, .member = "m1", .due_us = 100}},
                    {2, StoredMessage{.attempts = 1, .member = "m1", .due_us = 100}},
                    {3, StoredMessage{.attempts = 1, .member = "m2", .due_us = 200}},
                    {4, StoredMessage{.attempts = 2, .member = "m2", .due_us = 300}},
                    {5, StoredMessage{.attempts = 1, .member = "m2", .due_us = 300}},
                    {2, StoredMessage{.attempts = 2, .member = "", .due_us = 150}}};
  first.members = {{"m1", StoredMember{.last_seen_us = 50, .polling_until_us = 0}},
                   {"m2", StoredMember{.last_seen_us = 60, .polling_until_us = 70}},
                   {"m3", StoredMember{.last_seen_us = 65, .polling_until_us = 0}},
                   {"m1", StoredMember{.last_seen_us = 80, .polling_until_us = 90}}};
  EXPECT_EQ(CommitChanges(*store, "g", first), 1);

  // 2 → 3: ack 3 and 5, park 4, ack 1 moving the checkpoint to 1 (ack 1 is not kept), m3 gone.
  GroupChanges second;
  second.acked = {3, 5, 1, 3};  // a position twice: stored once
  second.parked = {Parked(4, "boom")};
  second.members_gone = {"m3"};
  second.checkpoint = 1;
  second.checkpoint_moved = true;
  EXPECT_EQ(CommitChanges(*store, "g", second), 2);

  int64_t version = 0;
  StoredGroup g = LoadLocked(*store, "g", &version);
  EXPECT_EQ(version, 3);
  EXPECT_EQ(g.name, "g");
  EXPECT_EQ(g.checkpoint, 1);
  EXPECT_EQ(g.created_at_us, 10);
  EXPECT_EQ(g.acked, (std::set<Position>{3, 5}));
  ASSERT_EQ(g.messages.size(), 1u);
  EXPECT_EQ(g.messages[2].attempts, 2);
  EXPECT_EQ(g.messages[2].member, "");
  EXPECT_EQ(g.messages[2].due_us, 150);
  ASSERT_EQ(g.parked.size(), 1u);
  EXPECT_EQ(g.parked[0].first.position, 4);
  EXPECT_EQ(g.parked[0].first.stream, "acct-4");
  EXPECT_EQ(g.parked[0].first.type, "Deposited");
  EXPECT_EQ(g.parked[0].first.attempts, 3);
  EXPECT_EQ(g.parked[0].first.last_error, "boom");
  EXPECT_EQ(g.parked[0].first.parked_at_us, 1004);
  EXPECT_FALSE(g.parked[0].second);
  ASSERT_EQ(g.members.size(), 2u);
  EXPECT_EQ(g.members["m1"].last_seen_us, 80);
  EXPECT_EQ(g.members["m1"].polling_until_us, 90);
  EXPECT_EQ(g.members["m2"].last_seen_us, 60);
  EXPECT_EQ(g.members["m2"].polling_until_us, 70);

  // 3 → 4: park 6 and 7, replay 4, redeliver it; 4 → 5: ack 2 (checkpoint to 3, trimming ack 3),
  // unpark 4 after its replay was acked.
  GroupChanges third;
  third.parked = {Parked(6, "x"), Parked(7, "y")};
  third.replayed = {4};
  third.messages = {{4, StoredMessage{.attempts = 1, .member = "m2", .due_us = 400}}};
  EXPECT_EQ(CommitChanges(*store, "g", third), 3);
  g = LoadLocked(*store, "g", &version);
  EXPECT_EQ(version, 4);
  ASSERT_EQ(g.parked.size(), 3u);
  EXPECT_EQ(g.parked[0].first.position, 4);
  EXPECT_TRUE(g.parked[0].second);
  EXPECT_FALSE(g.parked[1].second);
  EXPECT_EQ(g.parked[2].first.last_error, "y");
  EXPECT_EQ(g.messages.size(), 2u);

  GroupChanges fourth;
  fourth.acked = {2, 4};
  fourth.unparked = {4};
  fourth.checkpoint = 3;
  fourth.checkpoint_moved = true;
  EXPECT_EQ(CommitChanges(*store, "g", fourth), 4);
  g = LoadLocked(*store, "g", &version);
  EXPECT_EQ(version, 5);
  EXPECT_EQ(g.checkpoint, 3);
  EXPECT_EQ(g.acked, (std::set<Position>{4, 5}));
  EXPECT_TRUE(g.messages.empty());
  ASSERT_EQ(g.parked.size(), 2u);
  EXPECT_EQ(g.parked[0].first.position, 6);
  EXPECT_EQ(g.parked[1].first.position, 7);

  // LoadAll sees the same state as the lock.
  auto all = store->LoadAll();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].acked, g.acked);
  EXPECT_EQ((*all)[0].parked.size(), 2u);
  EXPECT_EQ((*all)[0].members.size(), 2u);
}

TEST_F(PgGroupStoreTest, ALockEndsItsTransaction) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create("g", GroupSettings{}, 1, 0));
  {
    auto lock = store->Lock("g");
    ASSERT_OK(lock);
    // The connection belongs to the open lock's transaction.
    ASSERT_ERROR_CODE(store->ListNames(), kFailedPrecondition);
    // Ended by the destructor's rollback.
  }
  int64_t version = 0;
  EXPECT_TRUE(LoadLocked(*store, "g", &version).acked.empty());
  EXPECT_EQ(version, 1);
  auto lock = store->Lock("g");
  ASSERT_OK(lock);
  ASSERT_OK((*lock)->Commit(GroupChanges{}));
  ASSERT_ERROR_CODE((*lock)->Commit(GroupChanges{}), kFailedPrecondition);
  // Over after Commit: the store is usable while the lock object still exists.
  ASSERT_OK(store->ListNames());
}

TEST_F(PgGroupStoreTest, MemberOnlyCommitsBumpTheVersionToo) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create("g", GroupSettings{}, 1, 0));
  GroupChanges liveness;
  liveness.members = {{"m", StoredMember{.last_seen_us = 5, .polling_until_us = 6}}};
  ASSERT_TRUE(liveness.empty());
  EXPECT_EQ(CommitChanges(*store, "g", liveness), 1);
  GroupChanges gone;
  gone.members_gone = {"m"};
  EXPECT_EQ(CommitChanges(*store, "g", gone), 2);
  int64_t version = 0;
  EXPECT_TRUE(LoadLocked(*store, "g", &version).members.empty());
  EXPECT_EQ(version, 3);
}

TEST_F(PgGroupStoreTest, ASecondNodeWaitsForTheLockThenSeesTheCommit) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_OK(a->Create("g", GroupSettings{}, 1, 0));
  auto held = a->Lock("g");
  ASSERT_OK(held);
  ASSERT_EQ((*held)->version(), 1);

  std::atomic<bool> returned{false};
  int64_t b_version = -1;
  StoredGroup b_group;
  std::thread node_b([&] {
    auto lock = b->Lock("g");
    returned = true;
    if (!lock.ok()) return;
    b_version = (*lock)->version();
    auto loaded = (*lock)->Load();
    if (loaded.ok()) b_group = std::move(*loaded);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(returned.load()) << "node B got the lock while node A held it";
  GroupChanges changes;
  changes.acked = {7};
  changes.members = {{"a1", StoredMember{.last_seen_us = 1, .polling_until_us = 0}}};
  ASSERT_OK((*held)->Commit(changes));
  node_b.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(b_version, 2);
  EXPECT_EQ(b_group.acked, (std::set<Position>{7}));
  EXPECT_EQ(b_group.members.size(), 1u);
}

TEST_F(PgGroupStoreTest, DeleteCascades) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create("g", Settings(), 1, 0));
  GroupChanges changes;
  changes.acked = {2};
  changes.messages = {{3, StoredMessage{.attempts = 1, .member = "m", .due_us = 9}}};
  changes.parked = {Parked(4, "e")};
  changes.members = {{"m", StoredMember{.last_seen_us = 1, .polling_until_us = 0}}};
  EXPECT_EQ(CommitChanges(*store, "g", changes), 1);
  ASSERT_OK(store->Delete("g"));
  ASSERT_OK(store->Delete("g"));  // absent: nothing to do
  int64_t version = -1;
  LoadLocked(*store, "g", &version);
  EXPECT_EQ(version, 0);
  auto names = store->ListNames();
  ASSERT_OK(names);
  EXPECT_TRUE(names->empty());

  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  for (const char* table : {"cg_acks", "cg_messages", "cg_parked", "cg_members"}) {
    auto count = raw->ExecLast(std::string("SELECT count(*) FROM ") + table);
    ASSERT_OK(count);
    EXPECT_EQ(count->Int(0, 0), 0) << table;
  }

  ASSERT_OK(store->Create("g", GroupSettings{}, 2, 0));
  StoredGroup g = LoadLocked(*store, "g", &version);
  // The new group's versions start in a generation of their own: a node that cached the deleted
  // group at version 1 must not take the new one for it.
  EXPECT_EQ(version, (int64_t{1} << 32) + 1);
  EXPECT_EQ(g.created_at_us, 2);
  EXPECT_TRUE(g.acked.empty());
  EXPECT_TRUE(g.messages.empty());
  EXPECT_TRUE(g.parked.empty());
  EXPECT_TRUE(g.members.empty());
}

TEST_F(PgGroupStoreTest, BatchCommitAppliesInOrderAndSkipsDeletedGroups) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create("a", GroupSettings{}, 1, 0));
  ASSERT_OK(store->Create("b", GroupSettings{}, 1, 0));
  std::vector<internal::groups::PendingChanges> batch(4);
  batch[0].group = "a";
  batch[0].changes.messages = {{1, StoredMessage{.attempts = 1}},
                               {2, StoredMessage{.attempts = 1}}};
  batch[1].group = "gone";
  batch[1].changes.acked = {1};
  batch[2].group = "b";
  batch[2].changes.parked = {Parked(3, "p")};
  batch[3].group = "a";
  batch[3].changes.acked = {1};
  batch[3].changes.checkpoint = 1;
  batch[3].changes.checkpoint_moved = true;
  ASSERT_OK(store->Commit(batch));
  int64_t version = 0;
  StoredGroup a = LoadLocked(*store, "a", &version);
  EXPECT_EQ(version, 3);
  EXPECT_EQ(a.checkpoint, 1);
  EXPECT_TRUE(a.acked.empty());
  ASSERT_EQ(a.messages.size(), 1u);
  EXPECT_EQ(a.messages.begin()->first, 2);
  StoredGroup b = LoadLocked(*store, "b", &version);
  EXPECT_EQ(version, (int64_t{1} << 32) + 2);  // the second group created: generation 2
  EXPECT_EQ(b.parked.size(), 1u);
}

TEST_F(PgGroupStoreTest, AKilledConnectionCostsAtMostOneCall) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Create("g", GroupSettings{}, 1, 0));
  const auto kill = [&] {
    EXPECT_EQ(TerminatePostgresSessions(uri_, app_), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };

  // Create is not retried (it may have committed): it fails once, the next call reconnects.
  kill();
  const Status created = store->Create("h", GroupSettings{}, 1, 0);
  EXPECT_TRUE(created.ok() || created.code() == StatusCode::kUnavailable) << created.ToString();
  ASSERT_OK(store->Create("i", GroupSettings{}, 1, 0));

  // Calls that are harmless to repeat retry on a new connection.
  kill();
  auto names = store->ListNames();
  ASSERT_OK(names);
  EXPECT_EQ(names->back(), "i");
  kill();
  auto lock = store->Lock("g");
  ASSERT_OK(lock);
  EXPECT_EQ((*lock)->version(), 1);
  ASSERT_OK((*lock)->Commit(GroupChanges{}));
  lock->reset();

  // A session cut while a lock is held: the commit fails, the next call reconnects.
  auto held = store->Lock("g");
  ASSERT_OK(held);
  kill();
  GroupChanges changes;
  changes.acked = {5};
  ASSERT_ERROR_CODE((*held)->Commit(changes), kUnavailable);
  held->reset();
  int64_t version = 0;
  StoredGroup g = LoadLocked(*store, "g", &version);
  EXPECT_EQ(version, 2);
  EXPECT_TRUE(g.acked.empty());
}

TEST_F(PgGroupStoreTest, ANewerSchemaIsRefused) {
  { ASSERT_NE(Open(), nullptr); }
  auto raw = Raw();
  ASSERT_NE(raw, nullptr);
  ASSERT_OK(
      raw->Exec("UPDATE schema_versions SET version = 7 WHERE component = 'consumer groups'"));
  auto store = OpenPgGroupStore(uri_);
  ASSERT_ERROR_CODE(store, kDataLoss);
  const std::string message = store.status().message();
  EXPECT_NE(message.find("newer"), std::string::npos) << message;
  EXPECT_NE(message.find("consumer groups schema is at version 7"), std::string::npos) << message;
  EXPECT_NE(message.find("opening consumer-group store"), std::string::npos) << message;
}

TEST_F(PgGroupStoreTest, CreateIfMissingFalseCreatesNothing) {
  ASSERT_ERROR_CODE(OpenPgGroupStore(uri_, /*create_if_missing=*/false), kNotFound);
  auto raw = Raw();  // creates the schema, and nothing in it
  ASSERT_NE(raw, nullptr);
  ASSERT_ERROR_CODE(OpenPgGroupStore(uri_, /*create_if_missing=*/false), kNotFound);
  const auto group_tables = [&] {
    auto tables = raw->ExecLast(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE "
        "'cg\\_%'");
    EXPECT_OK(tables);
    return tables.ok() ? tables->Int(0, 0) : -1;
  };
  EXPECT_EQ(group_tables(), 0);
  { ASSERT_NE(Open(), nullptr); }  // creates the tables
  EXPECT_EQ(group_tables(), 5);
  auto reader = OpenPgGroupStore(uri_, /*create_if_missing=*/false);
  ASSERT_OK(reader);
  auto names = (*reader)->ListNames();
  ASSERT_OK(names);
  EXPECT_TRUE(names->empty());
}

TEST_F(PgGroupStoreTest, ABadUriIsRefused) {
  ASSERT_ERROR_CODE(OpenPgGroupStore("sqlite:/tmp/x"), kInvalidArgument);
}

}  // namespace
}  // namespace triad::testing
