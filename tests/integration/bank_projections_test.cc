// The bank example's projections (examples/bank/bank_projections.h) run by the projection engine
// over a scripted history: exact documents and `_meta`, branch totals against the account
// documents, indexed queries, a fresh read, read-your-own-writes, and the dormant tick driven by
// a simulated clock. Also the overdraft limit that makes "overdrawn" reachable.
//
// Memory event store and "memory:" read model; the store, the engine and the test share one
// testing::SimulatedClock, so recorded_at values and ticks are exact.
#include "bank/bank_projections.h"

#include "bank/account_snapshot.h"
#include "bank/bank.h"
#include "testing/simulated_clock.h"
#include "testing/test_util.h"

#include "triad/event_store.h"
#include "triad/projection_engine.h"
#include "triad/read_model_backend.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace triad::testing {
namespace {

using nlohmann::json;

constexpr int64_t kHour = int64_t{3600} * 1'000'000;
constexpr int64_t kDay = 24 * kHour;

class BankProjectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t0_ = clock_.NowMicros();
    Options options;
    options.clock = &clock_;
    auto store = EventStore::Open(options, "memory:");
    ASSERT_OK(store);
    store_ = std::move(*store);
    auto read_model = OpenReadModelBackend(ReadModelOptions{}, "memory:");
    ASSERT_OK(read_model);
    read_model_ = std::move(*read_model);
    EngineOptions engine_options;
    engine_options.read_model = read_model_.get();
    engine_options.clock = &clock_;
    auto engine = ProjectionEngine::Open(store_.get(), engine_options);
    ASSERT_OK(engine);
    engine_ = std::move(*engine);
    ASSERT_OK(bank::RegisterBankProjections(*engine_));
    bank_ = std::make_unique<bank::Bank>(*store_);
  }

  void TearDown() override {
    if (engine_ != nullptr) engine_->Stop();
  }

  // Runs a command at t0 + `at_us` and records the stream's last position and version.
  void At(int64_t at_us, const bank::AccountResult& result) {
    ASSERT_OK(result);
    ASSERT_EQ(clock_.NowMicros(), t0_ + at_us) << "the script must call Advance() first";
    const std::string stream = bank::Bank::StreamOf(result->state.account_id);
    last_position_[stream] = result->append.last_position;
    last_version_[stream] = result->append.last_version;
  }
  void AdvanceTo(int64_t at_us) { clock_.Advance(t0_ + at_us - clock_.NowMicros()); }

  // The history every test starts from (times are offsets from t0):
  //   0h  open 1: Ada Lovelace, london, deposit 100.00
  //   1h  open 2: Grace Hopper, new-york, overdraft limit 50.00
  //   2h  open 3: Ada Lovelace, helsinki, deposit 20.00
  //   3h  open 4: Linus Torvalds, london, deposit 5.00
  //   4h  deposit 10.00 into 2;  5h  withdraw 40.00 from 2 (balance -30.00: overdrawn)
  //   6h  withdraw 30.00 from 1; 7h  withdraw 5.00 from 4; 8h  close 4
  void RunScript() {
    At(0, bank_->Open({.account_id = "1",
                       .owner = "Ada Lovelace",
                       .branch = "london",
                       .initial_deposit_cents = 10000}));
    AdvanceTo(1 * kHour);
    At(1 * kHour, bank_->Open({.account_id = "2",
                               .owner = "Grace Hopper",
                               .branch = "new-york",
                               .overdraft_limit_cents = 5000}));
    AdvanceTo(2 * kHour);
    At(2 * kHour, bank_->Open({.account_id = "3",
                               .owner = "Ada Lovelace",
                               .branch = "helsinki",
                               .initial_deposit_cents = 2000}));
    AdvanceTo(3 * kHour);
    At(3 * kHour, bank_->Open({.account_id = "4",
                               .owner = "Linus Torvalds",
                               .branch = "london",
                               .initial_deposit_cents = 500}));
    AdvanceTo(4 * kHour);
    At(4 * kHour, bank_->Deposit({.account_id = "2", .amount_cents = 1000}));
    AdvanceTo(5 * kHour);
    At(5 * kHour, bank_->Withdraw({.account_id = "2", .amount_cents = 4000}));
    // Beyond the limit: refused, nothing written.
    EXPECT_ERROR_CODE(bank_->Withdraw({.account_id = "2", .amount_cents = 2001}),
                      kFailedPrecondition);
    AdvanceTo(6 * kHour);
    At(6 * kHour, bank_->Withdraw({.account_id = "1", .amount_cents = 3000}));
    AdvanceTo(7 * kHour);
    At(7 * kHour, bank_->Withdraw({.account_id = "4", .amount_cents = 500}));
    AdvanceTo(8 * kHour);
    At(8 * kHour, bank_->Close({.account_id = "4"}));
  }

  Position Head() {
    auto head = store_->HeadPosition();
    EXPECT_OK(head);
    return head.value_or(-1);
  }

  void RunAll() {
    for (const char* name : {"accounts", "branch_totals", "dormant_accounts"}) {
      auto reached = engine_->RunOnce(name);
      ASSERT_OK(reached) << name;
      EXPECT_EQ(*reached, Head()) << name;
    }
  }

  // The body of a document as JSON; null when it is missing.
  json Body(std::string_view collection, std::string_view id) {
    auto read = engine_->Get(collection, id);
    EXPECT_OK(read);
    if (!read.ok() || !read->document.has_value()) return nullptr;
    return json::parse(read->document->body);
  }

  // The ids of a query's documents, following cursors to the end.
  std::vector<std::string> Ids(std::string_view collection, Query query) {
    std::vector<std::string> ids;
    for (int page = 0; page < 100; ++page) {
      auto found = engine_->Find(collection, query);
      EXPECT_OK(found);
      if (!found.ok()) break;
      EXPECT_EQ(found->as_of, Head());
      for (const Document& d : found->documents) ids.push_back(d.id);
      if (found->next_cursor.empty()) break;
      query.after = found->next_cursor;
    }
    return ids;
  }

  static Filter Where(std::string field, FilterOp op, std::vector<FieldValue> values) {
    return Filter{.field = std::move(field), .op = op, .values = std::move(values)};
  }

  SimulatedClock clock_;
  int64_t t0_ = 0;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ReadModelBackend> read_model_;
  std::unique_ptr<ProjectionEngine> engine_;
  std::unique_ptr<bank::Bank> bank_;
  std::map<std::string, Position> last_position_;
  std::map<std::string, StreamVersion> last_version_;
};

