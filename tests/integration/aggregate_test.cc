// AggregateRepository (include/triad/aggregate.h) and the bank example (examples/bank/) against
// every embedded backend: loads, refusals, conflict retries, snapshots and schema versions.
#include "triad/aggregate.h"

#include "bank/account_snapshot.h"
#include "bank/bank.h"
#include "bank/json_fields.h"
#include "bank/money.h"
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace triad::testing {
namespace {

using bank::Account;
using bank::AccountStatus;
using bank::Bank;

// ---- A minimal aggregate for the generic tests: a running sum of "Added" events. ----

struct Tally {
  int64_t sum = 0;
  int64_t count = 0;
  friend bool operator==(const Tally&, const Tally&) = default;
};

NewEvent Added(int64_t n) {
  NewEvent e;
  e.type = "Added";
  e.data = "{\"n\":" + std::to_string(n) + "}";
  return e;
}

Result<Tally> EvolveTally(Tally t, const RecordedEvent& e) {
  if (e.type != "Added") return t;
  auto data = bank::ParseObject(e.data, "Added data");
  if (!data.ok()) return data.status();
  auto n = bank::IntField(*data, "n");
  if (!n.ok()) return n.status();
  t.sum += *n;
  ++t.count;
  return t;
}

// `evolve_calls`, when given, counts every evolve call: the proof of what a load replayed.
AggregateDefinition<Tally> TallyDefinition(int64_t snapshot_every, int32_t schema_version = 1,
                                           std::atomic<int>* evolve_calls = nullptr) {
  AggregateDefinition<Tally> d;
  d.category = "tally";
  d.evolve = [evolve_calls](Tally t, const RecordedEvent& e) {
    if (evolve_calls != nullptr) ++*evolve_calls;
    return EvolveTally(std::move(t), e);
  };
  d.serialize = [](const Tally& t) -> Result<std::string> {
    return std::to_string(t.sum) + ":" + std::to_string(t.count);
  };
  d.deserialize = [](std::string_view text) -> Result<Tally> {
    Tally t;
    long long sum = 0, count = 0;
    char tail = 0;
    if (std::sscanf(std::string(text).c_str(), "%lld:%lld%c", &sum, &count, &tail) != 2) {
      return DataLossError("not a tally snapshot");
    }
    t.sum = sum;
    t.count = count;
    return t;
  };
  d.schema_version = schema_version;
  d.snapshot_every = snapshot_every;
  return d;
}

// A command that adds the given numbers.
auto AddAll(std::vector<int64_t> numbers) {
  return [numbers](const Tally&) -> Result<std::vector<NewEvent>> {
    std::vector<NewEvent> events;
    for (int64_t n : numbers) events.push_back(Added(n));
    return events;
  };
}

// ---- Fixture: one fresh store per test, parametrized by backend. ----

class AggregateTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string uri =
        GetParam() == "memory" ? "memory:" : "sqlite:" + (dir_.path() / "store.db").string();
    auto opened = EventStore::Open(Options{}, uri);
    ASSERT_OK(opened);
    store_ = std::move(*opened);
  }

  void TearDown() override { store_.reset(); }

  EventStore& store() { return *store_; }

  Position Head() {
    auto head = store().HeadPosition();
    EXPECT_OK(head);
    return head.value_or(-1);
  }

  std::optional<Snapshot> StoredSnapshot(std::string_view stream) {
    auto s = store().LoadSnapshot(stream);
    EXPECT_OK(s);
    return s.ok() ? *s : std::nullopt;
  }

  triad::testing::TempDir dir_{"triad-aggregate"};
  std::unique_ptr<EventStore> store_;
};

INSTANTIATE_TEST_SUITE_P(aggregate, AggregateTest, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });

// ---- Loading ----

TEST_P(AggregateTest, LoadOfNewStreamIsInitialStateWithoutVersion) {
  Bank bank(store());
  auto loaded = bank.Get("1");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->state, Account{});
  EXPECT_EQ(loaded->state.status, AccountStatus::kNone);
  EXPECT_EQ(loaded->version, kNoStreamVersion);
  EXPECT_EQ(loaded->snapshot_version, kNoStreamVersion);
  EXPECT_EQ(loaded->events_replayed, 0);
  EXPECT_EQ(Head(), 0) << "a load never writes";
}

