// triad_projection_bench: the read side's benchmarks (projections and queries), each Triad figure
// beside a raw SQLite baseline measured in the same run, the two sides interleaved (alternating
// order per run, or op by op for latencies). See docs/performance.md, "Projections and queries".
//
//   triad_projection_bench                        # everything, default sizes, 3 runs
//   triad_projection_bench --benchmarks=catch_up_decode --events=200000 --runs=5
//   triad_projection_bench --events=2000 --docs=1000 --runs=1 --ops=200 --seconds=1   # smoke
//
// A separate binary from triad_bench: it needs the bank example's projections (triad_bank) and
// stores of a million events and documents, which triad_bench's write-path rows do not.
#include "bank/account_event_data.h"
#include "bank/account_events.h"
#include "bank/accounts_projection.h"

#include "triad/event_store.h"
#include "triad/projection_engine.h"
#include "triad/read_model_backend.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_util.h"
#include "projection_workload.h"
#include "raw_read_model.h"
#include "raw_sqlite.h"
#include "report.h"

namespace triad::bench {
namespace {

constexpr std::string_view kAll[] = {"catch_up_decode", "catch_up_write", "get_query", "freshness"};

struct ProjectionFlags {
  std::vector<std::string> benchmarks{std::begin(kAll), std::end(kAll)};
  int64_t events = 1'000'000;
  std::vector<int64_t> docs = {100'000, 1'000'000};
  int64_t raw_prefix = 3000;  // events of the raw durable upsert loop (one fsync each)
  int64_t ops = 20'000;       // latency samples per query row and run
  double seconds = 5;         // freshness load duration
  double rate = 5000;         // freshness load, events/s
  int runs = 3;
  std::string db_dir;
  uint64_t seed = 301;
  bool check_goals = false;
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int ParseFlags(int argc, char** argv, ProjectionFlags& f) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--help") {
      std::printf(
          "triad_projection_bench [--benchmarks=%s,%s,%s,%s] [--events=N] [--docs=N,M]\n"
          "  [--raw_prefix=N] [--ops=N] [--seconds=S] [--rate=EVENTS_PER_S] [--runs=N]\n"
          "  [--db_dir=DIR] [--seed=N] [--check-goals]\n",
          kAll[0].data(), kAll[1].data(), kAll[2].data(), kAll[3].data());
      return 0;
    }
    if (name == "--check-goals" || name == "--check_goals") {
      f.check_goals = true;
    } else if (eq == std::string::npos) {
      std::fprintf(stderr, "triad_projection_bench: %s needs =VALUE\n", name.c_str());
      return 2;
    } else if (name == "--benchmarks") {
      f.benchmarks = SplitList(value);
      for (const std::string& b : f.benchmarks) {
        if (std::find(std::begin(kAll), std::end(kAll), b) == std::end(kAll)) {
          std::fprintf(stderr, "triad_projection_bench: unknown benchmark %s\n", b.c_str());
          return 2;
        }
      }
    } else if (name == "--events") {
      f.events = std::atoll(value.c_str());
    } else if (name == "--docs") {
      f.docs.clear();
      for (const std::string& d : SplitList(value)) f.docs.push_back(std::atoll(d.c_str()));
    } else if (name == "--raw_prefix") {
      f.raw_prefix = std::atoll(value.c_str());
    } else if (name == "--ops") {
      f.ops = std::atoll(value.c_str());
    } else if (name == "--seconds") {
      f.seconds = std::atof(value.c_str());
    } else if (name == "--rate") {
      f.rate = std::atof(value.c_str());
    } else if (name == "--runs") {
      f.runs = std::atoi(value.c_str());
    } else if (name == "--db_dir") {
      f.db_dir = value;
    } else if (name == "--seed") {
      f.seed = std::strtoull(value.c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr, "triad_projection_bench: unknown flag %s (see --help)\n", name.c_str());
      return 2;
    }
  }
  if (f.events < 10 || f.runs < 1 || f.ops < 1 || f.docs.empty() || f.raw_prefix < 1) {
    std::fprintf(stderr, "triad_projection_bench: sizes must be positive (--events >= 10)\n");
    return 2;
  }
  return -1;
}

std::string SizeName(int64_t n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + "M";
  if (n >= 1000 && n % 1000 == 0) return std::to_string(n / 1000) + "k";
  return std::to_string(n);
}

std::unique_ptr<EventStore> OpenStore(const std::string& path, Durability durability) {
  Options options;
  options.durability = durability;
  return CheckOk(EventStore::Open(options, "sqlite:" + path), "open store " + path);
}

std::unique_ptr<ProjectionEngine> OpenEngine(EventStore& store, const std::string& read_model_uri,
                                             Durability durability) {
  EngineOptions options;
  options.read_model_uri = read_model_uri;
  options.read_model_options.durability = durability;
  return CheckOk(ProjectionEngine::Open(&store, options), "open engine " + read_model_uri);
}

// The accounts projection's decode and in-memory fold with no document writes: the handler
// folds into `documents`, a map the benchmark owns, instead of the read model.
// Looked up by the event's string_view stream without building a std::string key.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using DocumentMap = std::unordered_map<std::string, nlohmann::json, StringHash, std::equal_to<>>;

ProjectionDefinition DecodeOnlyProjection(DocumentMap& docs) {
  ProjectionDefinition p = bank::AccountsProjection();
  p.name = "decode_only";
  p.collections = {{"decode_only", {}}};
  p.on_event = [&docs](const EventView& e, ProjectionContext&) {
    auto it = docs.find(e.stream);
    if (it == docs.end()) it = docs.emplace(std::string(e.stream), nlohmann::json::object()).first;
    return bank::ApplyAccountEvent(e, it->second);
  };
  return p;
}

class ProjectionBench {
 public:
  explicit ProjectionBench(const ProjectionFlags& flags)
      : flags_(flags), dir_(flags.db_dir, false), report_(true) {
    report_.SetLegend(R"(
Raw baselines (same run, interleaved with the Triad side):
  catch_up_*        sqlite3 keyset scan of the same events: WHERE position > ? ORDER BY position
                    LIMIT 1000, Triad's columns and join, every column read (no filter: every
                    event of the workload is an account event the projection consumes)
  decode_simdjson_vs_nlohmann  the handler's decoders (simdjson on-demand) against
                    nlohmann::json::parse reading the same fields, events in memory
  catch_up_write    per event: BEGIN IMMEDIATE; SELECT the document; modify it (same decoder and
                    fold); upsert; COMMIT (synchronous=FULL): one durable write per event, over
                    the first --raw_prefix events; rates compared
  get_by_id_*       SELECT body FROM plain_docs WHERE id = ? (a plain WITHOUT ROWID table)
  query_indexed_*   SELECT id, owner, body FROM plain_docs WHERE owner = ? ORDER BY id LIMIT 100
                    (plain index on owner, id); about 10 hits
  freshness_*       the store's own EventStore::WaitForPosition wake-up after the append's ack
)");
  }