TEST_F(BankProjectionsTest, AccountDocumentsHoldTheFoldOfTheirStreams) {
  ASSERT_NO_FATAL_FAILURE(RunScript());
  ASSERT_NO_FATAL_FAILURE(RunAll());
  const std::map<std::string, json> want = {
      {"account-1",
       {{"account_id", "1"},
        {"owner", "Ada Lovelace"},
        {"branch", "london"},
        {"balance_cents", 7000},
        {"overdraft_limit_cents", 0},
        {"status", "open"},
        {"opened_at_us", t0_},
        {"last_activity_at_us", t0_ + 6 * kHour}}},
      {"account-2",
       {{"account_id", "2"},
        {"owner", "Grace Hopper"},
        {"branch", "new-york"},
        {"balance_cents", -3000},
        {"overdraft_limit_cents", 5000},
        {"status", "overdrawn"},
        {"opened_at_us", t0_ + 1 * kHour},
        {"last_activity_at_us", t0_ + 5 * kHour}}},
      {"account-3",
       {{"account_id", "3"},
        {"owner", "Ada Lovelace"},
        {"branch", "helsinki"},
        {"balance_cents", 2000},
        {"overdraft_limit_cents", 0},
        {"status", "open"},
        {"opened_at_us", t0_ + 2 * kHour},
        {"last_activity_at_us", t0_ + 2 * kHour}}},
      {"account-4",
       {{"account_id", "4"},
        {"owner", "Linus Torvalds"},
        {"branch", "london"},
        {"balance_cents", 0},
        {"overdraft_limit_cents", 0},
        {"status", "closed"},
        {"opened_at_us", t0_ + 3 * kHour},
        {"last_activity_at_us", t0_ + 8 * kHour}}},
  };
  for (const auto& [id, body] : want) {
    SCOPED_TRACE(id);
    auto read = engine_->Get(bank::kAccountsCollection, id);
    ASSERT_OK(read);
    ASSERT_TRUE(read->document.has_value());
    EXPECT_EQ(read->as_of, Head());
    EXPECT_EQ(json::parse(read->document->body), body);
    const DocumentMeta& meta = read->document->meta;
    EXPECT_EQ(meta.projection, "accounts@1");
    EXPECT_EQ(meta.position, last_position_.at(id));
    const std::map<std::string, StreamVersion, std::less<>> sources = {{id, last_version_.at(id)}};
    EXPECT_EQ(meta.sources, sources);
  }
  auto count = engine_->Count(bank::kAccountsCollection, Query{});
  ASSERT_OK(count);
  EXPECT_EQ(count->count, 4);

  // A missing document is an answer, not an error.
  auto missing = engine_->Get(bank::kAccountsCollection, "account-99");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->document.has_value());
  EXPECT_EQ(missing->as_of, Head());
}