TEST_P(AggregateTest, LoadEvolvesOverEveryEvent) {
  Bank bank(store(), {.snapshot_every = 0});
  ASSERT_OK(bank.Open(
      {.account_id = "7", .owner = "Ada", .branch = "london", .initial_deposit_cents = 10000}));
  ASSERT_OK(bank.Deposit({.account_id = "7", .amount_cents = 2550}));
  ASSERT_OK(bank.Withdraw({.account_id = "7", .amount_cents = 1000}));
  // An event type this code does not know is skipped, not refused.
  NewEvent future{.type = "InterestAccrued", .data = R"({"amount_cents":999})"};
  ASSERT_OK(store().Append("account-7", ExpectedVersion::Exact(3), {&future, 1}));

  auto loaded = bank.Get("7");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->version, 4);
  EXPECT_EQ(loaded->events_replayed, 5);
  EXPECT_EQ(loaded->state.status, AccountStatus::kOpen);
  EXPECT_EQ(loaded->state.account_id, "7");
  EXPECT_EQ(loaded->state.owner, "Ada");
  EXPECT_EQ(loaded->state.branch, "london");
  EXPECT_EQ(loaded->state.balance_cents, 10000 + 2550 - 1000);

  ReadStreamOptions first;
  first.limit = 1;
  auto opened = store().ReadStream("account-7", first);
  ASSERT_OK(opened);
  EXPECT_EQ(loaded->state.opened_at_us, opened->at(0).recorded_at_us);
}

TEST_P(AggregateTest, LoadReadsInPages) {
  std::atomic<int> evolves{0};
  // Page sizes that divide the event count exactly and not.
  for (size_t page : {1u, 3u, 4u, 100u}) {
    AggregateRepository<Tally> tallies(store(), TallyDefinition(0, 1, &evolves),
                                       {.read_page_size = page});
    const std::string stream = "tally-page" + std::to_string(page);
    for (int i = 1; i <= 12; ++i) ASSERT_OK(tallies.Execute(stream, AddAll({i})));
    evolves = 0;
    auto loaded = tallies.Load(stream);
    ASSERT_OK(loaded);
    EXPECT_EQ(loaded->version, 11) << "page " << page;
    EXPECT_EQ(loaded->state.sum, 78) << "page " << page;
    EXPECT_EQ(loaded->state.count, 12) << "page " << page;
    EXPECT_EQ(evolves.load(), 12) << "page " << page;
  }
}

TEST_P(AggregateTest, EvolveErrorStopsTheLoadWithStreamAndVersion) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(0));
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1})));
  NewEvent bad{.type = "Added", .data = R"({"n":"three"})"};
  ASSERT_OK(store().Append("tally-1", ExpectedVersion::Exact(0), {&bad, 1}));
  auto loaded = tallies.Load("tally-1");
  EXPECT_ERROR_CODE(loaded, kDataLoss);
  EXPECT_NE(loaded.status().message().find("'tally-1' at version 1"), std::string::npos)
      << loaded.status().ToString();
  EXPECT_ERROR_CODE(tallies.Execute("tally-1", AddAll({1})), kDataLoss);
}

TEST_P(AggregateTest, StreamOfAnotherCategoryIsRefused) {
  Bank bank(store());
  auto wrong = bank.accounts().Load("order-1");
  EXPECT_ERROR_CODE(wrong, kInvalidArgument);
  int decides = 0;
  auto execute = bank.accounts().Execute("order-1", [&](const Account&) {
    ++decides;
    return Result<std::vector<NewEvent>>(std::vector<NewEvent>{});
  });
  EXPECT_EQ(decides, 0);
  EXPECT_ERROR_CODE(execute, kInvalidArgument);
  EXPECT_EQ(Head(), 0);
}

