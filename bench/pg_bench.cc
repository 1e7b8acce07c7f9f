// triad_pg_bench: the PostgreSQL backend beside raw PostgreSQL baselines measured in the same run
// on the same server (docs/performance.md, "PostgreSQL"). Rows:
//   append_64_writers   64 threads, one single-event durable append each at a time, one node;
//                       raw: 8 connections each committing one-row INSERTs.    goal >= 10x
//   append_64_two_nodes the same 64 threads split over two store objects (two nodes' worth of
//                       connections and group commits); same raw baseline.
//   batch_1000          one thread appending 1,000 events per call; raw: 1,000-row multi-row
//                       INSERTs, one per transaction.                          goal >= 0.8x
//   catch_up            the engine catching a projection up from 0 over the log, its handler
//                       counting events per stream in memory (no document writes);
//                       raw: a keyset scan of the same rows in pages of 1,000.  goal >= 0.85x
//   catch_up_write      the same with a counter document per stream upserted in the PostgreSQL
//                       read model; same raw baseline, no goal.
//   group_8_members     consumer groups on PostgreSQL: 8 members each polling up to 10 messages
//                       and acking them, on one node, over a log of 50,000 events in 1,000
//                       streams; messages/s; same raw baseline as the appends, no goal.
//   group_8_members_two_nodes  the same, the members split over two nodes (each operation may
//                       find the group changed by the other node and reload it).
// The raw side writes to a table shaped like Triad's `events` table in a schema of its own.
//
// Usage: triad_pg_bench --url=postgres://... [--seconds=S] [--runs=N] [--events=N]
//        [--only=ROW_PREFIX] [--check-goals]. Without --url, TRIAD_TEST_POSTGRES is used.
#include "testing/pg_test_env.h"

#include "triad/consumer_groups.h"
#include "triad/event_store.h"
#include "triad/projection_engine.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "postgres/pg_connection.h"
#include "postgres/pg_uri.h"
#include "report.h"

namespace triad::bench {
namespace {

using internal::pg::PgConnection;
using internal::pg::PgParams;

struct Flags {
  std::string url;
  double seconds = 5;
  int runs = 3;
  int64_t events = 100'000;  // log size for catch_up
  bool check_goals = false;
  // Only the rows whose names start with it (e.g. "group"); empty: all.
  std::string only;
};

int ParseFlags(int argc, char** argv, Flags& f) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--help") {
      std::printf(
          "triad_pg_bench [--url=postgres://...] [--seconds=S] [--runs=N] [--events=N] "
          "[--only=ROW_PREFIX] [--check-goals]\n");
      return 0;
    }
    if (name == "--check-goals" || name == "--check_goals") {
      f.check_goals = true;
    } else if (eq == std::string::npos) {
      std::fprintf(stderr, "triad_pg_bench: %s needs =VALUE\n", name.c_str());
      return 2;
    } else if (name == "--url") {
      f.url = value;
    } else if (name == "--seconds") {
      f.seconds = std::atof(value.c_str());
    } else if (name == "--runs") {
      f.runs = std::atoi(value.c_str());
    } else if (name == "--events") {
      f.events = std::atoll(value.c_str());
    } else if (name == "--only") {
      f.only = value;
    } else {
      std::fprintf(stderr, "triad_pg_bench: unknown flag %s\n", name.c_str());
      return 2;
    }
  }
  return -1;
}

// The URL with `schema` as Triad's schema parameter.
std::string WithSchema(const std::string& url, const std::string& schema) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "schema=" + schema;
}

std::unique_ptr<PgConnection> Connect(const std::string& uri) {
  auto target = CheckOk(internal::pg::ParsePostgresUri(uri), "parsing the URL");
  return CheckOk(PgConnection::Open(target, /*create_schema=*/true), "connecting");
}

// The raw side writes rows shaped like Triad's `events` table, with the same indexes, so that
// both sides do the same storage work per event.
constexpr const char* kRawTable = R"sql(
DROP TABLE IF EXISTS raw_events;
CREATE SEQUENCE IF NOT EXISTS raw_positions;
CREATE TABLE raw_events (
  position bigint PRIMARY KEY, id text COLLATE "C" NOT NULL, stream_id bigint NOT NULL,
  version bigint NOT NULL, type text COLLATE "C" NOT NULL, data text NOT NULL,
  metadata text NOT NULL, correlation_id text, causation_id text, recorded_at bigint NOT NULL);
CREATE UNIQUE INDEX raw_events_by_id ON raw_events (id);
CREATE UNIQUE INDEX raw_events_by_stream ON raw_events (stream_id, version);
CREATE INDEX raw_events_by_type ON raw_events (type, position);
CREATE INDEX raw_events_by_correlation ON raw_events (correlation_id)
  WHERE correlation_id IS NOT NULL;
)sql";