  int Run() {
    auto wants = [&](std::string_view b) {
      return std::find(flags_.benchmarks.begin(), flags_.benchmarks.end(), b) !=
             flags_.benchmarks.end();
    };
    if (wants("catch_up_decode") || wants("catch_up_write")) {
      PrepareCatchUpLog();
      for (int run = 0; run < flags_.runs; ++run) {
        if (wants("catch_up_decode")) {
          CatchUpDecode(run, DecodeMode::kFiltered);
          CatchUpDecode(run, DecodeMode::kUnfiltered);
          CatchUpDecode(run, DecodeMode::kEngineOnly);
          DecodeChoice(run);
        }
        if (wants("catch_up_write")) CatchUpWrite(run);
      }
    }
    if (wants("get_query")) {
      for (int64_t docs : flags_.docs) GetAndQuery(docs);
    }
    if (wants("freshness")) {
      for (int run = 0; run < flags_.runs; ++run) {
        // The read model's durability decides what a batch commit waits for: kFull an fsync
        // per batch, kRelaxed none (a power loss rolls documents and checkpoint back together and
        // the engine redoes them). Both rows, alternating which goes first.
        for (int k = 0; k < 2; ++k) {
          Freshness(run, (run + k) % 2 == 0 ? Durability::kFull : Durability::kRelaxed);
        }
      }
    }
    report_.Print(flags_.runs);
    return flags_.check_goals && report_.AnyGoalMissed() ? 3 : 0;
  }