TEST_P(AggregateTest, UnusableDefinitionOrOptionsAreRefused) {
  AggregateDefinition<Tally> no_evolve = TallyDefinition(0);
  no_evolve.evolve = nullptr;
  AggregateRepository<Tally> a(store(), no_evolve);
  EXPECT_ERROR_CODE(a.status(), kInvalidArgument);
  EXPECT_ERROR_CODE(a.Load("tally-1"), kInvalidArgument);

  AggregateDefinition<Tally> half_codec = TallyDefinition(5);
  half_codec.deserialize = nullptr;
  AggregateRepository<Tally> b(store(), half_codec);
  EXPECT_ERROR_CODE(b.Execute("tally-1", AddAll({1})), kInvalidArgument);

  AggregateRepository<Tally> c(store(), TallyDefinition(0), {.max_attempts = 0});
  EXPECT_ERROR_CODE(c.status(), kInvalidArgument);
  AggregateRepository<Tally> d(store(), TallyDefinition(0), {.read_page_size = 0});
  EXPECT_ERROR_CODE(d.status(), kInvalidArgument);
  EXPECT_EQ(Head(), 0);
}

// ---- Executing commands ----

TEST_P(AggregateTest, ExecuteReturnsWhatItAppendedAndTheNewState) {
  Bank bank(store());
  auto opened = bank.Open(
      {.account_id = "1", .owner = "Ada", .branch = "london", .initial_deposit_cents = 500});
  ASSERT_OK(opened);
  EXPECT_EQ(opened->append.first_version, 0);
  EXPECT_EQ(opened->append.last_version, 1);
  EXPECT_EQ(opened->append.first_position, 1);
  EXPECT_EQ(opened->append.last_position, 2);
  EXPECT_EQ(opened->version, 1);
  EXPECT_EQ(opened->attempts, 1);
  EXPECT_EQ(opened->state.balance_cents, 500);

  auto deposited = bank.Deposit({.account_id = "1", .amount_cents = 125});
  ASSERT_OK(deposited);
  EXPECT_EQ(deposited->append.first_version, 2);
  EXPECT_EQ(deposited->append.first_position, 3);
  EXPECT_EQ(deposited->state.balance_cents, 625);

  // The returned state is the one a load builds, store-assigned fields included.
  auto loaded = bank.Get("1");
  ASSERT_OK(loaded);
  EXPECT_EQ(deposited->state, loaded->state);
  EXPECT_NE(loaded->state.opened_at_us, 0);

  ReadStreamOptions all;
  auto events = store().ReadStream("account-1", all);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ(events->at(0).type, "AccountOpened");
  EXPECT_EQ(events->at(0).data, R"({"account_id":"1","branch":"london","owner":"Ada"})");
  EXPECT_EQ(events->at(1).type, "MoneyDeposited");
  EXPECT_EQ(events->at(1).data, R"({"amount_cents":500})");
  EXPECT_EQ(events->at(2).data, R"({"amount_cents":125})");
  EXPECT_EQ(bank.accounts().stats().commands_executed, 2);
}

TEST_P(AggregateTest, RefusedCommandIsReturnedUnchangedAndWritesNothing) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(1));
  ASSERT_OK(tallies.Execute("tally-1", AddAll({5})));
  const Position head = Head();
  auto refused = tallies.Execute("tally-1", [](const Tally& t) -> Result<std::vector<NewEvent>> {
    return ResourceExhaustedError("tally is at " + std::to_string(t.sum));
  });
  EXPECT_ERROR_CODE(refused, kResourceExhausted);
  EXPECT_EQ(refused.status().message(), "tally is at 5");
  EXPECT_EQ(Head(), head);
  auto info = store().GetStreamInfo("tally-1");
  ASSERT_OK(info);
  EXPECT_EQ(info->version, 0);
  EXPECT_EQ(tallies.stats().commands_refused, 1);
  EXPECT_EQ(StoredSnapshot("tally-1")->version, 0) << "no snapshot for a refused command";
}