// Runs `body(thread)` on `threads` threads for `seconds`; returns operations per second, where
// body returns how many operations it did per call.
template <typename Body>
double RunFor(int threads, double seconds, Body body) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::vector<std::thread> pool;
  const double start = NowSeconds();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      int64_t mine = 0;
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) mine += body(t, i);
      done += mine;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  return static_cast<double>(done.load()) / (NowSeconds() - start);
}

// Raw: `connections` connections, each committing one-row INSERTs (autocommit).
double RawSingleRowCommits(const std::string& uri, int connections, double seconds) {
  std::vector<std::unique_ptr<PgConnection>> conns;
  for (int i = 0; i < connections; ++i) conns.push_back(Connect(uri));
  CheckOk(conns[0]->Exec(kRawTable), "creating raw_events");
  EventFactory factory(1);
  const BenchEvent e = factory.Make(0);
  std::vector<EventFactory> ids;
  for (int i = 0; i < connections; ++i) ids.emplace_back(static_cast<uint64_t>(i) + 100);
  return RunFor(connections, seconds, [&](int t, uint64_t) {
    const std::string id = ids[static_cast<size_t>(t)].NewUuidV7();
    CheckOk(conns[static_cast<size_t>(t)]
                ->QueryPrepared("raw_one",
                                "INSERT INTO raw_events VALUES (nextval('raw_positions'), $1, "
                                "nextval('raw_positions'), 0, $2, $3, $4, $5, NULL, 0)",
                                PgParams()
                                    .Text(id)
                                    .Text(e.type)
                                    .Text(e.data)
                                    .Text(e.metadata)
                                    .Text(e.correlation_id))
                .status(),
            "raw insert");
    return int64_t{1};
  });
}

// Raw: one connection inserting `rows`-row multi-row INSERTs, one per transaction.
double RawMultiRowInserts(const std::string& uri, int rows, double seconds) {
  auto conn = Connect(uri);
  CheckOk(conn->Exec(kRawTable), "creating raw_events");
  std::string sql = "INSERT INTO raw_events VALUES ";
  for (int r = 0; r < rows; ++r) {
    const int p = r * 5;
    sql += (r > 0 ? ",(" : "(") + std::string("nextval('raw_positions'), $") +
           std::to_string(p + 1) + ", 1, nextval('raw_positions'), $" + std::to_string(p + 2) +
           ", $" + std::to_string(p + 3) + ", $" + std::to_string(p + 4) + ", $" +
           std::to_string(p + 5) + ", NULL, 0)";
  }
  EventFactory factory(2);
  const std::vector<BenchEvent> events = factory.MakeMany(0, static_cast<size_t>(rows));
  return RunFor(1, seconds, [&](int, uint64_t) {
    std::vector<std::string> ids;
    for (int r = 0; r < rows; ++r) ids.push_back(factory.NewUuidV7());
    PgParams params;
    for (int r = 0; r < rows; ++r) {
      const BenchEvent& e = events[static_cast<size_t>(r)];
      params.Text(ids[static_cast<size_t>(r)])
          .Text(e.type)
          .Text(e.data)
          .Text(e.metadata)
          .Text(e.correlation_id);
    }
    CheckOk(conn->QueryPrepared("raw_multi", sql, params).status(), "raw multi-row insert");
    return int64_t{rows};
  });
}

// Triad: `threads` threads appending one event each call, spread over `nodes` store objects.
double TriadAppends(const std::string& uri, int threads, int nodes, double seconds) {
  std::vector<std::unique_ptr<EventStore>> stores;
  for (int n = 0; n < nodes; ++n)
    stores.push_back(CheckOk(EventStore::Open(Options{}, uri), "open"));
  EventFactory factory(3);
  const BenchEvent e = factory.Make(0);
  return RunFor(threads, seconds, [&](int t, uint64_t i) {
    const NewEvent event{.type = e.type, .data = e.data, .metadata = e.metadata};
    CheckOk(stores[static_cast<size_t>(t % nodes)]
                ->Append("acct-" + std::to_string(t) + "x" + std::to_string(i % 50),
                         ExpectedVersion::Any(), {&event, 1})
                .status(),
            "append");
    return int64_t{1};
  });
}

// Triad: one thread appending `rows` events per call.
double TriadBatches(const std::string& uri, int rows, double seconds) {
  auto store = CheckOk(EventStore::Open(Options{}, uri), "open");
  EventFactory factory(4);
  std::vector<NewEvent> events;
  for (const BenchEvent& e : factory.MakeMany(0, static_cast<size_t>(rows))) {
    events.push_back(NewEvent{.type = e.type, .data = e.data, .metadata = e.metadata});
  }
  return RunFor(1, seconds, [&](int, uint64_t i) {
    CheckOk(
        store->Append("batch-" + std::to_string(i), ExpectedVersion::NoStream(), events).status(),
        "batch append");
    return int64_t{rows};
  });
}

