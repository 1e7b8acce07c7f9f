// bank_demo: a guided tour of Triad on an embedded SQLite store.
//
//   bank_demo [PATH]     PATH, else $TRIAD_DATA, else ./bank-demo.db
//
// Opens three bank accounts, moves money, shows a refused overdraft, a version conflict between
// two threads being retried, and a snapshot being used, and prints every event written. Then the
// read side: the bank's projections (bank_projections.h) run beside the store, into the read
// model PATH.readmodel, and the demo queries them by owner and branch, reads its own write,
// makes a fresh read and shows the projections' statuses.
//
// Running it again on the same file is fine and shows that the data persisted: each run records
// itself in the stream "demo-runs" and uses fresh account ids (run 1: 101-104, run 2: 201-204,
// ...), so it never collides with an earlier run. Delete the files to start over.
#include "bank/bank.h"
#include "bank/demo_projections.h"
#include "bank/demo_report.h"
#include "bank/money.h"

#include "triad/event_store.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bank::demo {
namespace {

// Snapshots every 5 events, so that a short demo crosses a few (the Bank default is 100).
constexpr int64_t kSnapshotEvery = 5;

std::string StoreUri(int argc, char** argv) {
  // Read before any thread starts, so getenv's lack of thread-safety cannot bite.
  const char* env = std::getenv("TRIAD_DATA");  // NOLINT(concurrency-mt-unsafe)
  std::string path = "./bank-demo.db";
  if (argc > 1) {
    path = argv[1];
  } else if (env != nullptr && *env != '\0') {
    path = env;
  }
  if (path.starts_with("sqlite:") || path.starts_with("memory:")) return path;
  return "sqlite:" + path;
}

// Appends a DemoRunStarted event to "demo-runs"; its version + 1 is this run's number.
triad::Result<triad::AppendResult> RecordRun(triad::EventStore& store) {
  triad::NewEvent started;
  started.type = "DemoRunStarted";
  started.data = R"({"program":"bank_demo"})";
  return store.Append("demo-runs", triad::ExpectedVersion::Any(), {&started, 1});
}

// Lets two threads meet, so that both have loaded the account before either appends. Gives up
// after a few seconds so that a failure in one thread cannot hang the other.
class Rendezvous {
 public:
  explicit Rendezvous(int parties) : waiting_(parties) {}
  void ArriveAndWait() {
    std::unique_lock lock(mu_);
    if (--waiting_ <= 0) {
      cv_.notify_all();
      return;
    }
    cv_.wait_for(lock, std::chrono::seconds(5), [this] { return waiting_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_;
};

std::string Join(const std::vector<int64_t>& balances) {
  std::string out;
  for (size_t i = 0; i < balances.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == balances.size() ? ", then " : ", ") + FormatCents(balances[i]);
  }
  return out;
}

struct Ids {
  std::string ada, grace, linus;
};

void OpenAccounts(Bank& bank, Report& report, const Ids& ids) {
  report.Step("open three accounts",
              "Opening an account appends AccountOpened (and MoneyDeposited for an initial\n"
              "deposit) to a new stream, with expected version no_stream: it cannot open twice.");
  report.Command("open account-" + ids.ada + " for Ada Lovelace, branch london, deposit 100.00",
                 bank.Open({.account_id = ids.ada,
                            .owner = "Ada Lovelace",
                            .branch = "london",
                            .initial_deposit_cents = 10000}),
                 true);
  report.Command(
      "open account-" + ids.grace + " for Grace Hopper, branch new-york",
      bank.Open({.account_id = ids.grace, .owner = "Grace Hopper", .branch = "new-york"}), true);
  report.Command(
      "open account-" + ids.linus + " for Linus Torvalds, branch helsinki, deposit 20.00",
      bank.Open({.account_id = ids.linus,
                 .owner = "Linus Torvalds",
                 .branch = "helsinki",
                 .initial_deposit_cents = 2000}),
      true);
}

void MoveMoney(Bank& bank, Report& report, const Ids& ids) {
  report.Step("deposits and withdrawals",
              "Each command loads the account, checks the rules, and appends one event.");
  report.Command("deposit 250.00 into account-" + ids.grace,
                 bank.Deposit({.account_id = ids.grace, .amount_cents = 25000}), true);
  report.Command("withdraw 30.00 from account-" + ids.ada,
                 bank.Withdraw({.account_id = ids.ada, .amount_cents = 3000}), true);
}

void RefusedCommands(Bank& bank, Report& report, const Ids& ids) {
  report.Step("refused commands",
              "A command that breaks a rule is refused with a clear error, and nothing is\n"
              "written: the account's version does not move.");
  report.Command("withdraw 500.00 from account-" + ids.linus + " (it holds 20.00)",
                 bank.Withdraw({.account_id = ids.linus, .amount_cents = 50000}), false);
  report.Command("open account-" + ids.ada + " a second time",
                 bank.Open({.account_id = ids.ada, .owner = "Eve", .branch = "london"}), false);
  auto linus = bank.Get(ids.linus);
  if (linus.ok()) {
    report.Say("account-" + ids.linus + " is still at version " + std::to_string(linus->version) +
               " with balance " + FormatCents(linus->state.balance_cents) + ".");
  }
}

struct ThreadRun {
  const char* name;
  int64_t amount_cents;
  std::vector<int64_t> balances_seen;  // the balance each run of decide saw
  AccountResult result = triad::InternalError("not run");
};

void ConcurrentDeposits(Bank& bank, Report& report, const Ids& ids) {
  auto before = bank.Get(ids.grace);
  if (!before.ok()) return report.Unexpected(before.status().ToString());
  report.Step("two threads, one account",
              "Threads A and B deposit into account-" + ids.grace +
                  " at the same moment. Both load it at\n"
                  "version " +
                  std::to_string(before->version) +
                  " and decide, then both append expecting that version. Exactly one\n"
                  "append wins; the other gets a conflict (aborted), reads the newer event,\n"
                  "decides again on the new balance and appends again.");
  const int64_t conflicts_before = bank.accounts().stats().conflicts;
  Rendezvous both_decided(2);
  std::vector<ThreadRun> runs = {{.name = "A", .amount_cents = 1000},
                                 {.name = "B", .amount_cents = 1500}};
  std::vector<std::thread> threads;
  for (ThreadRun& run : runs) {
    threads.emplace_back([&bank, &both_decided, &ids, &run] {
      run.result = bank.accounts().Execute(Bank::StreamOf(ids.grace), [&](const Account& a) {
        run.balances_seen.push_back(a.balance_cents);
        if (run.balances_seen.size() == 1) both_decided.ArriveAndWait();
        return DepositMoney{.account_id = ids.grace, .amount_cents = run.amount_cents}.Decide(a);
      });
    });
  }
  for (std::thread& t : threads) t.join();
  // Print the winner first.
  std::sort(runs.begin(), runs.end(), [](const ThreadRun& x, const ThreadRun& y) {
    return x.result.ok() && (!y.result.ok() || x.result->version < y.result->version);
  });
  int64_t expected = before->state.balance_cents;
  for (const ThreadRun& run : runs) {
    expected += run.amount_cents;
    std::string line = std::string("thread ") + run.name + " deposited " +
                       FormatCents(run.amount_cents) + ": decide saw balance " +
                       Join(run.balances_seen);
    if (!run.result.ok()) {
      report.Unexpected(line + "; failed: " + run.result.status().ToString());
      continue;
    }
    line += "; ok on attempt " + std::to_string(run.result->attempts);
    if (run.result->attempts > 1) line += " (conflict, reloaded, retried)";
    report.Say(line);
    report.Events(Bank::StreamOf(ids.grace), run.result->append.first_version,
                  run.result->append.last_version);
  }
  auto after = bank.Get(ids.grace);
  if (!after.ok()) return report.Unexpected(after.status().ToString());
  report.Say("conflicts detected and retried: " +
             std::to_string(bank.accounts().stats().conflicts - conflicts_before));
  report.Say("balance now " + FormatCents(after->state.balance_cents) + ", expected " +
             FormatCents(expected) +
             (after->state.balance_cents == expected ? ": no deposit was lost."
                                                     : ": A DEPOSIT WAS LOST."));
  if (after->state.balance_cents != expected) report.Unexpected("lost update");
}

void Snapshots(Bank& bank, Report& report, triad::EventStore& store, const Ids& ids) {
  report.Step("snapshots",
              "Loading an account folds its events into a state. To keep loads short, a snapshot\n"
              "of the state is saved every " +
                  std::to_string(kSnapshotEvery) +
                  " events; a load starts from the latest one and reads only\n"
                  "the newer events. Nine deposits of 1.00 into account-" +
                  ids.linus + ":");
  for (int i = 0; i < 9; ++i) {
    const int64_t saved_before = bank.accounts().stats().snapshots_saved;
    auto r = bank.Deposit({.account_id = ids.linus, .amount_cents = 100});
    if (!r.ok()) return report.Unexpected("deposit: " + r.status().ToString());
    const bool snapshot = bank.accounts().stats().snapshots_saved > saved_before;
    report.Say("deposit 1.00 -> version " + std::to_string(r->version) + ", balance " +
               FormatCents(r->state.balance_cents) +
               (snapshot ? "   (the stream now holds " + std::to_string(r->version + 1) +
                               " events: snapshot saved)"
                         : ""));
  }
  auto snapshot = store.LoadSnapshot(Bank::StreamOf(ids.linus));
  if (!snapshot.ok() || !snapshot->has_value()) {
    return report.Unexpected("no snapshot of account-" + ids.linus);
  }
  const triad::Snapshot& s = **snapshot;
  report.Say("stored snapshot: version " + std::to_string(s.version) + ", schema " +
             std::to_string(s.schema_version) + ", state " + s.state);
  auto loaded = bank.Get(ids.linus);
  if (!loaded.ok()) return report.Unexpected(loaded.status().ToString());
  report.Say("loading account-" + ids.linus + " (version " + std::to_string(loaded->version) +
             "): started from the snapshot at version " + std::to_string(loaded->snapshot_version) +
             " and replayed " + std::to_string(loaded->events_replayed) +
             " newer event(s) instead of all " + std::to_string(loaded->version + 1) + ".");
  if (loaded->snapshot_version < 0) report.Unexpected("the load did not use the snapshot");
}

void Closing(Bank& bank, Report& report, const Ids& ids) {
  report.Step("closing an account",
              "An account closes only when empty, so that closing never makes money vanish.");
  report.Command("close account-" + ids.ada, bank.Close({.account_id = ids.ada}), false);
  report.Command("withdraw 70.00 from account-" + ids.ada,
                 bank.Withdraw({.account_id = ids.ada, .amount_cents = 7000}), true);
  report.Command("close account-" + ids.ada, bank.Close({.account_id = ids.ada}), true);
  report.Command("deposit 5.00 into account-" + ids.ada + " (closed)",
                 bank.Deposit({.account_id = ids.ada, .amount_cents = 500}), false);
}

int64_t CountAccounts(triad::EventStore& store) {
  triad::ListStreamsOptions list;
  list.category = "account";
  int64_t count = 0;
  while (true) {
    auto page = store.ListStreams(list);
    if (!page.ok() || page->empty()) return count;
    count += static_cast<int64_t>(page->size());
    list.after = page->back().name;
  }
}

void Summary(Bank& bank, Report& report, triad::EventStore& store, const Ids& ids) {
  report.Step("summary", "The accounts of this run, as loaded from the store:");
  report.Accounts(bank, {ids.ada, ids.grace, ids.linus});
  const triad::AggregateStats stats = bank.accounts().stats();
  std::printf(
      "\n  commands: %lld ok, %lld refused; conflicts retried: %lld; snapshots saved: "
      "%lld (failed: %lld)\n",
      static_cast<long long>(stats.commands_executed),
      static_cast<long long>(stats.commands_refused), static_cast<long long>(stats.conflicts),
      static_cast<long long>(stats.snapshots_saved),
      static_cast<long long>(stats.snapshot_failures));
  auto head = store.HeadPosition();
  std::printf("  head position: %lld (the global log's last event, all runs included)\n",
              head.ok() ? static_cast<long long>(*head) : -1LL);
  std::printf("  accounts in this store: %lld\n", static_cast<long long>(CountAccounts(store)));
}

int Run(int argc, char** argv) {
  const std::string uri = StoreUri(argc, argv);
  auto opened = triad::EventStore::Open(triad::Options{}, uri);
  if (!opened.ok()) {
    std::fprintf(stderr, "bank_demo: cannot open %s: %s\n", uri.c_str(),
                 opened.status().ToString().c_str());
    return 1;
  }
  triad::EventStore& store = **opened;
  const auto head_before = store.HeadPosition();
  const auto recorded = RecordRun(store);
  if (!head_before.ok() || !recorded.ok()) {
    std::fprintf(stderr, "bank_demo: %s\n",
                 (head_before.ok() ? recorded.status() : head_before.status()).ToString().c_str());
    return 1;
  }
  const int64_t run = recorded->last_version + 1;
  const int64_t base = run * 100;
  const Ids ids{std::to_string(base + 1), std::to_string(base + 2), std::to_string(base + 3)};

  std::printf("Triad bank demo\n===============\n");
  std::printf("Store: %s\n", store.Describe().c_str());
  std::printf(
      "Run %lld on this store (it held %lld events before; this run is recorded at\n"
      "position %lld in stream demo-runs), using the fresh accounts %s-%s.\n",
      static_cast<long long>(run), static_cast<long long>(*head_before),
      static_cast<long long>(recorded->last_position), ids.ada.c_str(), ids.linus.c_str());
  std::printf(
      "\nEach account is a stream named account-<id>. A command loads the account (latest\n"
      "snapshot plus newer events), decides whether the rules allow it, and appends its events\n"
      "only if no one else wrote to the account in between. Events are shown as\n"
      "  <stream> v<version in the stream, from 0> pos <position in the global log> <type> "
      "<data>\n");

  // Started before the commands, so that the projections follow them as they are written.
  auto engine = StartProjections(store, uri);
  if (!engine.ok()) {
    std::fprintf(stderr, "bank_demo: cannot start the projections: %s\n",
                 engine.status().ToString().c_str());
    return 1;
  }

  Bank bank(store, BankOptions{.snapshot_every = kSnapshotEvery});
  Report report(store);
  OpenAccounts(bank, report, ids);
  MoveMoney(bank, report, ids);
  RefusedCommands(bank, report, ids);
  ConcurrentDeposits(bank, report, ids);
  Snapshots(bank, report, store, ids);
  Closing(bank, report, ids);
  ShowReadSide(bank, report, store, **engine,
               ReadSideIds{.ada = ids.ada, .overdraft = std::to_string(base + 4)});
  Summary(bank, report, store, ids);

  if (report.unexpected() > 0) {
    std::printf("\n%d unexpected outcome(s); see UNEXPECTED above.\n", report.unexpected());
    return 1;
  }
  std::printf("\nAll done. Run it again to add four more accounts to the same store.\n");
  return 0;
}

}  // namespace
}  // namespace bank::demo

int main(int argc, char** argv) { return bank::demo::Run(argc, argv); }
