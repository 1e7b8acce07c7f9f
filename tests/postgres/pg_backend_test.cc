// The PostgreSQL event store beyond the shared contract: migrations (newer database refused,
// concurrent first opens), several store objects on one schema acting as several nodes, lost
// connections, and a server crash and restart under load (issue 5, items 5 and 6).
#include "testing/pg_test_env.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "pg_schema_test.h"
#include "postgres/pg_connection.h"
#include "postgres/pg_uri.h"

namespace triad::testing {
namespace {

using internal::pg::PgConnection;
using internal::pg::PgParams;
using internal::pg::PgResult;

class PgBackendTest : public PgSchemaTest {
 protected:
  std::unique_ptr<EventStore> Open() {
    auto store = EventStore::Open(Options{}, uri_);
    EXPECT_OK(store);
    return store.ok() ? std::move(*store) : nullptr;
  }
};

NewEvent Event(const std::string& type, int amount = 1) {
  return NewEvent{.type = type, .data = "{\"amount\":" + std::to_string(amount) + "}"};
}

TEST_F(PgBackendTest, ADatabaseNewerThanTheBinaryIsRefusedByName) {
  { ASSERT_NE(Open(), nullptr); }
  auto raw = Raw();
  ASSERT_OK(raw->Exec("UPDATE schema_versions SET version = 99 WHERE component = 'event store'"));
  auto store = EventStore::Open(Options{}, uri_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("event store schema is at version 99, newer than this "
                                          "binary's 1; upgrade Triad"),
            std::string::npos)
      << store.status().ToString();
}

TEST_F(PgBackendTest, NodesStartingAtOnceMigrateOnceAndAllOpen) {
  constexpr int kNodes = 8;
  std::vector<std::unique_ptr<EventStore>> stores(kNodes);
  std::vector<Status> errors(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      auto s = EventStore::Open(Options{}, uri_);
      if (s.ok()) {
        stores[i] = std::move(*s);
      } else {
        errors[i] = s.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) ASSERT_OK(errors[i]) << "node " << i;
  auto raw = Raw();
  auto rows = raw->Query("SELECT component, version FROM schema_versions");
  ASSERT_OK(rows);
  ASSERT_EQ(rows->rows(), 1);
  EXPECT_EQ(rows->Text(0, 0), "event store");
  EXPECT_EQ(rows->Int(0, 1), 1);
  auto head = raw->Query("SELECT count(*) FROM log_head");
  ASSERT_OK(head);
  EXPECT_EQ(head->Int(0, 0), 1) << "the head row was created once";
}

TEST_F(PgBackendTest, TwoNodesOnOneStreamAreLinearizable) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // Each round, both nodes append at the same expected version: exactly one wins (promise 3).
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> wins{0};
    std::atomic<int> conflicts{0};
    auto attempt = [&](EventStore& store) {
      const NewEvent e = Event("Deposited");
      auto r = store.Append("acct-1", ExpectedVersion::Exact(round - 1), {&e, 1});
      if (r.ok()) {
        ++wins;
      } else if (r.status().code() == StatusCode::kAborted) {
        ++conflicts;
        EXPECT_EQ(r.status().current_version(), round);
      }
    };
    std::thread ta([&] { attempt(*a); });
    std::thread tb([&] { attempt(*b); });
    ta.join();
    tb.join();
    ASSERT_EQ(wins.load(), 1) << "round " << round;
    ASSERT_EQ(conflicts.load(), 1) << "round " << round;
  }
  auto info = b->GetStreamInfo("acct-1");
  ASSERT_OK(info);
  EXPECT_EQ(info->version, 19);
  auto problems = a->Check();
  ASSERT_OK(problems);
  EXPECT_TRUE(problems->ok()) << problems->problems.front();
}

TEST_F(PgBackendTest, KilledConnectionsAreReplacedTransparently) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const NewEvent e = Event("Deposited");
  ASSERT_OK(store->Append("acct-1", ExpectedVersion::Any(), {&e, 1}));
  ASSERT_OK(store->ReadAll(ReadAllOptions{}));
  // As an administrator (or a failover) would: end every connection of this store.
  EXPECT_GE(TerminatePostgresSessions(uri_, app_), 2) << "the writer and at least one reader";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto appended = store->Append("acct-1", ExpectedVersion::Exact(0), {&e, 1});
  ASSERT_OK(appended);
  EXPECT_EQ(appended->first_position, 2);
  auto log = store->ReadAll(ReadAllOptions{});
  ASSERT_OK(log);
  EXPECT_EQ(log->size(), 2u);
}

