// Crash test for promise 5 (exactly-once projection effect): a child process
// (projection_crash_child.cc) runs the bank example's `accounts` projection into a SQLite read
// model in small batches; this test kills it with SIGKILL at random moments, many times, and after
// every kill opens the read model and checks that
//   - the checkpoint never moves backwards,
//   - the collection holds exactly the documents of an independent fold of the log up to the
//     checkpoint (written here, not with the projection's code): every document's body, its
//     `_meta.position` and `_meta.sources`, and the document count,
//   - the projection is neither faulted nor carrying an error.
// Before each cycle the test appends more events, so that every child has work to be killed in.
// At the end a child runs to the head undisturbed and the whole log's fold is checked.
//
// Environment: TRIAD_PROJECTION_CRASH_CYCLES (default 20, 12 in sanitized builds);
// TRIAD_PROJECTION_CRASH_SEED replays the history and the kill delays of an earlier run.
#include "bank/account_events.h"
#include "testing/test_util.h"

#include "triad/event_store.h"
#include "triad/options.h"
#include "triad/read_model_backend.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <poll.h>
#include <random>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace triad::testing {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

// ---- The history: bank accounts with deposits, withdrawals (some into an overdraft) and a few
// closings, plus events the projection's filter must leave out. ----

class HistoryWriter {
 public:
  HistoryWriter(EventStore& store, uint64_t seed) : store_(store), rng_(seed) {}

  // Appends about `events` events in appends of 1-4 events to one stream.
  void Append(int64_t events) {
    int64_t written = 0;
    while (written < events && !::testing::Test::HasFatalFailure()) {
      // New accounts keep arriving, so later cycles also create documents.
      if (opened_.empty() || rng_() % 12 == 0) {
        written += Open();
        continue;
      }
      const std::string& stream = opened_[rng_() % opened_.size()];
      if (closed_.count(stream) > 0) continue;
      std::vector<NewEvent> batch;
      const int count = 1 + static_cast<int>(rng_() % 4);
      for (int i = 0; i < count; ++i) {
        const int64_t amount = 1 + static_cast<int64_t>(rng_() % 20000);
        batch.push_back(rng_() % 3 == 0 ? bank::MoneyWithdrawnEvent(amount)
                                        : bank::MoneyDepositedEvent(amount));
      }
      if (rng_() % 150 == 0) {
        batch.push_back(bank::AccountClosedEvent());
        closed_.insert(stream);
      }
      // Not an account event type: the filter leaves it out, and so does the fold.
      if (rng_() % 10 == 0) batch.push_back(NewEvent{.type = "AddressChanged"});
      ASSERT_OK(store_.Append(stream, ExpectedVersion::Any(), batch));
      written += static_cast<int64_t>(batch.size());
      if (rng_() % 20 == 0) {
        // Another category: the filter leaves it out.
        NewEvent note{.type = "MoneyDeposited", .data = R"({"amount_cents":1})"};
        ASSERT_OK(store_.Append("audit-" + std::to_string(rng_() % 5), ExpectedVersion::Any(),
                                {&note, 1}));
        ++written;
      }
    }
  }

 private:
  int64_t Open() {
    const int n = static_cast<int>(opened_.size());
    auto opened = bank::AccountOpenedEvent(std::to_string(n), "owner-" + std::to_string(n % 37),
                                           "branch-" + std::to_string(n % 7), (n % 3) * 10000);
    EXPECT_OK(opened);
    if (!opened.ok()) return 1;
    const std::string stream = "account-" + std::to_string(n);
    EXPECT_OK(store_.Append(stream, ExpectedVersion::NoStream(), {&*opened, 1}));
    opened_.push_back(stream);
    return 1;
  }

  EventStore& store_;
  std::mt19937_64 rng_;
  std::vector<std::string> opened_;
  std::set<std::string> closed_;
};

// ---- The independent fold: what the accounts projection's documents must be. ----

struct ExpectedDocument {
  json body;
  Position position = 0;
  StreamVersion version = 0;
};