TEST_P(AggregateTest, BankRefusalsWriteNothing) {
  Bank bank(store());
  // A command on an account that was never opened does not create its stream.
  EXPECT_ERROR_CODE(bank.Deposit({.account_id = "9", .amount_cents = 100}), kNotFound);
  EXPECT_ERROR_CODE(store().GetStreamInfo("account-9"), kNotFound);

  ASSERT_OK(bank.Open({.account_id = "9", .owner = "Ada", .branch = "london"}));
  const Position head = Head();
  EXPECT_ERROR_CODE(bank.Open({.account_id = "9", .owner = "Eve", .branch = "paris"}),
                    kAlreadyExists);
  EXPECT_ERROR_CODE(bank.Open({.account_id = "10", .owner = "", .branch = "paris"}),
                    kInvalidArgument);
  EXPECT_ERROR_CODE(bank.Deposit({.account_id = "9", .amount_cents = 0}), kInvalidArgument);
  EXPECT_ERROR_CODE(bank.Deposit({.account_id = "9", .amount_cents = -5}), kInvalidArgument);
  EXPECT_ERROR_CODE(bank.Deposit({.account_id = "9", .amount_cents = ::bank::kMaxAmountCents + 1}),
                    kInvalidArgument);
  EXPECT_EQ(Head(), head);
  EXPECT_ERROR_CODE(store().GetStreamInfo("account-10"), kNotFound);
  EXPECT_EQ(bank.accounts().stats().commands_refused, 6);
}

TEST_P(AggregateTest, OverdraftIsRefused) {
  Bank bank(store());
  ASSERT_OK(bank.Open(
      {.account_id = "5", .owner = "Ada", .branch = "london", .initial_deposit_cents = 1000}));
  const Position head = Head();
  auto overdraft = bank.Withdraw({.account_id = "5", .amount_cents = 1001});
  EXPECT_ERROR_CODE(overdraft, kFailedPrecondition);
  EXPECT_EQ(overdraft.status().message(),
            "insufficient funds: account 5 holds 10.00, cannot withdraw 10.01");
  EXPECT_EQ(Head(), head);

  // Withdrawing exactly the balance is allowed; one cent more then is not.
  auto all = bank.Withdraw({.account_id = "5", .amount_cents = 1000});
  ASSERT_OK(all);
  EXPECT_EQ(all->state.balance_cents, 0);
  EXPECT_ERROR_CODE(bank.Withdraw({.account_id = "5", .amount_cents = 1}), kFailedPrecondition);
  auto loaded = bank.Get("5");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->state.balance_cents, 0);
  EXPECT_EQ(loaded->version, 2);
}

TEST_P(AggregateTest, CloseNeedsAZeroBalanceAndIsFinal) {
  Bank bank(store());
  ASSERT_OK(bank.Open(
      {.account_id = "3", .owner = "Ada", .branch = "london", .initial_deposit_cents = 700}));
  EXPECT_ERROR_CODE(bank.Close({.account_id = "3"}), kFailedPrecondition);
  ASSERT_OK(bank.Withdraw({.account_id = "3", .amount_cents = 700}));
  auto closed = bank.Close({.account_id = "3"});
  ASSERT_OK(closed);
  EXPECT_EQ(closed->state.status, AccountStatus::kClosed);
  EXPECT_ERROR_CODE(bank.Deposit({.account_id = "3", .amount_cents = 1}), kFailedPrecondition);
  EXPECT_ERROR_CODE(bank.Close({.account_id = "3"}), kFailedPrecondition);
  EXPECT_ERROR_CODE(bank.Open({.account_id = "3", .owner = "Ada", .branch = "london"}),
                    kAlreadyExists);
}

TEST_P(AggregateTest, EmptyDecisionWritesNothing) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(0));
  ASSERT_OK(tallies.Execute("tally-1", AddAll({4, 5})));
  auto nothing = tallies.Execute("tally-1", AddAll({}));
  ASSERT_OK(nothing);
  EXPECT_EQ(nothing->version, 1);
  EXPECT_EQ(nothing->append.first_version, 2);
  EXPECT_EQ(nothing->append.last_version, 1);
  EXPECT_EQ(nothing->append.first_position, 0);
  EXPECT_EQ(nothing->state.sum, 9);
  EXPECT_EQ(Head(), 2);
}

// ---- Conflicts and retries ----