 private:
  // ---- catch-up: N events over N/10 streams ----

  void PrepareCatchUpLog() {
    log_path_ = dir_.File("catch_up.db");
    const int64_t streams = std::max<int64_t>(1, flags_.events / 10);
    std::printf("building the catch-up log: %s events over %s accounts...\n",
                WithCommas(static_cast<double>(flags_.events)).c_str(),
                WithCommas(static_cast<double>(streams)).c_str());
    std::fflush(stdout);
    const double start = NowSeconds();
    auto store = OpenStore(log_path_, Durability::kRelaxed);
    BuildBankLog(*store, flags_.events, streams, std::max<int64_t>(1, streams / 10), flags_.seed);
    std::printf("  built in %.1f s\n", NowSeconds() - start);
  }

  // The goal row reads the log with the accounts projection's filter (its category and four
  // event types) pushed down. Two more rows tell where the time goes: the same handler with no
  // filter (every event of this workload passes the filter anyway, so the work is the same), and
  // the engine alone (no filter, a handler that returns at once).
  enum class DecodeMode { kFiltered, kUnfiltered, kEngineOnly };
  void CatchUpDecode(int run, DecodeMode mode) {
    const bool noop = mode == DecodeMode::kEngineOnly;
    Row& row = mode == DecodeMode::kFiltered
                   ? report_.GetRow("catch_up_decode", "events/s", Better::kHigher, 0.8)
               : mode == DecodeMode::kUnfiltered
                   ? report_.GetRow("catch_up_decode_nofilter", "events/s", Better::kHigher, {})
                   : report_.GetRow("catch_up_dispatch_nofilter", "events/s", Better::kHigher, {});
    auto store = OpenStore(log_path_, Durability::kFull);
    RawDb raw_db(log_path_, false);
    RawLogScanner scanner(raw_db);
    double triad_s = 0, raw_s = 0;
    int64_t triad_events = 0, raw_events = 0;
    auto triad_side = [&] {
      DocumentMap docs;
      auto engine = OpenEngine(*store, "memory:", Durability::kFull);
      ProjectionDefinition definition = DecodeOnlyProjection(docs);
      if (noop) definition.on_event = [](const EventView&, ProjectionContext&) { return Status(); };
      if (mode != DecodeMode::kFiltered) {
        definition.event_types.clear();
        definition.categories.clear();
      }
      CheckOk(engine->Register(std::move(definition)), "register");
      const double start = NowSeconds();
      triad_events = CheckOk(engine->RunOnce("decode_only"), "RunOnce");
      triad_s = NowSeconds() - start;
      if (!noop && docs.size() != static_cast<size_t>(std::max<int64_t>(1, flags_.events / 10))) {
        Die("decode_only folded " + std::to_string(docs.size()) + " accounts");
      }
    };
    auto raw_side = [&] {
      const double start = NowSeconds();
      int64_t after = 0, rows = 0, n = 0;
      while ((n = scanner.ReadPage("", after, 1000, after)) > 0) rows += n;
      raw_s = NowSeconds() - start;
      raw_events = rows;
    };
    if (run % 2 == 0) {
      triad_side();
      raw_side();
    } else {
      raw_side();
      triad_side();
    }
    report_.Record(row, static_cast<double>(triad_events) / triad_s,
                   static_cast<double>(raw_events) / raw_s);
  }