// Fills a fresh store with `n` events, `per_append` at a time to each of 1,000 streams in turn;
// returns the store.
std::unique_ptr<EventStore> FillLog(const std::string& uri, int64_t n, int64_t per_append) {
  auto store = CheckOk(EventStore::Open(Options{}, uri), "open");
  EventFactory factory(5);
  for (int64_t done = 0; done < n; done += per_append) {
    std::vector<NewEvent> events;
    for (const BenchEvent& e :
         factory.MakeMany(static_cast<uint64_t>(done), static_cast<size_t>(per_append))) {
      events.push_back(NewEvent{.type = e.type, .data = e.data, .metadata = e.metadata});
    }
    const std::string stream = "acct-" + std::to_string(done / per_append % 1000);
    CheckOk(store->Append(stream, ExpectedVersion::Any(), events).status(), "filling the log");
  }
  return store;
}

// Triad: `members` threads, each polling up to 10 messages of one group and acking them, spread
// over `nodes` nodes (a store and a ConsumerGroups each) on one schema; messages/s.
double TriadGroupMembers(const std::string& uri, int nodes, int members, double seconds) {
  std::vector<std::unique_ptr<EventStore>> stores;
  std::vector<std::unique_ptr<ConsumerGroups>> groups;
  for (int n = 0; n < nodes; ++n) {
    stores.push_back(CheckOk(EventStore::Open(Options{}, uri), "open"));
    groups.push_back(CheckOk(ConsumerGroups::Open(stores.back().get(), {.uri = uri}), "groups"));
  }
  CheckOk(groups[0]->Create("bench", {}).status(), "creating the group");
  const double rate = RunFor(members, seconds, [&](int t, uint64_t) {
    ConsumerGroups& node = *groups[static_cast<size_t>(t % nodes)];
    const std::string member = "member-" + std::to_string(t);
    auto batch = CheckOk(node.Poll("bench", member, {.max_messages = 10}), "poll");
    std::vector<Position> positions;
    for (const GroupMessage& m : batch) positions.push_back(m.event.position);
    if (!positions.empty()) CheckOk(node.Ack("bench", member, positions), "ack");
    return static_cast<int64_t>(positions.size());
  });
  CheckOk(groups[0]->Delete("bench"), "deleting the group");
  return rate;
}

// Raw: a keyset scan of the log in pages of 1,000, decoding every column; events/s.
double RawKeysetScan(const std::string& uri, int64_t n) {
  auto conn = Connect(uri);
  const double start = NowSeconds();
  int64_t seen = 0;
  int64_t bytes = 0;
  for (int64_t after = 0;;) {
    auto page = CheckOk(
        conn->QueryPrepared("scan",
                            "SELECT e.position, e.id, s.name, e.version, e.type, e.data, "
                            "e.metadata, e.correlation_id, e.causation_id, e.recorded_at FROM "
                            "events e JOIN streams s ON s.stream_id = e.stream_id WHERE "
                            "e.position > $1 ORDER BY e.position LIMIT 1000",
                            PgParams().Int(after)),
        "raw scan");
    if (page.rows() == 0) break;
    for (int r = 0; r < page.rows(); ++r) bytes += static_cast<int64_t>(page.Text(r, 5).size());
    seen += page.rows();
    after = page.Int(page.rows() - 1, 0);
  }
  if (seen != n || bytes == 0) Die("raw scan saw " + std::to_string(seen) + " events");
  return static_cast<double>(seen) / (NowSeconds() - start);
}