class AccountsFold {
 public:
  // Applies the events of `log` at positions (applied, checkpoint].
  void ApplyUpTo(const std::vector<RecordedEvent>& log, Position checkpoint) {
    for (; applied_ < checkpoint && applied_ < static_cast<Position>(log.size()); ++applied_) {
      Apply(log[applied_]);
    }
  }
  Position applied() const { return applied_; }
  const std::map<std::string, ExpectedDocument>& documents() const { return documents_; }

 private:
  void Apply(const RecordedEvent& e) {
    if (!e.stream.starts_with("account-")) return;
    const json data = json::parse(e.data);
    if (e.type == "AccountOpened") {
      documents_[e.stream].body = {
          {"account_id", data.at("account_id")},
          {"owner", data.at("owner")},
          {"branch", data.at("branch")},
          {"balance_cents", 0},
          {"overdraft_limit_cents", data.value("overdraft_limit_cents", int64_t{0})},
          {"status", "open"},
          {"opened_at_us", e.recorded_at_us},
          {"last_activity_at_us", e.recorded_at_us}};
    } else if (e.type == "MoneyDeposited" || e.type == "MoneyWithdrawn") {
      json& body = documents_.at(e.stream).body;
      const int64_t amount = data.at("amount_cents").get<int64_t>();
      const int64_t balance =
          body["balance_cents"].get<int64_t>() + (e.type == "MoneyDeposited" ? amount : -amount);
      body["balance_cents"] = balance;
      if (body["status"] != "closed") body["status"] = balance < 0 ? "overdrawn" : "open";
      body["last_activity_at_us"] = e.recorded_at_us;
    } else if (e.type == "AccountClosed") {
      json& body = documents_.at(e.stream).body;
      body["status"] = "closed";
      body["last_activity_at_us"] = e.recorded_at_us;
    } else {
      return;
    }
    documents_[e.stream].position = e.position;
    documents_[e.stream].version = e.version;
  }

  Position applied_ = 0;
  std::map<std::string, ExpectedDocument> documents_;
};

// ---- The child ----

struct ChildRun {
  bool ready = false;
  bool done = false;    // reported DONE: reached the head before the kill
  bool killed = false;  // died of our SIGKILL
  std::string exit_summary;
  std::vector<std::string> failures;
};