TEST_F(PgBackendTest, AnotherNodesAppendWakesWaitersAndListenersAtOnce) {
  // Polling every minute: only the LISTEN/NOTIFY push can wake node B within the test's timeout.
  Options slow_poll;
  slow_poll.external_poll_interval_us = 60'000'000;
  // Declared before the stores: B's listener thread may call in until B is closed.
  std::mutex mu;
  std::vector<Position> heard;
  auto a = Open();
  auto b = EventStore::Open(slow_poll, uri_);
  ASSERT_NE(a, nullptr);
  ASSERT_OK(b);
  (*b)->AddCommitListener([&](Position head) {
    std::lock_guard lock(mu);
    heard.push_back(head);
  });
  std::thread appender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const NewEvent e = Event("Deposited");
    EXPECT_OK(a->Append("acct-1", ExpectedVersion::Any(), {&e, 1}));
  });
  const auto start = std::chrono::steady_clock::now();
  auto reached = (*b)->WaitForPosition(1, 10'000'000);
  const auto waited = std::chrono::steady_clock::now() - start;
  appender.join();
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, 1);
  EXPECT_LT(waited, std::chrono::seconds(5)) << "woken by the push, not by a poll";
  // The waiter may be woken before the listeners have run: give them a moment.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::unique_lock lock(mu);
  while (heard.empty() && std::chrono::steady_clock::now() < give_up) {
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    lock.lock();
  }
  ASSERT_FALSE(heard.empty());
  EXPECT_EQ(heard.back(), 1);
}

// The PostgreSQL server crashes (immediate shutdown: no checkpoint, like a power cut of the
// server) and restarts while four writers append with client-chosen ids. A writer retries a
// failed append with the same ids until it succeeds. Afterwards every append is stored exactly
// once, at the position its acknowledgement named, and positions are dense.
TEST(PgRestartTest, AppendsRideOutAServerCrashExactlyOnce) {
  if (std::getenv("TRIAD_TEST_POSTGRES") == nullptr) GTEST_SKIP() << "TRIAD_TEST_POSTGRES unset";
  const std::string script = std::string(TRIAD_SOURCE_DIR) + "/scripts/pg-cluster.sh";
  const std::string dir = "/tmp/triad-restart-" + std::to_string(::getpid());
  const std::string port = std::to_string(30000 + ::getpid() % 10000);
  auto run = [&](const std::string& verb) {
    return std::system((script + " " + verb + " " + dir + "/data " + port + " >/dev/null").c_str());
  };
  std::system(("mkdir -p " + dir + " && chmod 755 " + dir).c_str());
  ASSERT_EQ(run("start"), 0);
  const std::string uri = "postgresql://" +
                          std::string(::geteuid() == 0 ? "postgres" : std::getenv("USER")) +
                          "@/postgres?host=" + dir + "/data&port=" + port + "&schema=restart";

  auto opened = EventStore::Open(Options{}, uri);
  ASSERT_OK(opened);
  EventStore& store = **opened;

  constexpr int kWriters = 4;
  constexpr int kAppendsPerWriter = 1000;
  std::mutex mu;
  std::map<std::string, Position> acked;  // first event id → acknowledged first position
  std::atomic<int> failures{0};
  std::atomic<int> done_appends{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kAppendsPerWriter; ++i) {
        std::vector<NewEvent> events(2, Event("Deposited", i));
        char id[40];
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%04d%08d", w, i * 2);
        events[0].id = id;
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%04d%08d", w, i * 2 + 1);
        events[1].id = id;
        const std::string stream = "acct-" + std::to_string(w);
        for (int attempt = 0;; ++attempt) {
          auto r = store.Append(stream, ExpectedVersion::Any(), events);
          if (r.ok()) {
            std::lock_guard lock(mu);
            acked[events[0].id] = r->first_position;
            break;
          }
          ++failures;
          if (attempt > 200) {
            ADD_FAILURE() << "writer " << w << " gave up: " << r.status().ToString();
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ++done_appends;
      }
    });
  }
  while (done_appends < kWriters * kAppendsPerWriter / 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(run("crash"), 0);
  const int done_at_crash = done_appends;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(run("start"), 0);
  for (auto& t : writers) t.join();

  ASSERT_LT(done_at_crash, kWriters * kAppendsPerWriter) << "the crash came during the appends";
  std::printf("crash after %d of %d appends; %d attempts failed and were retried\n", done_at_crash,
              kWriters * kAppendsPerWriter, failures.load());
  auto log = store.ReadAll(ReadAllOptions{.from_position = 1, .limit = 1'000'000});
  ASSERT_OK(log);
  ASSERT_EQ(log->size(), static_cast<size_t>(kWriters * kAppendsPerWriter * 2))
      << "every append stored exactly once";
  std::set<std::string> ids;
  for (size_t i = 0; i < log->size(); ++i) {
    ASSERT_EQ((*log)[i].position, static_cast<Position>(i + 1));
    ASSERT_TRUE(ids.insert((*log)[i].id).second) << (*log)[i].id;
  }
  ASSERT_EQ(acked.size(), static_cast<size_t>(kWriters * kAppendsPerWriter));
  for (const auto& [id, position] : acked) {
    const RecordedEvent& e = (*log)[static_cast<size_t>(position - 1)];
    EXPECT_EQ(e.id, id) << "acknowledged at " << position;
  }
  auto problems = store.Check();
  ASSERT_OK(problems);
  EXPECT_TRUE(problems->ok()) << problems->problems.front();
  opened->reset();
  run("destroy");
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace triad::testing
