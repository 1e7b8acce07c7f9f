// Projection leases on PostgreSQL: two nodes (each its own EventStore, read-model backend and
// engine on one schema) register the same projection; exactly one runs it, the other takes over
// within a bounded time when the owner goes away, and a batch whose lease was lost never commits.
#include "testing/pg_test_env.h"
#include "testing/test_util.h"

#include "triad/event_store.h"
#include "triad/projection_engine.h"
#include "triad/read_model_backend.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "postgres/pg_connection.h"
#include "postgres/pg_uri.h"

namespace triad {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::WithApplicationName;

constexpr int64_t kLeaseRetryUs = 100'000;

// Polls `condition` (real time) until it holds or `limit` passes: for effects of other threads
// and of another "node" that have no waitable signal.
bool Within(milliseconds limit, const std::function<bool()>& condition) {
  const auto deadline = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

// Runs `sql` on the test server outside any Triad schema.
Result<internal::pg::PgResult> AdminQuery(const std::string& uri, const std::string& sql) {
  auto target = internal::pg::ParsePostgresUri(uri);
  if (!target.ok()) return target.status();
  auto conn = internal::pg::PgConnection::Open(
      internal::pg::PgTarget{
          .conninfo = target->conninfo, .schema = "public", .display = target->display},
      /*create_schema=*/false);
  if (!conn.ok()) return conn.status();
  return (*conn)->ExecLast(sql);
}

// Ends the session of `application_name` that holds an advisory lock: the read model's writer
// (the only session that takes leases). Returns how many sessions were ended.
int64_t TerminateLeaseHolder(const std::string& uri, const std::string& application_name) {
  auto r = AdminQuery(uri,
                      "SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a WHERE "
                      "a.application_name = '" +
                          application_name +
                          "' AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND "
                          "l.locktype = 'advisory' AND l.granted)");
  EXPECT_OK(r.status());
  return r.ok() ? r->Int(0, 0) : -1;
}

// Per-stream counter: one document per acct stream with the number and sum of Deposited events.
struct Fold {
  int count = 0;
  int sum = 0;
};

std::map<std::string, Fold> FoldLog(EventStore& store) {
  std::map<std::string, Fold> out;
  auto events = store.ReadAll(ReadAllOptions{.from_position = 1, .limit = 100'000});
  EXPECT_OK(events.status());
  if (!events.ok()) return out;
  for (const RecordedEvent& e : *events) {
    if (e.type != "Deposited") continue;
    Fold& f = out[e.stream];
    f.count += 1;
    f.sum += nlohmann::json::parse(e.data).value("amount", 0);
  }
  return out;
}

// One node: its own event store, read model and engine on the shared schema.
class Node {
 public:
  // `block` is consulted for each event before it is applied: the handler waits while it
  // returns true for that event (released by Unblock()).
  Node(const std::string& uri, std::string label) : label_(std::move(label)) {
    auto store = EventStore::Open(Options{}, uri);
    EXPECT_OK(store.status());
    if (!store.ok()) return;
    store_ = std::move(*store);
    EngineOptions options;
    options.read_model_uri = uri;
    options.lease_retry_interval_us = kLeaseRetryUs;
    options.external_poll_interval_us = 50'000;
    options.retry_backoff_us = 50'000;
    auto engine = ProjectionEngine::Open(store_.get(), options);
    EXPECT_OK(engine.status());
    if (engine.ok()) engine_ = std::move(*engine);
  }

  bool ok() const { return engine_ != nullptr; }
  EventStore& store() { return *store_; }
  ProjectionEngine& engine() { return *engine_; }
  int calls() const { return calls_.load(); }

  Status RegisterCounter() {
    ProjectionDefinition def;
    def.name = "counter";
    def.event_types = {"Deposited"};
    def.categories = {"acct"};
    def.collections = {{"counters", {{"count", IndexType::kNumber}}}};
    def.key = DocumentKey::kStream;
    def.on_event = [this](const EventView& e, ProjectionContext& ctx) -> Status {
      calls_.fetch_add(1);
      const auto data = nlohmann::json::parse(e.data);
      if (data.value("block", false)) WaitWhileBlocked();
      auto doc = ctx.Upsert("counters", std::string(e.stream));
      if (!doc.ok()) return doc.status();
      (**doc)["count"] = (**doc).value("count", 0) + 1;
      (**doc)["sum"] = (**doc).value("sum", 0) + data.value("amount", 0);
      return Status();
    };
    return engine_->Register(std::move(def));
  }

  ProjectionStatus Snapshot() {
    auto s = engine_->GetStatus("counter");
    EXPECT_OK(s.status());
    return s.ok() ? *s : ProjectionStatus{};
  }

  // Makes the handler wait on events marked {"block": true} until Unblock().
  void BlockMarkedEvents() {
    std::lock_guard lock(mu_);
    blocking_ = true;
  }
  void Unblock() {
    {
      std::lock_guard lock(mu_);
      blocking_ = false;
    }
    cv_.notify_all();
  }
  bool blocked() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

  // Destroys the engine, then the store: the node goes away (its sessions end).
  void Kill() {
    engine_.reset();
    store_.reset();
  }

 private:
  void WaitWhileBlocked() {
    std::unique_lock lock(mu_);
    waiting_ = blocking_;
    // Bounded so that a failing test cannot hang.
    cv_.wait_for(lock, std::chrono::seconds(30), [this] { return !blocking_; });
    waiting_ = false;
  }

  std::string label_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ProjectionEngine> engine_;
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool blocking_ = false;
  bool waiting_ = false;
};

// Appends `n` Deposited events (amount i+1) over a few acct streams plus one filtered-out event;
// returns the number of Deposited events.
int AppendDeposits(EventStore& store, int n, int round, bool block_first = false) {
  for (int i = 0; i < n; ++i) {
    nlohmann::json data = {{"amount", i + 1 + round * 100}};
    if (block_first && i == 0) data["block"] = true;
    NewEvent e{.type = "Deposited", .data = data.dump()};
    EXPECT_OK(
        store.Append("acct-" + std::to_string(i % 5), ExpectedVersion::Any(), {&e, 1}).status());
  }
  NewEvent other{.type = "Opened"};
  EXPECT_OK(store.Append("acct-0", ExpectedVersion::Any(), {&other, 1}).status());
  return n;
}

Position Head(EventStore& store) {
  auto head = store.HeadPosition();
  EXPECT_OK(head.status());
  return head.ok() ? *head : 0;
}

// The counter documents as `engine` serves them, equal to the fold of the log.
void ExpectDocumentsEqualFold(ProjectionEngine& engine, EventStore& store) {
  const auto fold = FoldLog(store);
  auto page = engine.Find("counters", Query{.limit = 1000});
  ASSERT_OK(page.status());
  std::map<std::string, Fold> got;
  for (const Document& d : page->documents) {
    const auto body = nlohmann::json::parse(d.body);
    got[d.id] = Fold{body.value("count", 0), body.value("sum", 0)};
  }
  ASSERT_EQ(got.size(), fold.size());
  for (const auto& [stream, f] : fold) {
    ASSERT_TRUE(got.contains(stream)) << stream;
    EXPECT_EQ(got[stream].count, f.count) << stream;
    EXPECT_EQ(got[stream].sum, f.sum) << stream;
  }
}

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::PostgresTestUrl()) GTEST_SKIP() << "TRIAD_TEST_POSTGRES is not set";
    uri_ = testing::FreshPostgresUri("lease");
  }
  void TearDown() override {
    if (!uri_.empty()) testing::DropPostgresSchema(uri_);
  }
  std::string uri_;
};

TEST_F(LeaseTest, BackendLeaseIsExclusiveAndLostWithItsSession) {
  const std::string app = "triad_lease_backend_a";
  auto a = OpenReadModelBackend(ReadModelOptions{}, WithApplicationName(uri_, app));
  ASSERT_OK(a.status());
  auto b = OpenReadModelBackend(ReadModelOptions{}, uri_);
  ASSERT_OK(b.status());

  auto taken = (*a)->TryAcquireLease("p");
  ASSERT_OK(taken.status());
  EXPECT_TRUE(*taken);
  taken = (*a)->TryAcquireLease("p");  // already held: still true
  ASSERT_OK(taken.status());
  EXPECT_TRUE(*taken);
  EXPECT_TRUE((*a)->HoldsLease("p"));
  taken = (*b)->TryAcquireLease("p");
  ASSERT_OK(taken.status());
  EXPECT_FALSE(*taken);
  EXPECT_FALSE((*b)->HoldsLease("p"));
  taken = (*b)->TryAcquireLease("q");  // another projection: independent
  ASSERT_OK(taken.status());
  EXPECT_TRUE(*taken);

  // A's writer session dies: PostgreSQL frees the lock, B takes it.
  ASSERT_EQ(TerminateLeaseHolder(uri_, app), 1);
  ASSERT_TRUE(Within(milliseconds(5000), [&] {
    auto t = (*b)->TryAcquireLease("p");
    return t.ok() && *t;
  }));
  // A reconnects inside BeginWrite, cannot re-take "p", and says so before any commit.
  {
    auto txn = (*a)->BeginWrite();
    ASSERT_OK(txn.status());
    EXPECT_FALSE((*a)->HoldsLease("p"));
  }
  taken = (*a)->TryAcquireLease("p");
  ASSERT_OK(taken.status());
  EXPECT_FALSE(*taken);

  // Released by B: A can take it.
  (*b)->ReleaseLease("p");
  EXPECT_FALSE((*b)->HoldsLease("p"));
  taken = (*a)->TryAcquireLease("p");
  ASSERT_OK(taken.status());
  EXPECT_TRUE(*taken);
}

TEST_F(LeaseTest, OneNodeRunsTheProjectionAndAnotherTakesOverWhenItDies) {
  auto a = std::make_unique<Node>(uri_, "a");
  Node b(uri_, "b");
  ASSERT_TRUE(a->ok() && b.ok());
  ASSERT_OK(a->RegisterCounter());
  ASSERT_OK(a->engine().Start());
  ASSERT_TRUE(Within(milliseconds(5000), [&] { return a->Snapshot().leased; }));
  ASSERT_OK(b.RegisterCounter());
  ASSERT_OK(b.engine().Start());

  const int first = AppendDeposits(a->store(), 40, 0);
  const Position head = Head(a->store());
  ASSERT_OK(a->engine().WaitForCheckpoint("counter", head, 20'000'000).status());
  // B sees the same shared record (it polls the store for a projection it does not run).
  ASSERT_OK(b.engine().WaitForCheckpoint("counter", head, 20'000'000).status());
  EXPECT_EQ(a->calls(), first);
  EXPECT_EQ(b.calls(), 0);
  const ProjectionStatus sa = a->Snapshot();
  const ProjectionStatus sb = b.Snapshot();
  EXPECT_TRUE(sa.registered);
  EXPECT_TRUE(sa.leased);
  EXPECT_TRUE(sb.registered);
  EXPECT_FALSE(sb.leased);
  EXPECT_EQ(sb.checkpoint, head);
  ExpectDocumentsEqualFold(b.engine(), b.store());

  // The owner dies; B takes over within a few retry intervals.
  a->Kill();
  const auto died = Clock::now();
  ASSERT_TRUE(Within(milliseconds(5 * kLeaseRetryUs / 1000), [&] { return b.Snapshot().leased; }))
      << "no takeover within 5 lease retry intervals";
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - died);
  RecordProperty("takeover_ms", static_cast<int>(took.count()));