// Runs the child; with `kill` set, kills it `delay` after READY (or after the spawn when
// `early`), else waits for it to finish.
ChildRun RunChild(const std::string& db, size_t batch, bool workers, bool kill,
                  std::chrono::microseconds delay, bool early) {
  ChildRun run;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    run.failures.push_back("pipe2 failed");
    return run;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::string args[] = {TRIAD_PROJECTION_CRASH_CHILD, db, std::to_string(batch),
                        workers ? "workers" : "run_once"};
  char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(), nullptr};
  pid_t pid = 0;
  const SteadyClock::time_point spawned = SteadyClock::now();
  const int rc = posix_spawn(&pid, TRIAD_PROJECTION_CRASH_CHILD, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    run.failures.push_back("posix_spawn failed: " + std::to_string(rc));
    return run;
  }
  std::string buffer;
  bool eof = false;
  // Reads until `until`, EOF, or (with stop_at_ready) READY.
  auto read_until = [&](SteadyClock::time_point until, bool stop_at_ready) {
    char chunk[4096];
    while (!eof) {
      int timeout_ms = -1;
      if (until != SteadyClock::time_point::max()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - SteadyClock::now());
        timeout_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60'000));
      }
      pollfd p{.fd = fds[0], .events = POLLIN, .revents = 0};
      const int ready = ::poll(&p, 1, timeout_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return;
      const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof = true;
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
      if (!run.ready && buffer.find("READY\n") != std::string::npos) {
        run.ready = true;
        if (stop_at_ready) return;
      }
    }
  };
  if (!kill) {
    read_until(spawned + std::chrono::seconds(120), false);
  } else if (early) {
    read_until(spawned + delay, false);
  } else {
    read_until(spawned + std::chrono::seconds(20), true);
    if (run.ready) read_until(SteadyClock::now() + delay, false);
  }
  ::kill(pid, SIGKILL);  // harmless when it has already exited: it is not reaped yet
  read_until(SteadyClock::time_point::max(), false);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (!WIFSIGNALED(status)) {
    run.exit_summary = "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  size_t start = 0;
  for (size_t end; (end = buffer.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = buffer.substr(start, end - start);
    if (line == "READY") continue;
    if (line.starts_with("DONE ")) {
      run.done = true;
    } else {
      run.failures.push_back(line);
    }
  }
  return run;
}

// ---- Verification ----

// Opens the read model and checks the accounts collection against the fold of `log` up to the
// checkpoint. Returns the checkpoint (0 if the projection has no record yet).
Position VerifyReadModel(const std::string& db, const std::vector<RecordedEvent>& log,
                         AccountsFold& fold, Position previous_checkpoint) {
  auto backend = OpenReadModelBackend(ReadModelOptions{}, DefaultReadModelUri("sqlite:" + db));
  EXPECT_OK(backend);
  if (!backend.ok()) return previous_checkpoint;
  auto records = (*backend)->ListProjections();
  EXPECT_OK(records);
  if (!records.ok()) return previous_checkpoint;
  if (records->empty()) {
    // Killed before the first registration committed: nothing may have been written.
    EXPECT_EQ(previous_checkpoint, 0) << "the projection's record disappeared";
    return 0;
  }
  EXPECT_EQ(records->size(), 1u);
  const ProjectionRecord& record = records->front();
  EXPECT_EQ(record.name, "accounts");
  EXPECT_EQ(record.version, 1);
  EXPECT_FALSE(record.faulted) << record.last_error;
  EXPECT_EQ(record.last_error, "");
  EXPECT_GE(record.checkpoint, previous_checkpoint) << "the checkpoint moved backwards";
  EXPECT_LE(record.checkpoint, static_cast<Position>(log.size())) << "beyond the head";

  fold.ApplyUpTo(log, record.checkpoint);
  EXPECT_EQ(fold.applied(), record.checkpoint);
  const std::string collection = CollectionStorageName("accounts", 1, "accounts");
  std::map<std::string, Document> stored;
  std::string after;
  while (true) {
    auto page = (*backend)->ScanDocuments(collection, after, 1000);
    if (page.status().code() == StatusCode::kNotFound && record.checkpoint == 0) break;
    EXPECT_OK(page);
    if (!page.ok() || page->empty()) break;
    after = page->back().id;
    for (Document& d : *page) stored.emplace(d.id, std::move(d));
  }
  EXPECT_EQ(stored.size(), fold.documents().size())
      << "document count at checkpoint " << record.checkpoint;
  int shown = 0;
  for (const auto& [id, want] : fold.documents()) {
    auto it = stored.find(id);
    if (it == stored.end()) {
      if (shown++ < 10) ADD_FAILURE() << id << " is missing at checkpoint " << record.checkpoint;
      continue;
    }
    const Document& got = it->second;
    const json body = json::parse(got.body, nullptr, false);
    const std::map<std::string, StreamVersion, std::less<>> sources = {{id, want.version}};
    if (body != want.body || got.meta.position != want.position || got.meta.sources != sources) {
      if (shown++ < 10) {
        ADD_FAILURE() << id << " at checkpoint " << record.checkpoint << ":\n  stored   "
                      << got.body << " position " << got.meta.position << "\n  expected "
                      << want.body.dump() << " position " << want.position << " version "
                      << want.version;
      }
    }
  }
  return record.checkpoint;
}

// Reads the log positions after log.size() into `log`.
void ReadNewEvents(EventStore& store, std::vector<RecordedEvent>& log) {
  ReadAllOptions page;
  page.limit = 5000;
  while (true) {
    page.from_position = static_cast<Position>(log.size()) + 1;
    auto events = store.ReadAll(page);
    ASSERT_OK(events);
    if (events->empty()) return;
    for (RecordedEvent& e : *events) log.push_back(std::move(e));
  }
}

// Sanitized builds run everything several times slower; fewer cycles keep the test under a minute.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kDefaultCycles = 12;
#else
constexpr int kDefaultCycles = 20;
#endif

TEST(ProjectionCrashTest, CollectionEqualsTheFoldOfTheLogAfterEveryKill) {
  const int cycles = EnvInt("TRIAD_PROJECTION_CRASH_CYCLES", kDefaultCycles);
  const char* seed_env = std::getenv("TRIAD_PROJECTION_CRASH_SEED");
  const uint64_t seed =
      seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : std::random_device()();
  std::printf("projection crash test: %d cycles, TRIAD_PROJECTION_CRASH_SEED=%llu\n", cycles,
              static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  const std::string db =
      ::testing::TempDir() + "triad_projection_crash_" + std::to_string(::getpid()) + ".db";
  auto remove_files = [&] {
    for (const std::string& base : {db, db + ".readmodel"}) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(base + suffix);
    }
  };
  remove_files();

  // The test's own store handle appends the history; kRelaxed keeps that quick (the store's own
  // durability is not what this test is about).
  Options options;
  options.durability = Durability::kRelaxed;
  auto store = EventStore::Open(options, "sqlite:" + db);
  ASSERT_OK(store);
  HistoryWriter history(**store, seed);
  std::vector<RecordedEvent> log;
  AccountsFold fold;
  Position checkpoint = 0;
  int killed_mid_run = 0;
  int mid_checkpoints = 0;
  const SteadyClock::time_point start = SteadyClock::now();

  for (int cycle = 0; cycle < cycles && !HasFailure(); ++cycle) {
    ASSERT_NO_FATAL_FAILURE(history.Append(cycle == 0 ? 6000 : 3000));
    ASSERT_NO_FATAL_FAILURE(ReadNewEvents(**store, log));
    const bool early = rng() % 8 == 0;
    const auto delay = std::chrono::microseconds(early ? rng() % 30000 : rng() % 150000);
    const size_t batch = 10 + rng() % 60;
    const bool workers = rng() % 2 == 0;
    SCOPED_TRACE("cycle " + std::to_string(cycle) + ": batch " + std::to_string(batch) + ", " +
                 (workers ? "workers" : "run_once") + ", kill " + std::to_string(delay.count()) +
                 " us after " + (early ? "spawn" : "READY") +
                 ", TRIAD_PROJECTION_CRASH_SEED=" + std::to_string(seed));
    const ChildRun run = RunChild(db, batch, workers, /*kill=*/true, delay, early);
    for (const std::string& f : run.failures) ADD_FAILURE() << "child: " << f;
    ASSERT_TRUE(run.killed || run.done) << "the child " << run.exit_summary;
    if (run.killed && !run.done && run.ready) ++killed_mid_run;
    const Position before = checkpoint;
    checkpoint = VerifyReadModel(db, log, fold, checkpoint);
    if (checkpoint > before && checkpoint < static_cast<Position>(log.size())) ++mid_checkpoints;
  }
  ASSERT_FALSE(HasFailure());
  // Kills that left the checkpoint strictly inside the log, after progress: the interesting ones.
  EXPECT_GE(mid_checkpoints, cycles / 4) << "too few kills left a partly built collection";
  EXPECT_GE(killed_mid_run, cycles / 2) << "too few kills landed while the projection ran";

  // Undisturbed, the projection reaches the head; the whole log's fold must match.
  const ChildRun last = RunChild(db, 100, false, /*kill=*/false, {}, false);
  for (const std::string& f : last.failures) ADD_FAILURE() << "child: " << f;
  EXPECT_TRUE(last.done) << "the last child did not reach the head: " << last.exit_summary;
  checkpoint = VerifyReadModel(db, log, fold, checkpoint);
  EXPECT_EQ(checkpoint, static_cast<Position>(log.size()));
  std::printf(
      "projection crash test: %d cycles (%d killed while projecting, %d with a checkpoint inside "
      "the log) in %.1f s; %zu events, %zu documents\n",
      cycles, killed_mid_run, mid_checkpoints,
      std::chrono::duration<double>(SteadyClock::now() - start).count(), log.size(),
      fold.documents().size());
  store->reset();
  if (!HasFailure()) {
    remove_files();
  } else {
    std::printf("store kept for inspection: %s\n", db.c_str());
  }
}

}  // namespace
}  // namespace triad::testing