// Triad: the engine catching a projection up from 0 with RunOnce over the PostgreSQL log;
// events/s. With `write_documents` false the handler counts events per stream in a map the
// benchmark owns and the read model is `memory:` — the engine and the log reads alone, as the
// raw keyset scan; with it true, a per-stream counter document is upserted in the PostgreSQL
// read model (the full cost of a projection that writes every event).
double TriadCatchUp(EventStore& store, const std::string& uri, int64_t n, bool write_documents) {
  EngineOptions options;
  options.read_model_uri = write_documents ? uri : "memory:";
  auto engine = CheckOk(ProjectionEngine::Open(&store, options), "engine");
  std::map<std::string, int64_t, std::less<>> counts;
  ProjectionDefinition def;
  def.name = "per_stream";
  def.collections = {{"per_stream", {}}};
  def.key = DocumentKey::kStream;
  def.on_event = [&](const EventView& e, ProjectionContext& ctx) -> Status {
    if (!write_documents) {
      auto it = counts.find(e.stream);
      if (it == counts.end()) it = counts.emplace(std::string(e.stream), 0).first;
      ++it->second;
      return Status();
    }
    auto doc = ctx.Upsert("per_stream", std::string(e.stream));
    if (!doc.ok()) return doc.status();
    (**doc)["n"] = (**doc).value("n", 0) + 1;
    return Status();
  };
  CheckOk(engine->Register(def), "register");
  const double start = NowSeconds();
  const Position reached = CheckOk(engine->RunOnce("per_stream"), "catch-up");
  const double rate = static_cast<double>(n) / (NowSeconds() - start);
  if (reached != n) Die("catch-up reached " + std::to_string(reached));
  return rate;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (const int rc = ParseFlags(argc, argv, flags); rc >= 0) return rc;
  if (flags.url.empty()) flags.url = testing::PostgresTestUrl().value_or("");
  if (flags.url.empty()) {
    std::fprintf(stderr, "triad_pg_bench: give --url=postgres://... or set TRIAD_TEST_POSTGRES\n");
    return 2;
  }
  Report report(/*evaluate_goals=*/true);
  report.SetLegend(
      "raw: libpq on the same server in the same run: append rows against 8 connections "
      "committing one-row INSERTs; batch_1000 against 1,000-row multi-row INSERTs; catch_up "
      "against a keyset scan of Triad's events table in pages of 1,000; group rows (messages "
      "polled and acked) against the same single-row commits as the appends.");
  Row& single = report.GetRow("append_64_writers", "events/s", Better::kHigher, 10.0);
  Row& two = report.GetRow("append_64_two_nodes", "events/s", Better::kHigher, 10.0);
  Row& batch = report.GetRow("batch_1000", "events/s", Better::kHigher, 0.8);
  Row& catch_up = report.GetRow("catch_up", "events/s", Better::kHigher, 0.85);
  Row& catch_up_write = report.GetRow("catch_up_write", "events/s", Better::kHigher, std::nullopt);
  Row& group = report.GetRow("group_8_members", "messages/s", Better::kHigher, std::nullopt);
  Row& group_two =
      report.GetRow("group_8_members_two_nodes", "messages/s", Better::kHigher, std::nullopt);
  // A section runs when the filter selects any of its rows.
  auto wanted = [&](std::initializer_list<std::string_view> rows) {
    return std::any_of(rows.begin(), rows.end(),
                       [&](std::string_view row) { return row.starts_with(flags.only); });
  };
  for (int run = 0; run < flags.runs; ++run) {
    const std::string raw_uri = WithSchema(flags.url, "bench_raw");
    const double raw_single = RawSingleRowCommits(raw_uri, 8, flags.seconds);
    const std::string a = WithSchema(flags.url, "bench_a");
    testing::DropPostgresSchema(a);
    if (wanted({"append_64_writers"})) {
      report.Record(single, TriadAppends(a, 64, 1, flags.seconds), raw_single);
      testing::DropPostgresSchema(a);
    }
    if (wanted({"append_64_two_nodes"})) {
      report.Record(two, TriadAppends(a, 64, 2, flags.seconds), raw_single);
      testing::DropPostgresSchema(a);
    }
    if (wanted({"batch_1000"})) {
      const double raw_multi = RawMultiRowInserts(raw_uri, 1000, flags.seconds);
      report.Record(batch, TriadBatches(a, 1000, flags.seconds), raw_multi);
      testing::DropPostgresSchema(a);
    }
    if (wanted({"catch_up", "catch_up_write"})) {
      auto store = FillLog(a, flags.events, 1000);
      const double raw_scan = RawKeysetScan(a, flags.events);
      report.Record(catch_up, TriadCatchUp(*store, a, flags.events, false), raw_scan);
      report.Record(catch_up_write, TriadCatchUp(*store, a, flags.events, true), raw_scan);
      store.reset();
      testing::DropPostgresSchema(a);
    }
    if (wanted({"group_8_members", "group_8_members_two_nodes"})) {
      // Blocks of 100 per stream: a group's members find many streams to work on at once.
      FillLog(a, 50'000, 100);
      report.Record(group, TriadGroupMembers(a, 1, 8, flags.seconds), raw_single);
      report.Record(group_two, TriadGroupMembers(a, 2, 8, flags.seconds), raw_single);
      testing::DropPostgresSchema(a);
    }
    testing::DropPostgresSchema(raw_uri);
  }
  report.Print(flags.runs);
  return flags.check_goals && report.AnyGoalMissed() ? 3 : 0;
}

}  // namespace
}  // namespace triad::bench

int main(int argc, char** argv) { return triad::bench::Main(argc, argv); }