TEST_F(BankProjectionsTest, BranchTotalsEqualTheSumOfTheAccountDocuments) {
  ASSERT_NO_FATAL_FAILURE(RunScript());
  ASSERT_NO_FATAL_FAILURE(RunAll());
  EXPECT_EQ(
      Body(bank::kBranchTotalsCollection, "london"),
      json({{"branch", "london"}, {"accounts", 2}, {"open_accounts", 1}, {"balance_cents", 7000}}));
  EXPECT_EQ(Body(bank::kBranchTotalsCollection, "new-york"), json({{"branch", "new-york"},
                                                                   {"accounts", 1},
                                                                   {"open_accounts", 1},
                                                                   {"balance_cents", -3000}}));
  EXPECT_EQ(Body(bank::kBranchTotalsCollection, "helsinki"), json({{"branch", "helsinki"},
                                                                   {"accounts", 1},
                                                                   {"open_accounts", 1},
                                                                   {"balance_cents", 2000}}));

  // The same totals recomputed from the accounts projection's documents.
  Query all;
  all.limit = 10000;
  auto accounts = engine_->Find(bank::kAccountsCollection, all);
  ASSERT_OK(accounts);
  std::map<std::string, json> sums;
  for (const Document& d : accounts->documents) {
    const json body = json::parse(d.body);
    json& sum = sums[body["branch"].get<std::string>()];
    sum["branch"] = body["branch"];
    sum["accounts"] = sum.value("accounts", 0) + 1;
    sum["open_accounts"] = sum.value("open_accounts", 0) + (body["status"] == "closed" ? 0 : 1);
    sum["balance_cents"] =
        sum.value("balance_cents", int64_t{0}) + body["balance_cents"].get<int64_t>();
  }
  auto totals = engine_->Find(bank::kBranchTotalsCollection, all);
  ASSERT_OK(totals);
  ASSERT_EQ(totals->documents.size(), sums.size());
  for (const Document& d : totals->documents) {
    EXPECT_EQ(json::parse(d.body), sums[d.id]) << d.id;
    // record_sources = false: a total does not list the accounts that built it.
    EXPECT_TRUE(d.meta.sources.empty()) << d.id;
    EXPECT_EQ(d.meta.projection, "branch_totals@1");
  }
}