  // The handler's decoding alone, on events already in memory: the simdjson on-demand decoders
  // of bank/account_event_data.h (the "triad" column) against nlohmann::json::parse of the same
  // data reading the same fields (the "raw" column). Why the example decodes with simdjson.
  void DecodeChoice(int run) {
    Row& row = report_.GetRow("decode_simdjson_vs_nlohmann", "events/s", Better::kHigher, {});
    if (decode_sample_.empty()) {
      RawDb db(log_path_, false);
      RawEventReader reader(db);
      int64_t after = 0;
      while (decode_sample_.size() < 200'000 &&
             reader.ReadPage(after, 1000, after, [&](const EventView& e) {
               decode_sample_.emplace_back(std::string(e.type), std::string(e.data));
             }) > 0) {
      }
    }
    int64_t sum = 0;
    auto simdjson_side = [&] {
      for (const auto& [type, data] : decode_sample_) {
        if (type == "AccountOpened") {
          sum += CheckOk(bank::DecodeOpened(data), "decode").overdraft_limit_cents;
        } else {
          sum += CheckOk(bank::DecodeAmount(data), "decode");
        }
      }
    };
    auto nlohmann_side = [&] {
      for (const auto& [type, data] : decode_sample_) {
        const nlohmann::json d = nlohmann::json::parse(data, nullptr, false);
        if (type == "AccountOpened") {
          sum += static_cast<int64_t>(d.at("owner").get_ref<const std::string&>().size() +
                                      d.at("branch").get_ref<const std::string&>().size()) +
                 d.value("overdraft_limit_cents", int64_t{0});
        } else {
          sum += d.at("amount_cents").get<int64_t>();
        }
      }
    };
    double a = 0, b = 0;
    for (int i = 0; i < 2; ++i) {  // ABBA
      const bool simd_first = (run + i) % 2 == 0;
      const double t0 = NowSeconds();
      simd_first ? simdjson_side() : nlohmann_side();
      const double t1 = NowSeconds();
      simd_first ? nlohmann_side() : simdjson_side();
      const double t2 = NowSeconds();
      a += simd_first ? t1 - t0 : t2 - t1;
      b += simd_first ? t2 - t1 : t1 - t0;
    }
    if (sum == 42) std::printf(" ");  // keeps the decoding from being optimized away
    const double n = 2.0 * static_cast<double>(decode_sample_.size());
    report_.Record(row, n / a, n / b);
  }

  void CatchUpWrite(int run) {
    Row& row = report_.GetRow("catch_up_write", "events/s", Better::kHigher, 3.0);
    auto store = OpenStore(log_path_, Durability::kFull);
    const std::string rm = dir_.File("catch_up_rm_" + std::to_string(run) + ".db");
    const std::string raw_path = dir_.File("catch_up_raw_" + std::to_string(run) + ".db");
    double triad_rate = 0, raw_rate = 0;
    int64_t documents = 0;
    auto triad_side = [&] {
      auto engine = OpenEngine(*store, "sqlite:" + rm, Durability::kFull);
      CheckOk(engine->Register(bank::AccountsProjection()), "register");
      const double start = NowSeconds();
      const Position reached = CheckOk(engine->RunOnce("accounts"), "RunOnce");
      triad_rate = static_cast<double>(reached) / (NowSeconds() - start);
      documents = CheckOk(engine->Count("accounts", Query{}), "count").count;
    };
    auto raw_side = [&] {
      RawDb events_db(log_path_, false);
      RawEventReader reader(events_db);
      RawDb docs_db(raw_path, false);
      RawDocumentTable table(docs_db);
      const double start = NowSeconds();
      int64_t after = 0, done = 0;
      while (done < flags_.raw_prefix) {
        const int64_t n = reader.ReadPage(after, std::min<int64_t>(1000, flags_.raw_prefix - done),
                                          after, [&](const EventView& e) {
                                            table.Update(e.stream, [&](std::string& body) {
                                              nlohmann::json doc =
                                                  body.empty() ? nlohmann::json::object()
                                                               : nlohmann::json::parse(body);
                                              CheckOk(bank::ApplyAccountEvent(e, doc), "raw fold");
                                              body = doc.dump();
                                            });
                                          });
        if (n == 0) break;
        done += n;
      }
      raw_rate = static_cast<double>(done) / (NowSeconds() - start);
    };
    if (run % 2 == 0) {
      triad_side();
      raw_side();
    } else {
      raw_side();
      triad_side();
    }
    report_.Record(row, triad_rate, raw_rate);
    report_.SetNote("catch_up_write", std::to_string(documents) +
                                          " documents with 4 indexes, Durability::kFull, batches "
                                          "of 1,000; raw loop over the first " +
                                          std::to_string(flags_.raw_prefix) + " events");
    dir_.RemoveDb("catch_up_rm_" + std::to_string(run) + ".db");
    dir_.RemoveDb("catch_up_raw_" + std::to_string(run) + ".db");
  }