TEST_P(AggregateTest, ConcurrentDepositsLoseNoUpdate) {
  constexpr int kThreads = 8;
  constexpr int kDepositsPerThread = 10;
  // Enough attempts that every deposit lands however the threads interleave: a thread can
  // lose at most once to each other deposit.
  Bank bank(store(), {.snapshot_every = 7, .repository = {.max_attempts = 1000}});
  ASSERT_OK(bank.Open({.account_id = "1", .owner = "Ada", .branch = "london"}));
  std::atomic<int> failures{0};
  std::atomic<int> retries{0};
  // Every thread's first deposit decides on the same loaded version before any appends, so at
  // least kThreads - 1 conflicts are certain, whatever the scheduler does.
  std::barrier all_loaded(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDepositsPerThread; ++i) {
        const bank::DepositMoney deposit{.account_id = "1", .amount_cents = 100 * (t + 1) + i};
        bool waited = i > 0;
        auto r = bank.accounts().Execute("account-1", [&](const Account& a) {
          if (!waited) all_loaded.arrive_and_wait();
          waited = true;
          return deposit.Decide(a);
        });
        if (!waited) all_loaded.arrive_and_drop();  // never block the others
        if (!r.ok()) {
          ADD_FAILURE() << r.status().ToString();
          ++failures;
          continue;
        }
        retries += r->attempts - 1;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);

  int64_t expected = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kDepositsPerThread; ++i) expected += 100 * (t + 1) + i;
  }
  auto loaded = bank.Get("1");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->state.balance_cents, expected);
  EXPECT_EQ(loaded->version, kThreads * kDepositsPerThread);
  const AggregateStats stats = bank.accounts().stats();
  EXPECT_EQ(stats.commands_executed, 1 + kThreads * kDepositsPerThread);
  // Every conflict was retried: the attempts beyond the first add up to the conflicts.
  EXPECT_GE(stats.conflicts, kThreads - 1);
  EXPECT_EQ(stats.conflicts, retries.load());
  EXPECT_EQ(stats.snapshot_failures, 0) << stats.last_snapshot_error.ToString();
  // A snapshot taken under contention still agrees with a full replay.
  Bank no_snapshots(store(), {.snapshot_every = 0});
  auto replayed = no_snapshots.accounts().Load("account-1");
  ASSERT_OK(replayed);
  EXPECT_GE(loaded->snapshot_version, 0);
  EXPECT_EQ(replayed->state, loaded->state);
}

// A rival writer appends between this command's load and its append.
TEST_P(AggregateTest, ConflictIsRetriedOnTheNewerState) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(0));
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1})));
  std::vector<int64_t> sums_seen;
  auto done = tallies.Execute("tally-1", [&](const Tally& t) -> Result<std::vector<NewEvent>> {
    sums_seen.push_back(t.sum);
    if (sums_seen.size() == 1) {
      NewEvent rival = Added(100);
      EXPECT_OK(store().Append("tally-1", ExpectedVersion::Any(), {&rival, 1}));
    }
    return std::vector<NewEvent>{Added(t.sum)};  // doubles the sum: depends on the state
  });
  ASSERT_OK(done);
  EXPECT_EQ(done->attempts, 2);
  EXPECT_EQ(sums_seen, (std::vector<int64_t>{1, 101}));
  EXPECT_EQ(done->version, 2);
  EXPECT_EQ(done->state.sum, 202);
  EXPECT_EQ(tallies.stats().conflicts, 1);
}

TEST_P(AggregateTest, RetriesExhaustedReturnAbortedWithCurrentVersion) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(0), {.max_attempts = 3});
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1})));
  int decides = 0;
  auto result = tallies.Execute("tally-1", [&](const Tally&) -> Result<std::vector<NewEvent>> {
    ++decides;
    NewEvent rival = Added(10);  // someone always gets there first
    EXPECT_OK(store().Append("tally-1", ExpectedVersion::Any(), {&rival, 1}));
    return std::vector<NewEvent>{Added(1000)};
  });
  EXPECT_ERROR_CODE(result, kAborted);
  EXPECT_EQ(decides, 3);
  ASSERT_TRUE(result.status().current_version().has_value());
  EXPECT_EQ(*result.status().current_version(), 3);  // v0 + three rival events
  EXPECT_NE(result.status().message().find("gave up after 3 attempt(s)"), std::string::npos)
      << result.status().ToString();
  EXPECT_EQ(tallies.stats().conflicts, 3);
  auto loaded = tallies.Load("tally-1");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->state.sum, 31) << "none of the command's events was written";
}