TEST_F(BankProjectionsTest, QueriesByOwnerBranchStatusAndBalanceUseTheIndexes) {
  ASSERT_NO_FATAL_FAILURE(RunScript());
  ASSERT_NO_FATAL_FAILURE(RunAll());
  using V = std::vector<std::string>;
  const std::string_view accounts = bank::kAccountsCollection;
  Query q;
  q.filters = {Where("owner", FilterOp::kEq, {std::string("Ada Lovelace")})};
  EXPECT_EQ(Ids(accounts, q), (V{"account-1", "account-3"}));
  q.filters = {Where("branch", FilterOp::kEq, {std::string("london")})};
  EXPECT_EQ(Ids(accounts, q), (V{"account-1", "account-4"}));
  q.filters = {Where("status", FilterOp::kEq, {std::string("overdrawn")})};
  EXPECT_EQ(Ids(accounts, q), (V{"account-2"}));
  q.filters = {Where("status", FilterOp::kIn, {std::string("open"), std::string("overdrawn")})};
  EXPECT_EQ(Ids(accounts, q), (V{"account-1", "account-2", "account-3"}));
  q.filters = {Where("owner", FilterOp::kPrefix, {std::string("Ada")}),
               Where("branch", FilterOp::kNe, {std::string("london")})};
  EXPECT_EQ(Ids(accounts, q), (V{"account-3"}));

  // A balance range, ordered by balance, descending.
  q.filters = {Where("balance_cents", FilterOp::kGe, {0.0}),
               Where("balance_cents", FilterOp::kLt, {5000.0})};
  q.order_by = "balance_cents";
  q.order = SortOrder::kDescending;
  EXPECT_EQ(Ids(accounts, q), (V{"account-3", "account-4"}));

  // Every account by balance, two per page.
  Query paged;
  paged.order_by = "balance_cents";
  paged.limit = 2;
  EXPECT_EQ(Ids(accounts, paged), (V{"account-2", "account-4", "account-3", "account-1"}));

  Query closed;
  closed.filters = {Where("status", FilterOp::kEq, {std::string("closed")})};
  auto count = engine_->Count(accounts, closed);
  ASSERT_OK(count);
  EXPECT_EQ(count->count, 1);
  EXPECT_EQ(count->as_of, Head());

  // opened_at_us has no index: refused, naming it, unless a scan is allowed.
  Query unindexed;
  unindexed.filters = {Where("opened_at_us", FilterOp::kGe, {static_cast<double>(t0_ + kHour)})};
  auto refused = engine_->Find(accounts, unindexed);
  ASSERT_ERROR_CODE(refused, kInvalidArgument);
  EXPECT_NE(refused.status().message().find("opened_at_us"), std::string::npos)
      << refused.status().ToString();
  unindexed.allow_scan = true;
  EXPECT_EQ(Ids(accounts, unindexed), (V{"account-2", "account-3", "account-4"}));
}

TEST_F(BankProjectionsTest, FreshReadEqualsWhatTheEngineLaterWrites) {
  ASSERT_NO_FATAL_FAILURE(RunScript());
  ASSERT_NO_FATAL_FAILURE(RunAll());
  const Position before = Head();
  AdvanceTo(9 * kHour);
  auto deposited = bank_->Deposit({.account_id = "3", .amount_cents = 500});
  ASSERT_OK(deposited);

  GetOptions fresh;
  fresh.fresh = true;
  auto read = engine_->Get(bank::kAccountsCollection, "account-3", fresh);
  ASSERT_OK(read);
  ASSERT_TRUE(read->document.has_value());
  const json fresh_body = json::parse(read->document->body);
  EXPECT_EQ(fresh_body["balance_cents"], 2500);
  EXPECT_EQ(fresh_body["last_activity_at_us"], t0_ + 9 * kHour);
  EXPECT_EQ(read->document->meta.position, deposited->append.last_position);
  EXPECT_EQ(read->document->meta.sources.at("account-3"), deposited->append.last_version);

  // Nothing was written: the stored document is still the old one, as of the old checkpoint.
  auto stored = engine_->Get(bank::kAccountsCollection, "account-3");
  ASSERT_OK(stored);
  EXPECT_EQ(stored->as_of, before);
  EXPECT_EQ(json::parse(stored->document->body)["balance_cents"], 2000);

  // The engine then applies the deposit exactly once, to the same document.
  ASSERT_OK(engine_->RunOnce("accounts"));
  EXPECT_EQ(Body(bank::kAccountsCollection, "account-3"), fresh_body);
}

