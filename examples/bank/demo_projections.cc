#include "bank/demo_projections.h"

#include "bank/bank_projections.h"
#include "bank/money.h"

#include "triad/read_model_backend.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace bank::demo {
namespace {

// Generous: the workers are usually there within milliseconds.
constexpr int64_t kWaitUs = 10'000'000;

// The body of a document, or an empty object when it cannot be read (the caller reports).
nlohmann::json Body(const triad::Document& document) {
  nlohmann::json body = nlohmann::json::parse(document.body, nullptr, /*allow_exceptions=*/false);
  return body.is_object() ? body : nlohmann::json::object();
}

std::string Describe(const triad::Document& document) {
  const nlohmann::json body = Body(document);
  return document.id + "  " + body.value("owner", "?") + ", " + body.value("branch", "?") + ", " +
         body.value("status", "?") + ", balance " +
         FormatCents(body.value("balance_cents", int64_t{0}));
}

// Every document of `query` (following cursors), or nothing after reporting an error.
std::vector<triad::Document> FindAll(triad::ProjectionEngine& engine, Report& report,
                                     triad::Query query, triad::Position& as_of) {
  std::vector<triad::Document> all;
  while (true) {
    triad::Result<triad::QueryPage> page = engine.Find(kAccountsCollection, query);
    if (!page.ok()) {
      report.Unexpected("query: " + page.status().ToString());
      return {};
    }
    as_of = page->as_of;
    for (triad::Document& d : page->documents) all.push_back(std::move(d));
    if (page->next_cursor.empty()) return all;
    query.after = std::move(page->next_cursor);
  }
}

// Queries `field` = `value` and shows the matches; expects `must_contain` among them and every
// match to have that value.
void QueryByField(triad::ProjectionEngine& engine, Report& report, const std::string& field,
                  const std::string& value, const std::string& must_contain) {
  triad::Query query;
  query.filters = {{.field = field, .op = triad::FilterOp::kEq, .values = {value}}};
  triad::Position as_of = 0;
  const std::vector<triad::Document> found = FindAll(engine, report, query, as_of);
  report.Say("find accounts where " + field + " = \"" + value +
             "\": " + std::to_string(found.size()) + " document(s), as of position " +
             std::to_string(as_of) + " (all runs on this store)");
  bool contains = false;
  for (size_t i = 0; i < found.size(); ++i) {
    if (found[i].id == must_contain) contains = true;
    if (Body(found[i]).value(field, "") != value)
      report.Unexpected(found[i].id + " does not match");
    // The newest accounts are the interesting ones; earlier runs' are summarised.
    if (i + 3 >= found.size()) report.Say("  " + Describe(found[i]));
  }
  if (!contains) report.Unexpected("the query did not return " + must_contain);
}

// Waits until every bank projection has processed the whole log.
bool WaitForAll(triad::EventStore& store, triad::ProjectionEngine& engine, Report& report) {
  triad::Result<triad::Position> head = store.HeadPosition();
  if (!head.ok()) {
    report.Unexpected(head.status().ToString());
    return false;
  }
  for (const char* name : {"accounts", "branch_totals", "dormant_accounts"}) {
    triad::Result<triad::Position> reached = engine.WaitForCheckpoint(name, *head, kWaitUs);
    if (!reached.ok()) {
      report.Unexpected(std::string(name) + ": " + reached.status().ToString());
      return false;
    }
  }
  return true;
}

// The branch_totals document of `branch`: a multi-stream projection's answer.
void ShowBranch(triad::ProjectionEngine& engine, Report& report, const std::string& branch) {
  triad::Result<triad::DocumentRead> read = engine.Get(kBranchTotalsCollection, branch);
  if (!read.ok() || !read->document) {
    return report.Unexpected("branch_totals " + branch + ": " + read.status().ToString());
  }
  const nlohmann::json body = Body(*read->document);
  report.Say("branch_totals of " + branch + ": " +
             std::to_string(body.value("accounts", int64_t{0})) + " accounts opened, " +
             std::to_string(body.value("open_accounts", int64_t{0})) + " open, balance " +
             FormatCents(body.value("balance_cents", int64_t{0})));
}

void ShowStatuses(triad::ProjectionEngine& engine, Report& report) {
  triad::Result<std::vector<triad::ProjectionStatus>> statuses = engine.ListStatus();
  if (!statuses.ok()) return report.Unexpected("status: " + statuses.status().ToString());
  report.Say("projection            state       checkpoint   head   lag (events, seconds)");
  for (const triad::ProjectionStatus& s : *statuses) {
    char line[160];
    std::snprintf(line, sizeof line, "%-20s  %-10s  %10lld  %5lld   %lld, %.3f",
                  triad::ProjectionKeyString(s.name, s.version).c_str(),
                  std::string(triad::ProjectionStateName(s.state)).c_str(),
                  static_cast<long long>(s.checkpoint), static_cast<long long>(s.head_position),
                  static_cast<long long>(s.lag_events), s.lag_seconds);
    report.Say(line);
    if (!s.last_error.empty()) report.Unexpected(s.name + " failed: " + s.last_error);
  }
}

// Pauses the accounts projection, deposits, and reads the document with and without `fresh`:
// the fresh read applies the new event to a private copy; the stored document waits for the
// engine, which applies it exactly once after Resume.
void FreshRead(Bank& bank, Report& report, triad::ProjectionEngine& engine,
               const std::string& account_id) {
  const std::string stream = Bank::StreamOf(account_id);
  if (triad::Status s = engine.Pause("accounts"); !s.ok()) {
    return report.Unexpected("pause: " + s.ToString());
  }
  const AccountResult deposited = bank.Deposit({.account_id = account_id, .amount_cents = 4500});
  report.Command("deposit 45.00 into " + stream + " while the accounts projection is paused",
                 deposited, true);
  triad::GetOptions fresh;
  fresh.fresh = true;
  triad::Result<triad::DocumentRead> stale = engine.Get(kAccountsCollection, stream);
  triad::Result<triad::DocumentRead> now = engine.Get(kAccountsCollection, stream, fresh);
  // Resumed before anything else can fail: a pause is kept across restarts.
  if (triad::Status s = engine.Resume("accounts"); !s.ok()) {
    return report.Unexpected("resume: " + s.ToString());
  }
  if (!deposited.ok() || !stale.ok() || !now.ok() || !stale->document || !now->document) {
    return report.Unexpected("fresh read: " +
                             (stale.ok() ? now.status() : stale.status()).ToString());
  }
  report.Say("stored document (as of " + std::to_string(stale->as_of) +
             "): " + Describe(*stale->document));
  report.Say("fresh read (applied the events after _meta.sources): " + Describe(*now->document));
  if (Body(*now->document).value("balance_cents", int64_t{0}) != deposited->state.balance_cents) {
    report.Unexpected("the fresh read does not include the deposit");
  }
}

}  // namespace

