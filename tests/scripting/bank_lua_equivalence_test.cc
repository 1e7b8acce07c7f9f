// The bank's Lua projections (examples/bank/projections/*.lua) against the C++ ones: generated
// bank activity, both run by one engine (the Lua ones renamed *_lua, writing *_lua collections),
// and every document body equal, for every account and branch; then the dormant tick.
#include "bank/bank.h"
#include "bank/bank_projections.h"
#include "testing/simulated_clock.h"
#include "testing/test_util.h"

#include "triad/event_store.h"
#include "triad/lua_projection.h"
#include "triad/projection_engine.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace triad::testing {
namespace {

constexpr int64_t kDay = int64_t{24} * 3600 * 1'000'000;

// The script at examples/bank/projections/FILE with each `local X = "collection"` renamed to
// "collection_lua", so that it runs beside the C++ projection that owns the original.
std::string LuaTwin(const std::string& file, const std::vector<std::string>& collections) {
  std::ifstream in(std::string(TRIAD_BANK_SCRIPTS) + "/" + file);
  std::string source{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_FALSE(source.empty()) << file;
  for (const std::string& c : collections) {
    const std::string from = "= \"" + c + "\"\n";
    const size_t at = source.find(from);
    EXPECT_NE(at, std::string::npos) << file << " has no local for " << c;
    if (at != std::string::npos) source.replace(at, from.size(), "= \"" + c + "_lua\"\n");
  }
  return source;
}

class BankLuaEquivalenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.clock = &clock_;
    auto store = EventStore::Open(options, "memory:");
    ASSERT_OK(store);
    store_ = std::move(*store);
    EngineOptions engine_options;
    engine_options.read_model_uri = "memory:";
    engine_options.clock = &clock_;
    auto engine = ProjectionEngine::Open(store_.get(), engine_options);
    ASSERT_OK(engine);
    engine_ = std::move(*engine);
    ASSERT_OK(bank::RegisterBankProjections(*engine_));
    const std::pair<const char*, std::vector<std::string>> twins[] = {
        {"accounts", {"accounts"}},
        {"branch_totals", {"branch_totals", "branch_accounts"}},
        {"dormant_accounts", {"dormant_accounts"}}};
    for (const auto& [name, collections] : twins) {
      std::string source = LuaTwin(std::string(name) + ".lua", collections);
      const std::string page = "local TICK_PAGE = 1000\n";
      if (dormant_page_ > 0 && source.find(page) != std::string::npos) {
        source.replace(source.find(page), page.size(),
                       "local TICK_PAGE = " + std::to_string(dormant_page_) + "\n");
      }
      auto def = CompileLuaProjection(std::string(name) + "_lua", 1, source);
      ASSERT_OK(def) << name;
      ASSERT_OK(engine_->Register(*std::move(def))) << name;
    }
    bank_ = std::make_unique<bank::Bank>(*store_);
  }

  void TearDown() override {
    if (engine_ != nullptr) engine_->Stop();
  }

  // Random but reproducible activity: accounts in four branches (some with an overdraft),
  // deposits, withdrawals (some refused), closes of emptied accounts, an hour apart.
  void GenerateActivity() {
    std::mt19937 random(20260101);
    const char* branches[] = {"london", "new-york", "helsinki", "lagos"};
    int opened = 0;
    for (int step = 0; step < 400; ++step) {
      clock_.Advance(3600 * int64_t{1'000'000});
      const int choice = static_cast<int>(random() % 10);
      if (opened < 5 || choice == 0) {
        ++opened;
        auto r = bank_->Open({.account_id = std::to_string(opened),
                              .owner = "owner " + std::to_string(random() % 7) + " ✓",
                              .branch = branches[random() % 4],
                              .initial_deposit_cents = static_cast<int64_t>(random() % 3) * 1000,
                              .overdraft_limit_cents = static_cast<int64_t>(random() % 2) * 5000});
        ASSERT_OK(r);
        continue;
      }
      const std::string id = std::to_string(1 + random() % opened);
      const int64_t amount = 1 + static_cast<int64_t>(random() % 8000);
      bank::AccountResult r =
          choice < 6   ? bank_->Deposit({.account_id = id, .amount_cents = amount})
          : choice < 9 ? bank_->Withdraw({.account_id = id, .amount_cents = amount})
                       : EmptyAndClose(id);
      if (!r.ok()) {
        ASSERT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
      }
    }
    // An account taken below zero within its overdraft: "overdrawn".
    clock_.Advance(3600 * int64_t{1'000'000});
    ASSERT_OK(bank_->Open({.account_id = "over",
                           .owner = "Grace",
                           .branch = "london",
                           .overdraft_limit_cents = 5000}));
    ASSERT_OK(bank_->Withdraw({.account_id = "over", .amount_cents = 1234}));
  }

  bank::AccountResult EmptyAndClose(const std::string& id) {
    auto loaded = bank_->Get(id);
    if (!loaded.ok()) return loaded.status();
    const int64_t balance = loaded->state.balance_cents;
    if (balance > 0) {
      auto r = bank_->Withdraw({.account_id = id, .amount_cents = balance});
      if (!r.ok()) return r;
    } else if (balance < 0) {
      auto r = bank_->Deposit({.account_id = id, .amount_cents = -balance});
      if (!r.ok()) return r;
    }
    return bank_->Close({.account_id = id});
  }