TEST_F(BankProjectionsTest, ReadYourOwnWriteWithMinPosition) {
  ASSERT_NO_FATAL_FAILURE(RunScript());
  ASSERT_OK(engine_->Start());
  auto deposited = bank_->Deposit({.account_id = "1", .amount_cents = 1234});
  ASSERT_OK(deposited);
  GetOptions wait;
  wait.min_position = deposited->append.last_position;
  // On the simulated clock this deadline never passes by itself; the wait ends when the worker
  // catches up, which is what is being tested.
  wait.timeout_us = 10'000'000;
  auto read = engine_->Get(bank::kAccountsCollection, "account-1", wait);
  ASSERT_OK(read);
  EXPECT_GE(read->as_of, deposited->append.last_position);
  ASSERT_TRUE(read->document.has_value());
  EXPECT_EQ(json::parse(read->document->body)["balance_cents"], 7000 + 1234);

  auto status = engine_->GetStatus("accounts");
  ASSERT_OK(status);
  EXPECT_GE(status->checkpoint, deposited->append.last_position);
  EXPECT_TRUE(status->serving);
  EXPECT_TRUE(status->registered);
}

// Polls `done` until it holds or 20 s of real time pass: the tick runs on an engine thread,
// woken by SimulatedClock::Advance, and there is no event to wait for.
template <typename Predicate>
bool Eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST_F(BankProjectionsTest, DormantTickMarksInactiveAccountsAndActivityUnmarksThem) {
  ASSERT_NO_FATAL_FAILURE(RunScript());
  AdvanceTo(60 * kDay);
  At(60 * kDay, bank_->Deposit({.account_id = "1", .amount_cents = 100}));
  ASSERT_OK(engine_->Start());
  ASSERT_OK(engine_->WaitForCheckpoint("dormant_accounts", Head(), 10'000'000));

  Query dormant;
  dormant.filters = {Where("dormant", FilterOp::kEq, {true})};
  auto none = engine_->Find(bank::kDormantCollection, dormant);
  ASSERT_OK(none);
  EXPECT_TRUE(none->documents.empty()) << "no account is 90 days old yet";
  // The closed account has no dormancy document.
  EXPECT_TRUE(Body(bank::kDormantCollection, "account-4").is_null());
  EXPECT_EQ(Body(bank::kDormantCollection, "account-2"),
            json({{"account_id", "2"},
                  {"owner", "Grace Hopper"},
                  {"branch", "new-york"},
                  {"last_activity_at_us", t0_ + 5 * kHour},
                  {"dormant", false}}));

  // 91 days after t0: accounts 2 and 3 have been idle for more than 90 days, account 1 for 31.
  AdvanceTo(91 * kDay);
  const int64_t tick_time = clock_.NowMicros();
  std::vector<std::string> ids;
  ASSERT_TRUE(Eventually([&] {
    auto found = engine_->Find(bank::kDormantCollection, dormant);
    if (!found.ok()) return false;
    ids.clear();
    for (const Document& d : found->documents) ids.push_back(d.id);
    return ids.size() >= 2;
  })) << "the tick did not mark the idle accounts";
  EXPECT_EQ(ids, (std::vector<std::string>{"account-2", "account-3"}));
  const json marked = Body(bank::kDormantCollection, "account-3");
  EXPECT_EQ(marked["dormant"], true);
  EXPECT_EQ(marked["last_activity_at_us"], t0_ + 2 * kHour);
  // The tick ran at the clock's time: after the advance, and the clock has not moved since.
  EXPECT_EQ(marked["dormant_since_us"], tick_time);
  EXPECT_EQ(Body(bank::kDormantCollection, "account-1")["dormant"], false);

  // Activity un-marks an account.
  auto deposited = bank_->Deposit({.account_id = "2", .amount_cents = 100});
  ASSERT_OK(deposited);
  ASSERT_OK(
      engine_->WaitForCheckpoint("dormant_accounts", deposited->append.last_position, 10'000'000));
  EXPECT_EQ(Body(bank::kDormantCollection, "account-2"), json({{"account_id", "2"},
                                                               {"owner", "Grace Hopper"},
                                                               {"branch", "new-york"},
                                                               {"last_activity_at_us", tick_time},
                                                               {"dormant", false}}));
  Query idle_since;
  idle_since.filters = {
      Where("last_activity_at_us", FilterOp::kLt, {static_cast<double>(t0_ + 30 * kDay)})};
  auto idle = engine_->Find(bank::kDormantCollection, idle_since);
  ASSERT_OK(idle);
  ASSERT_EQ(idle->documents.size(), 1u);
  EXPECT_EQ(idle->documents[0].id, "account-3");
}