triad::Result<std::unique_ptr<triad::ProjectionEngine>> StartProjections(
    triad::EventStore& store, std::string_view store_uri) {
  triad::EngineOptions options;
  options.read_model_uri = triad::DefaultReadModelUri(store_uri);
  triad::Result<std::unique_ptr<triad::ProjectionEngine>> engine =
      triad::ProjectionEngine::Open(&store, options);
  if (!engine.ok()) return engine.status();
  if (triad::Status s = RegisterBankProjections(**engine); !s.ok()) return s;
  if (triad::Status s = (*engine)->Start(); !s.ok()) return s;
  return engine;
}

void ShowReadSide(Bank& bank, Report& report, triad::EventStore& store,
                  triad::ProjectionEngine& engine, const ReadSideIds& ids) {
  report.Step("projections: the read side",
              "Projections run beside the store, from the global log into documents in\n" +
                  engine.Describe() +
                  ", and answer queries without loading an aggregate.\n"
                  "Each answer says the position it is as of.");
  if (!WaitForAll(store, engine, report)) return;
  QueryByField(engine, report, "owner", "Ada Lovelace", Bank::StreamOf(ids.ada));
  QueryByField(engine, report, "branch", "london", Bank::StreamOf(ids.ada));

  ShowBranch(engine, report, "london");
  report.Say("Read your own write: the append returns its position; a read with min_position");
  report.Say("waits until the projection has passed it.");
  report.Command("open " + Bank::StreamOf(ids.overdraft) +
                     " for Alan Turing, branch london, overdraft limit 100.00",
                 bank.Open({.account_id = ids.overdraft,
                            .owner = "Alan Turing",
                            .branch = "london",
                            .overdraft_limit_cents = 10000}),
                 true);
  const AccountResult withdrawn =
      bank.Withdraw({.account_id = ids.overdraft, .amount_cents = 3000});
  report.Command("withdraw 30.00 from " + Bank::StreamOf(ids.overdraft), withdrawn, true);
  if (!withdrawn.ok()) return;
  triad::GetOptions wait;
  wait.min_position = withdrawn->append.last_position;
  wait.timeout_us = kWaitUs;
  triad::Result<triad::DocumentRead> read =
      engine.Get(kAccountsCollection, Bank::StreamOf(ids.overdraft), wait);
  if (!read.ok() || !read->document) {
    return report.Unexpected("read your own write: " + read.status().ToString());
  }
  report.Say("get " + Bank::StreamOf(ids.overdraft) + " with min_position " +
             std::to_string(wait.min_position) + ": as of " + std::to_string(read->as_of) + ": " +
             Describe(*read->document));
  if (Body(*read->document).value("status", "") != kStatusOverdrawn) {
    report.Unexpected("the account should be overdrawn");
  }

  FreshRead(bank, report, engine, ids.overdraft);

  // Resumed, the projection catches up; the statuses then show every projection at the head.
  if (!WaitForAll(store, engine, report)) return;
  triad::Result<triad::DocumentRead> caught_up =
      engine.Get(kAccountsCollection, Bank::StreamOf(ids.overdraft));
  if (!caught_up.ok() || !caught_up->document) {
    return report.Unexpected("after resume: " + caught_up.status().ToString());
  }
  report.Say("resumed; the engine applied the deposit once: " + Describe(*caught_up->document));
  // -30.00 + 45.00: the deposit counted once, as the fresh read showed.
  if (Body(*caught_up->document).value("balance_cents", int64_t{0}) != 1500) {
    report.Unexpected("after resume the balance should be 15.00");
  }
  ShowStatuses(engine, report);
}

}  // namespace bank::demo