  // ---- point reads and indexed queries over `docs` account documents ----

  void GetAndQuery(int64_t docs) {
    const std::string size = SizeName(docs);
    const std::string path = dir_.File("query_" + size + ".db");
    const int64_t owners = std::max<int64_t>(1, docs / 10);  // about 10 accounts per owner
    std::printf("building %s account documents...\n", size.c_str());
    std::fflush(stdout);
    const double start = NowSeconds();
    auto store = OpenStore(path, Durability::kRelaxed);
    BuildBankLog(*store, docs, docs, owners, flags_.seed);
    auto engine = OpenEngine(*store, "sqlite:" + path + ".readmodel", Durability::kRelaxed);
    CheckOk(engine->Register(bank::AccountsProjection()), "register");
    CheckOk(engine->RunOnce("accounts"), "RunOnce");
    // The same documents in a plain table.
    RawDb raw_db(dir_.File("query_raw_" + size + ".db"), false);
    RawDocumentTable table(raw_db);
    auto backend =
        CheckOk(OpenReadModelBackend(ReadModelOptions{}, "sqlite:" + path + ".readmodel"),
                "open read model");
    const std::string collection = CollectionStorageName("accounts", 1, "accounts");
    std::string after;
    table.Begin();
    while (true) {
      auto page = CheckOk(backend->ScanDocuments(collection, after, 5000), "scan");
      if (page.empty()) break;
      for (const Document& d : page) {
        table.Insert(d.id, nlohmann::json::parse(d.body).value("owner", ""), d.body);
      }
      after = page.back().id;
    }
    table.Commit();
    backend.reset();
    std::printf("  built in %.1f s\n", NowSeconds() - start);

    for (int run = 0; run < flags_.runs; ++run) {
      std::mt19937_64 rng(flags_.seed + static_cast<uint64_t>(run));
      std::vector<double> tg, rg, tq, rq;
      std::string body;
      Query query;
      query.limit = 100;
      for (int64_t i = 0; i < flags_.ops; ++i) {
        const std::string id = AccountStream(static_cast<int64_t>(rng() % docs));
        const std::string owner = OwnerName(static_cast<int64_t>(rng() % owners));
        query.filters = {{.field = "owner", .op = FilterOp::kEq, .values = {owner}}};
        // Op by op, alternating which side goes first.
        auto get_triad = [&] {
          const double t = NowSeconds();
          auto read = engine->Get("accounts", id);
          tg.push_back((NowSeconds() - t) * 1e6);
          if (!read.ok() || !read->document) Die("get " + id);
        };
        auto get_raw = [&] {
          const double t = NowSeconds();
          const bool found = table.Get(id, body);
          rg.push_back((NowSeconds() - t) * 1e6);
          if (!found) Die("raw get " + id);
        };
        auto find_triad = [&] {
          const double t = NowSeconds();
          auto page = engine->Find("accounts", query);
          tq.push_back((NowSeconds() - t) * 1e6);
          if (!page.ok() || page->documents.empty()) Die("find " + owner);
        };
        auto find_raw = [&] {
          const double t = NowSeconds();
          const int64_t n = table.FindByOwner(owner, 100);
          rq.push_back((NowSeconds() - t) * 1e6);
          if (n == 0) Die("raw find " + owner);
        };
        if (i % 2 == 0) {
          get_triad(), get_raw(), find_triad(), find_raw();
        } else {
          get_raw(), get_triad(), find_raw(), find_triad();
        }
      }
      report_.Record(report_.GetRow("get_by_id_" + size + "_p50", "us", Better::kLower, 2.0),
                     Percentile(tg, 50), Percentile(rg, 50));
      report_.Record(report_.GetRow("get_by_id_" + size + "_p99", "us", Better::kLower, {}),
                     Percentile(tg, 99), Percentile(rg, 99));
      report_.Record(report_.GetRow("query_indexed_" + size + "_p50", "us", Better::kLower, 2.3),
                     Percentile(tq, 50), Percentile(rq, 50));
      report_.Record(report_.GetRow("query_indexed_" + size + "_p99", "us", Better::kLower, {}),
                     Percentile(tq, 99), Percentile(rq, 99));
    }
    engine.reset();
    store.reset();
    dir_.RemoveDb("query_" + size + ".db");
    dir_.RemoveDb("query_" + size + ".db.readmodel");
    dir_.RemoveDb("query_raw_" + size + ".db");
  }