  const int second = AppendDeposits(b.store(), 30, 1);
  const Position head2 = Head(b.store());
  ASSERT_OK(b.engine().WaitForCheckpoint("counter", head2, 20'000'000).status());
  EXPECT_EQ(b.calls(), second);  // only the new events: nothing applied twice
  ExpectDocumentsEqualFold(b.engine(), b.store());
  a.reset();
}

TEST_F(LeaseTest, BatchWhoseLeaseWasLostIsNotCommitted) {
  const std::string app = "triad_lease_node_a";
  Node a(WithApplicationName(uri_, app), "a");
  Node b(uri_, "b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_OK(a.RegisterCounter());
  ASSERT_OK(a.engine().Start());
  ASSERT_TRUE(Within(milliseconds(5000), [&] { return a.Snapshot().leased; }));
  ASSERT_OK(b.RegisterCounter());
  ASSERT_OK(b.engine().Start());

  const int first = AppendDeposits(a.store(), 20, 0);
  ASSERT_OK(a.engine().WaitForCheckpoint("counter", Head(a.store()), 20'000'000).status());
  ASSERT_EQ(a.calls(), first);

  // A's next batch stops in its handler, mid-batch, holding its run lock.
  a.BlockMarkedEvents();
  const int second = AppendDeposits(a.store(), 25, 1, /*block_first=*/true);
  const Position head = Head(a.store());
  ASSERT_TRUE(Within(milliseconds(10'000), [&] { return a.blocked(); }));

  // A's writer session is cut while B is waiting to take over: B gets the lease and processes
  // the same events A's blocked batch holds.
  ASSERT_EQ(TerminateLeaseHolder(uri_, app), 1);
  ASSERT_OK(b.engine().WaitForCheckpoint("counter", head, 20'000'000).status());
  EXPECT_TRUE(b.Snapshot().leased);
  EXPECT_EQ(b.calls(), second);

  // A's batch resumes: it must find its lease lost and roll back, not commit a second time.
  a.Unblock();
  ASSERT_TRUE(Within(milliseconds(10'000), [&] { return !a.Snapshot().leased; }));
  // A ran its batch up to the blocked event at least (it may stop early: the first write after
  // the cut reopens the writer and finds the lease gone), then abandoned it.
  const int a_calls = a.calls();
  EXPECT_GT(a_calls, first);
  EXPECT_LE(a_calls, first + second);
  EXPECT_EQ(a.Snapshot().checkpoint, head);
  ExpectDocumentsEqualFold(b.engine(), b.store());

  // And it stays that way: new events are applied once, by B.
  const int third = AppendDeposits(b.store(), 10, 2);
  ASSERT_OK(b.engine().WaitForCheckpoint("counter", Head(b.store()), 20'000'000).status());
  EXPECT_EQ(b.calls(), second + third);
  EXPECT_EQ(a.calls(), a_calls);  // A stays in standby
  ExpectDocumentsEqualFold(a.engine(), a.store());
}

}  // namespace
}  // namespace triad