  std::vector<Document> All(const std::string& collection) {
    Query query;
    query.limit = 10000;
    auto page = engine_->Find(collection, query);
    EXPECT_OK(page);
    return page.ok() ? page->documents : std::vector<Document>{};
  }

  // Same ids, same bodies; returns how many documents were compared.
  size_t ExpectSameDocuments(const std::string& collection) {
    const auto cpp = All(collection);
    const auto lua = All(collection + "_lua");
    EXPECT_EQ(cpp.size(), lua.size()) << collection;
    for (size_t i = 0; i < std::min(cpp.size(), lua.size()); ++i) {
      EXPECT_EQ(cpp[i].id, lua[i].id) << collection;
      EXPECT_EQ(nlohmann::json::parse(cpp[i].body), nlohmann::json::parse(lua[i].body))
          << collection << " " << cpp[i].id;
      EXPECT_EQ(cpp[i].meta.position, lua[i].meta.position) << collection << " " << cpp[i].id;
      EXPECT_EQ(cpp[i].meta.sources, lua[i].meta.sources) << collection << " " << cpp[i].id;
    }
    return cpp.size();
  }

  // Runs the dormant tick on both and expects the same accounts marked; returns how many.
  size_t ExpectSameDormantAccountsAfterATick() {
    auto head = store_->HeadPosition();
    EXPECT_OK(head);
    if (!head.ok()) return 0;
    for (const char* name : {"dormant_accounts", "dormant_accounts_lua"}) {
      EXPECT_OK(engine_->WaitForCheckpoint(name, *head, 10'000'000)) << name;
    }
    clock_.Advance(95 * kDay);
    // Both ticks run on the worker threads; wait until both have marked someone.
    const auto marked = [&](const std::string& collection) {
      Query query;
      query.filters = {{.field = "dormant", .op = FilterOp::kEq, .values = {true}}};
      query.limit = 10000;
      auto page = engine_->Find(collection, query);
      return page.ok() ? page->documents.size() : size_t{0};
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((marked("dormant_accounts") == 0 || marked("dormant_accounts_lua") == 0) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    engine_->Stop();
    auto lua = engine_->GetStatus("dormant_accounts_lua");
    EXPECT_OK(lua);
    if (lua.ok()) EXPECT_EQ(lua->last_error, "");
    EXPECT_GT(marked("dormant_accounts"), 0u);
    EXPECT_EQ(marked("dormant_accounts"), marked("dormant_accounts_lua"));
    EXPECT_EQ(marked("dormant_accounts"), ExpectSameDocuments("dormant_accounts"));
    return marked("dormant_accounts_lua");
  }

  // The Lua dormant tick's page size (0: the script's own, 1000).
  int dormant_page_ = 0;
  SimulatedClock clock_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ProjectionEngine> engine_;
  std::unique_ptr<bank::Bank> bank_;
};

TEST_F(BankLuaEquivalenceTest, LuaProjectionsWriteTheSameDocumentsAsCpp) {
  ASSERT_NO_FATAL_FAILURE(GenerateActivity());
  auto head = store_->HeadPosition();
  ASSERT_OK(head);
  for (const char* name : {"accounts", "branch_totals", "dormant_accounts", "accounts_lua",
                           "branch_totals_lua", "dormant_accounts_lua"}) {
    auto reached = engine_->RunOnce(name);
    ASSERT_OK(reached) << name;
    EXPECT_EQ(*reached, *head) << name;
  }
  EXPECT_GE(ExpectSameDocuments("accounts"), 30u);
  EXPECT_EQ(ExpectSameDocuments("branch_totals"), 4u);
  EXPECT_GE(ExpectSameDocuments("branch_accounts"), 30u);
  EXPECT_GE(ExpectSameDocuments("dormant_accounts"), 10u);
  // The activity reached every status the documents can have.
  std::set<std::string> statuses;
  for (const Document& d : All("accounts_lua")) {
    statuses.insert(nlohmann::json::parse(d.body)["status"].get<std::string>());
  }
  EXPECT_EQ(statuses, (std::set<std::string>{"closed", "open", "overdrawn"}));
}

TEST_F(BankLuaEquivalenceTest, DormantTickMarksTheSameAccounts) {
  ASSERT_NO_FATAL_FAILURE(GenerateActivity());
  ASSERT_OK(engine_->Start());
  ExpectSameDormantAccountsAfterATick();
}

// The shipped tick pages with ctx:find over the documents it marks: find must see the tick's own
// writes, or the first page comes back forever. A page of 3 makes the pages many.
class BankLuaSmallPageTest : public BankLuaEquivalenceTest {
 protected:
  void SetUp() override {
    dormant_page_ = 3;
    BankLuaEquivalenceTest::SetUp();
  }
};

TEST_F(BankLuaSmallPageTest, DormantTickPagesThroughMoreAccountsThanOnePage) {
  ASSERT_NO_FATAL_FAILURE(GenerateActivity());
  ASSERT_OK(engine_->Start());
  EXPECT_GT(ExpectSameDormantAccountsAfterATick(), size_t{3} * 3);
}

}  // namespace
}  // namespace triad::testing