  // ---- freshness: commit ack -> document visible under a steady append load ----

  void Freshness(int run, Durability read_model_durability) {
    const bool full = read_model_durability == Durability::kFull;
    const std::string name =
        std::string("fresh_") + (full ? "full_" : "relaxed_") + std::to_string(run) + ".db";
    const std::string path = dir_.File(name);
    constexpr int64_t kAccounts = 1000;
    constexpr int kAppenders = 4;
    auto store = OpenStore(path, Durability::kFull);
    BuildBankLog(*store, kAccounts, kAccounts, 100, flags_.seed);
    auto engine = OpenEngine(*store, "sqlite:" + path + ".readmodel", read_model_durability);
    CheckOk(engine->Register(bank::AccountsProjection()), "register");
    CheckOk(engine->Start(), "start");
    const Position head0 = CheckOk(store->HeadPosition(), "head");
    CheckOk(engine->WaitForCheckpoint("accounts", head0, 60'000'000), "initial catch-up");

    const int64_t planned = static_cast<int64_t>(flags_.rate * flags_.seconds);
    const size_t slots = static_cast<size_t>(head0 + planned + 16);
    std::vector<double> acked(slots, 0), visible(slots, 0), woken(slots, 0);
    std::atomic<bool> stop{false};
    // A waiter records the first moment it saw each position reached. `last` tells the main
    // thread how far it has recorded.
    std::atomic<Position> engine_last{head0}, store_last{head0};
    auto waiter = [&](std::vector<double>& seen, std::atomic<Position>& last_seen, auto wait) {
      Position last = head0;
      while (!stop.load()) {
        Result<Position> reached = wait(last + 1);
        if (!reached.ok()) continue;  // a timeout: look at `stop` again
        const double now = NowSeconds();
        for (Position p = last + 1; p <= *reached && p < static_cast<Position>(slots); ++p) {
          seen[static_cast<size_t>(p)] = now;
        }
        last = std::max(last, *reached);
        last_seen.store(last);
      }
    };
    std::thread engine_waiter(waiter, std::ref(visible), std::ref(engine_last), [&](Position p) {
      return engine->WaitForCheckpoint("accounts", p, 100'000);
    });
    std::thread store_waiter(waiter, std::ref(woken), std::ref(store_last),
                             [&](Position p) { return store->WaitForPosition(p, 100'000); });
    std::vector<std::thread> appenders;
    const double start = NowSeconds() + 0.01;
    const double interval = kAppenders / flags_.rate;
    std::atomic<int64_t> appended{0};
    for (int a = 0; a < kAppenders; ++a) {
      appenders.emplace_back([&, a] {
        std::mt19937_64 rng(flags_.seed + static_cast<uint64_t>(a));
        for (int64_t i = 0;; ++i) {
          const double at = start + (static_cast<double>(i) + a / double{kAppenders}) * interval;
          if (at > start + flags_.seconds) return;
          std::this_thread::sleep_until(std::chrono::steady_clock::time_point(
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  std::chrono::duration<double>(at))));
          const NewEvent deposit = bank::MoneyDepositedEvent(100);
          auto r = store->Append(AccountStream(static_cast<int64_t>(rng() % kAccounts)),
                                 ExpectedVersion::Any(), {&deposit, 1});
          const double now = NowSeconds();
          CheckOk(r.status(), "append");
          if (r->last_position < static_cast<Position>(slots)) {
            acked[static_cast<size_t>(r->last_position)] = now;
          }
          appended.fetch_add(1);
        }
      });
    }
    for (std::thread& a : appenders) a.join();
    const double elapsed = NowSeconds() - start;
    const Position head = CheckOk(store->HeadPosition(), "head");
    CheckOk(engine->WaitForCheckpoint("accounts", head, 10'000'000), "final catch-up");
    // Both waiters have seen the head within their next wake-up; wait for them to record it.
    const double give_up = NowSeconds() + 10;
    while ((engine_last.load() < head || store_last.load() < head) && NowSeconds() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    stop = true;
    engine_waiter.join();
    store_waiter.join();
    std::vector<double> triad_us, raw_us;
    for (size_t p = static_cast<size_t>(head0) + 1; p < slots && p <= static_cast<size_t>(head);
         ++p) {
      if (acked[p] == 0 || visible[p] == 0 || woken[p] == 0) continue;
      // A waiter can see a position a moment before the appender returns from Append: 0 then.
      triad_us.push_back(std::max(0.0, visible[p] - acked[p]) * 1e6);
      raw_us.push_back(std::max(0.0, woken[p] - acked[p]) * 1e6);
    }
    if (triad_us.empty()) Die("freshness: nothing appended");
    const std::string row = full ? "freshness_rm_full" : "freshness_rm_relaxed";
    Row& p50 = report_.GetRow(row + "_p50", "us", Better::kLower, {});
    Row& p99 = report_.GetRow(row + "_p99", "us", Better::kLower, {});
    p99.value_goal = 10'000;
    report_.Record(p50, Percentile(triad_us, 50), Percentile(raw_us, 50));
    report_.Record(p99, Percentile(triad_us, 99), Percentile(raw_us, 99));
    char note[160];
    std::snprintf(note, sizeof note,
                  "%lld appends in %.1f s (%.0f events/s) from %d threads, event store "
                  "Durability::kFull; goal on the p99 itself",
                  static_cast<long long>(appended.load()), elapsed,
                  static_cast<double>(appended.load()) / elapsed, kAppenders);
    report_.SetNote(row, note);
    engine.reset();
    store.reset();
    dir_.RemoveDb(name);
    dir_.RemoveDb(name + ".readmodel");
  }

  const ProjectionFlags flags_;
  ScratchDir dir_;
  Report report_;
  std::string log_path_;
  std::vector<std::pair<std::string, std::string>> decode_sample_;  // (type, data)
};

}  // namespace
}  // namespace triad::bench

int main(int argc, char** argv) {
  triad::bench::ProjectionFlags flags;
  const int exit_status = triad::bench::ParseFlags(argc, argv, flags);
  if (exit_status >= 0) return exit_status;
  return triad::bench::ProjectionBench(flags).Run();
}