TEST_P(AggregateTest, DefaultAllowsFiveAttempts) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(0));
  int decides = 0;
  auto result = tallies.Execute("tally-1", [&](const Tally&) -> Result<std::vector<NewEvent>> {
    ++decides;
    NewEvent rival = Added(1);
    EXPECT_OK(store().Append("tally-1", ExpectedVersion::Any(), {&rival, 1}));
    return std::vector<NewEvent>{Added(1)};
  });
  EXPECT_ERROR_CODE(result, kAborted);
  EXPECT_EQ(decides, RepositoryOptions{}.max_attempts);
  EXPECT_EQ(decides, 5);
}

// Event ids that repeat an earlier append at another version are no race: retrying cannot help.
TEST_P(AggregateTest, ConflictWithoutNewEventsIsNotRetried) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(0));
  NewEvent fixed = Added(1);
  fixed.id = "0190a3c4-1111-7222-8333-444455556666";
  auto once = [&](const Tally&) -> Result<std::vector<NewEvent>> {
    return std::vector<NewEvent>{fixed};
  };
  ASSERT_OK(tallies.Execute("tally-1", once));
  int decides = 0;
  auto again = tallies.Execute("tally-1", [&](const Tally& t) {
    ++decides;
    return once(t);
  });
  EXPECT_ERROR_CODE(again, kAborted);
  EXPECT_EQ(decides, 1);
  EXPECT_EQ(again.status().current_version(), std::optional<int64_t>(0));
}

// ---- Snapshots ----

TEST_P(AggregateTest, SnapshotIsSavedWhenTheCountCrossesAMultipleOfN) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(3));
  auto snapshot_version = [&]() -> StreamVersion {
    auto s = StoredSnapshot("tally-1");
    return s ? s->version : kNoStreamVersion;
  };
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1})));  // 1 event
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1})));  // 2 events
  EXPECT_EQ(snapshot_version(), kNoStreamVersion);
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1})));  // 3 events: crossed 3
  EXPECT_EQ(snapshot_version(), 2);
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1})));  // 4
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1})));  // 5
  EXPECT_EQ(snapshot_version(), 2);
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1, 1})));  // 7 events: crossed 6
  EXPECT_EQ(snapshot_version(), 6) << "the snapshot holds the state after the whole command";
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1, 1, 1, 1, 1, 1, 1})));  // 14: crossed 9, 12
  EXPECT_EQ(snapshot_version(), 13);

  auto stored = StoredSnapshot("tally-1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->schema_version, 1);
  EXPECT_EQ(stored->state, "14:14");
  EXPECT_EQ(tallies.stats().snapshots_saved, 3);
}

TEST_P(AggregateTest, LoadStartsFromTheSnapshot) {
  std::atomic<int> evolves{0};
  AggregateRepository<Tally> tallies(store(), TallyDefinition(4, 1, &evolves));
  for (int i = 1; i <= 10; ++i) ASSERT_OK(tallies.Execute("tally-1", AddAll({i})));
  ASSERT_EQ(StoredSnapshot("tally-1")->version, 7);

  evolves = 0;
  auto loaded = tallies.Load("tally-1");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->snapshot_version, 7);
  EXPECT_EQ(loaded->events_replayed, 2);
  EXPECT_EQ(evolves.load(), 2) << "only the events after the snapshot were evolved";
  EXPECT_EQ(loaded->version, 9);
  EXPECT_EQ(loaded->state, (Tally{.sum = 55, .count = 10}));

  // The same state as a full replay.
  AggregateRepository<Tally> no_snapshots(store(), TallyDefinition(0));
  auto replayed = no_snapshots.Load("tally-1");
  ASSERT_OK(replayed);
  EXPECT_EQ(replayed->events_replayed, 10);
  EXPECT_EQ(replayed->state, loaded->state);
}

TEST_P(AggregateTest, BankSnapshotsAreUsedOnLoad) {
  Bank bank(store(), {.snapshot_every = 5});
  ASSERT_OK(bank.Open(
      {.account_id = "1", .owner = "Ada", .branch = "london", .initial_deposit_cents = 100}));
  for (int i = 0; i < 10; ++i) ASSERT_OK(bank.Deposit({.account_id = "1", .amount_cents = 10}));
  auto loaded = bank.Get("1");  // 12 events, snapshot after 10
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->snapshot_version, 9);
  EXPECT_EQ(loaded->events_replayed, 2);
  EXPECT_EQ(loaded->state.balance_cents, 200);
  EXPECT_EQ(loaded->state.owner, "Ada");
  EXPECT_NE(loaded->state.opened_at_us, 0);
  EXPECT_EQ(bank.accounts().stats().snapshots_saved, 2);
}