TEST_F(BankProjectionsTest, ProjectionStatusesReachTheHead) {
  ASSERT_NO_FATAL_FAILURE(RunScript());
  ASSERT_NO_FATAL_FAILURE(RunAll());
  auto statuses = engine_->ListStatus();
  ASSERT_OK(statuses);
  std::vector<std::string> names;
  for (const ProjectionStatus& s : *statuses) {
    names.push_back(s.name);
    EXPECT_EQ(s.checkpoint, Head()) << s.name;
    EXPECT_EQ(s.lag_events, 0) << s.name;
    EXPECT_EQ(s.last_error, "") << s.name;
    EXPECT_EQ(s.error_policy, "stop") << s.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"accounts", "branch_totals", "dormant_accounts"}));
}

// ---- The overdraft limit (account_commands.h), which makes "overdrawn" reachable. ----

TEST_F(BankProjectionsTest, WithdrawalsMayGoDownToMinusTheOverdraftLimit) {
  ASSERT_OK(bank_->Open(
      {.account_id = "8", .owner = "Ada", .branch = "london", .overdraft_limit_cents = 1000}));
  auto refused = bank_->Withdraw({.account_id = "8", .amount_cents = 1001});
  ASSERT_ERROR_CODE(refused, kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "insufficient funds: account 8 holds 0.00 with an overdraft limit of 10.00, cannot "
            "withdraw 10.01");
  auto to_limit = bank_->Withdraw({.account_id = "8", .amount_cents = 1000});
  ASSERT_OK(to_limit);
  EXPECT_EQ(to_limit->state.balance_cents, -1000);
  EXPECT_ERROR_CODE(bank_->Withdraw({.account_id = "8", .amount_cents = 1}), kFailedPrecondition);
  // An overdrawn account cannot close: closing must not make a debt vanish.
  EXPECT_ERROR_CODE(bank_->Close({.account_id = "8"}), kFailedPrecondition);

  EXPECT_ERROR_CODE(
      bank_->Open(
          {.account_id = "9", .owner = "Eve", .branch = "london", .overdraft_limit_cents = -1}),
      kInvalidArgument);
  auto loaded = bank_->Get("8");
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->state.overdraft_limit_cents, 1000);

  const bank::Account account{.status = bank::AccountStatus::kOpen,
                              .account_id = "8",
                              .owner = "Ada",
                              .branch = "london",
                              .balance_cents = -1000,
                              .opened_at_us = t0_,
                              .overdraft_limit_cents = 1000};
  auto text = bank::SerializeAccount(account);
  ASSERT_OK(text);
  auto back = bank::DeserializeAccount(*text);
  ASSERT_OK(back);
  EXPECT_EQ(*back, account);
}

}  // namespace
}  // namespace triad::testing