TEST_P(AggregateTest, SnapshotOfAnotherSchemaVersionIsIgnored) {
  AggregateRepository<Tally> v1(store(), TallyDefinition(2, /*schema_version=*/1));
  for (int i = 1; i <= 5; ++i) ASSERT_OK(v1.Execute("tally-1", AddAll({i})));
  ASSERT_EQ(StoredSnapshot("tally-1")->version, 3);

  // New code: same events, new snapshot format.
  std::atomic<int> evolves{0};
  AggregateRepository<Tally> v2(store(), TallyDefinition(2, /*schema_version=*/2, &evolves));
  auto loaded = v2.Load("tally-1");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->snapshot_version, kNoStreamVersion);
  EXPECT_EQ(loaded->events_replayed, 5);
  EXPECT_EQ(evolves.load(), 5);
  EXPECT_EQ(loaded->state, (Tally{.sum = 15, .count = 5}));
  EXPECT_EQ(v2.stats().snapshots_ignored, 1);

  // The next snapshot v2 saves replaces the old one, and v1 in turn ignores it.
  ASSERT_OK(v2.Execute("tally-1", AddAll({6})));  // 6 events: crossed 6
  auto stored = StoredSnapshot("tally-1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->schema_version, 2);
  EXPECT_EQ(stored->version, 5);
  auto old_code = v1.Load("tally-1");
  ASSERT_OK(old_code);
  EXPECT_EQ(old_code->snapshot_version, kNoStreamVersion);
  EXPECT_EQ(old_code->state.sum, 21);
}

TEST_P(AggregateTest, UnreadableSnapshotIsIgnored) {
  AggregateRepository<Tally> tallies(store(), TallyDefinition(100));
  ASSERT_OK(tallies.Execute("tally-1", AddAll({1, 2, 3})));
  ASSERT_OK(store().SaveSnapshot(
      Snapshot{.stream = "tally-1", .schema_version = 1, .version = 2, .state = "garbage"}));
  auto loaded = tallies.Load("tally-1");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->snapshot_version, kNoStreamVersion);
  EXPECT_EQ(loaded->state.sum, 6);
  EXPECT_EQ(tallies.stats().snapshots_ignored, 1);

  // The bank's codec refuses a snapshot that is not an account, too.
  EXPECT_ERROR_CODE(bank::DeserializeAccount(R"({"status":"open"})"), kDataLoss);
  EXPECT_ERROR_CODE(bank::DeserializeAccount("[1,2]"), kDataLoss);
}

TEST_P(AggregateTest, SnapshotFailureDoesNotFailTheCommand) {
  AggregateDefinition<Tally> def = TallyDefinition(1);
  def.serialize = [](const Tally&) -> Result<std::string> {
    return InternalError("serializer broke");
  };
  AggregateRepository<Tally> tallies(store(), def);
  auto done = tallies.Execute("tally-1", AddAll({1}));
  ASSERT_OK(done);
  EXPECT_EQ(done->state.sum, 1);
  const AggregateStats stats = tallies.stats();
  EXPECT_EQ(stats.snapshots_saved, 0);
  EXPECT_EQ(stats.snapshot_failures, 1);
  EXPECT_ERROR_CODE(stats.last_snapshot_error, kInternal);
  EXPECT_NE(stats.last_snapshot_error.message().find("'tally-1' at version 0"), std::string::npos)
      << stats.last_snapshot_error.ToString();
  EXPECT_FALSE(StoredSnapshot("tally-1").has_value());
}

TEST_P(AggregateTest, AccountSnapshotCodecRoundTrips) {
  const Account account{.status = AccountStatus::kClosed,
                        .account_id = "42",
                        .owner = "Grace \"Amazing\" Hopper",
                        .branch = "new-york",
                        .balance_cents = 123456789,
                        .opened_at_us = 1767225600000000};
  auto text = bank::SerializeAccount(account);
  ASSERT_OK(text);
  auto back = bank::DeserializeAccount(*text);
  ASSERT_OK(back);
  EXPECT_EQ(*back, account);
}

}  // namespace
}  // namespace triad::testing
