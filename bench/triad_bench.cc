// triad_bench: Triad's db_bench (leveldb db_bench.cc and db_bench_sqlite3.cc in one binary).
//
// Every Triad figure is measured beside a raw baseline in the same run, and the two sides are
// interleaved (op by op, call by call, page by page, or in ABBA segments for the threaded
// benchmark): on a shared two-core machine fsync latency and CPU share drift by an order of
// magnitude within minutes, and only a comparison made at the same moment holds still. Each
// benchmark runs --runs times; the table shows medians. See docs/performance.md.
//
//   triad_bench                                   # everything, default sizes, 3 runs
//   triad_bench --benchmarks=append_batch --runs=5 --check-goals
//   triad_bench --num=1000 --runs=1               # the CI smoke test
#include "triad/event_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <time.h>
#include <vector>

#include "bench_flags.h"
#include "bench_util.h"
#include "raw_probe.h"
#include "raw_sqlite.h"
#include "report.h"

namespace triad::bench {
namespace {

// Runs `body(t)` on `threads` threads released together; returns the seconds until all finished.
double TimeThreads(int threads, const std::function<void(int)>& body) {
  std::latch ready(threads);
  std::latch go(1);
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ready.count_down();
      go.wait();
      body(t);
    });
  }
  ready.wait();
  const double start = NowSeconds();
  go.count_down();
  for (std::thread& w : workers) w.join();
  return NowSeconds() - start;
}

// Seconds taken by `f()`.
template <typename F>
double Time(F&& f) {
  const double start = NowSeconds();
  f();
  return NowSeconds() - start;
}

// Runs `a` and `b` in an order that alternates with `turn`, adding each one's seconds to its
// total, so that neither side always runs first (after the other has warmed or dirtied caches).
template <typename A, typename B>
void Interleave(int64_t turn, A&& a, double& a_seconds, B&& b, double& b_seconds) {
  if (turn % 2 == 0) {
    a_seconds += Time(a);
    b_seconds += Time(b);
  } else {
    b_seconds += Time(b);
    a_seconds += Time(a);
  }
}

// How many commits wrote the log of `store`: every append of one group commit carries the same
// recorded_at, so a change of recorded_at between neighbouring positions starts a new commit.
// (Two commits within one microsecond would count as one; the figure is for commentary.)
int64_t CountCommits(EventStore& store) {
  ReadAllOptions options;
  options.limit = 1000;
  int64_t commits = 0;
  int64_t previous = -1;
  while (true) {
    const auto page = CheckOk(store.ReadAll(options), "counting commits");
    for (const RecordedEvent& e : page) {
      if (e.recorded_at_us != previous) ++commits;
      previous = e.recorded_at_us;
    }
    if (page.size() < options.limit) return commits;
    options.from_position = page.back().position + 1;
  }
}

std::string GroupNote(int64_t triad_appends, int64_t triad_commits, int64_t probe_appends,
                      int64_t probe_syncs) {
  char note[128];
  std::snprintf(
      note, sizeof note, "%.1f appends per Triad commit, %.1f per probe fdatasync",
      static_cast<double>(triad_appends) / static_cast<double>(std::max<int64_t>(1, triad_commits)),
      static_cast<double>(probe_appends) / static_cast<double>(std::max<int64_t>(1, probe_syncs)));
  return note;
}

// The probe's ring: everything the run writes, between 1 and 64 MiB.
size_t RingBytes(const std::vector<std::string>& records) {
  size_t bytes = 0;
  for (const std::string& r : records) bytes += r.size();
  return std::clamp<size_t>(bytes + (1 << 20), 1 << 20, 64 << 20);
}

// Fills `store` with `small` 10-event and `large` 100-event streams. Streams grow in rounds of 5
// or 10 events so that a stream's events are spread over the log, as in a store where many
// aggregates change at once; four writers share the group commit to fill it quickly.
void FillReadStore(EventStore& store, int64_t small, int64_t large, uint64_t seed) {
  constexpr int kWriters = 4;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      EventFactory factory(seed + static_cast<uint64_t>(w) + 1);
      uint64_t index = 0;
      auto append = [&](const std::string& stream, StreamVersion version, size_t n) {
        std::vector<NewEvent> chunk;
        for (const BenchEvent& e : factory.MakeMany(index, n)) chunk.push_back(ToNewEvent(e));
        index += n;
        CheckOk(store.Append(stream, ExpectedVersion::Exact(version), chunk), "filling " + stream);
      };
      for (int round = 0; round < 10; ++round) {
        for (int64_t i = w; i < large; i += kWriters) {
          append("ledger-" + std::to_string(i), round * 10 - 1, 10);
        }
        if (round >= 2) continue;
        for (int64_t i = w; i < small; i += kWriters) {
          append("account-" + std::to_string(i), round * 5 - 1, 5);
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
}

class Runner {
 public:
  explicit Runner(const Flags& flags)
      : flags_(flags),
        dir_(flags.db_dir, flags.keep_db),
        factory_(flags.seed),
        report_(flags.backend == "sqlite") {}

  int Main();

 private:
  std::unique_ptr<EventStore> OpenStore(std::string_view file, Durability durability);
  void RunAppendSeq(int run);
  void RunAppendContended(int run);
  void RunAppendBatch(int run);
  void BuildReadFixture();
  void RunReadStream(int run);
  void RunReadAll(int run);

  const Flags flags_;
  ScratchDir dir_;
  EventFactory factory_;
  Report report_;

  // Shared by read_stream and read_all: built once, read by every run.
  bool read_fixture_built_ = false;
  std::unique_ptr<EventStore> read_store_;
  std::unique_ptr<RawDb> read_raw_;
  int64_t small_streams_ = 0;
  int64_t large_streams_ = 0;
};

std::unique_ptr<EventStore> Runner::OpenStore(std::string_view file, Durability durability) {
  Options options;
  options.durability = durability;
  const std::string uri = flags_.backend == "memory" ? "memory:" : "sqlite:" + dir_.File(file);
  return CheckOk(EventStore::Open(options, uri), "opening " + uri);
}

// One writer, one event per append, exact expected versions; Triad and probe appends alternate.
void Runner::RunAppendSeq(int run) {
  Row& row = report_.GetRow("append_seq", "appends/s", Better::kHigher, std::nullopt);
  const int64_t n = flags_.num;
  std::vector<NewEvent> events;
  std::vector<std::string> records;
  for (const BenchEvent& e : factory_.MakeMany(0, static_cast<size_t>(n))) {
    events.push_back(ToNewEvent(e));
    records.push_back(ToLogRecord("account-0", static_cast<int64_t>(records.size()), e));
  }
  dir_.RemoveDb("append.db");
  auto store = OpenStore("append.db", Durability::kFull);
  GroupCommitFile probe(dir_.File("probe.log"), RingBytes(records));
  double triad_seconds = 0;
  double raw_seconds = 0;
  int64_t done = 0;
  for (; done < n && triad_seconds + raw_seconds < flags_.seconds; ++done) {
    Interleave(
        done + run,
        [&] {
          CheckOk(store->Append("account-0", ExpectedVersion::Exact(done - 1), {&events[done], 1}),
                  "append");
        },
        triad_seconds, [&] { probe.Append(records[done]); }, raw_seconds);
  }
  report_.Record(row, static_cast<double>(done) / triad_seconds,
                 static_cast<double>(done) / raw_seconds);
  report_.SetNote("append_seq", GroupNote(done, CountCommits(*store), done, probe.syncs()));
  store.reset();
  dir_.RemoveDb("append.db");
  dir_.RemoveDb("probe.log");
}

// --threads writers, each appending single events to its own stream with exact expected
// versions. Threads cannot alternate op by op, so a run times four segments in ABBA order
// (Triad, probe, probe, Triad; the reverse on odd runs), which cancels a steady drift.
void Runner::RunAppendContended(int run) {
  Row& row = report_.GetRow("append_contended", "appends/s", Better::kHigher, 0.7);
  const int threads = flags_.threads;
  const auto per_thread = static_cast<size_t>(std::max<int64_t>(2, flags_.num * 4 / threads));
  std::vector<std::vector<NewEvent>> events(static_cast<size_t>(threads));
  std::vector<std::vector<std::string>> records(static_cast<size_t>(threads));
  std::vector<std::string> all_records;
  for (size_t t = 0; t < events.size(); ++t) {
    const std::string stream = "account-" + std::to_string(t);
    for (const BenchEvent& e : factory_.MakeMany(t * per_thread, per_thread)) {
      events[t].push_back(ToNewEvent(e));
      records[t].push_back(ToLogRecord(stream, static_cast<int64_t>(records[t].size()), e));
      all_records.push_back(records[t].back());
    }
  }
  dir_.RemoveDb("append.db");
  auto store = OpenStore("append.db", Durability::kFull);
  GroupCommitFile probe(dir_.File("probe.log"), RingBytes(all_records));

  // Each side's next op per thread. Segment 0 of a side takes each thread up to half its ops,
  // segment 1 up to all of them; a segment also stops when its quarter of the budget is spent.
  std::vector<size_t> triad_next(events.size(), 0);
  std::vector<size_t> probe_next(events.size(), 0);
  auto segment = [&](bool triad, int k) {
    const double deadline = NowSeconds() + flags_.seconds / 4;
    const size_t end = k == 0 ? per_thread / 2 : per_thread;
    return TimeThreads(threads, [&](int thread) {
      const auto t = static_cast<size_t>(thread);
      const std::string stream = "account-" + std::to_string(t);
      size_t& i = triad ? triad_next[t] : probe_next[t];
      for (; i < end && NowSeconds() < deadline; ++i) {
        if (triad) {
          const auto expected = ExpectedVersion::Exact(static_cast<StreamVersion>(i) - 1);
          CheckOk(store->Append(stream, expected, {&events[t][i], 1}), "append");
        } else {
          probe.Append(records[t][i]);
        }
      }
    });
  };
  double triad_seconds = 0;
  double raw_seconds = 0;
  const bool triad_first = run % 2 == 0;
  for (const bool triad : {triad_first, !triad_first, !triad_first, triad_first}) {
    const int k = (triad ? triad_seconds : raw_seconds) > 0 ? 1 : 0;
    (triad ? triad_seconds : raw_seconds) += segment(triad, k);
  }
  size_t triad_ops = 0;
  size_t probe_ops = 0;
  for (size_t t = 0; t < events.size(); ++t) {
    triad_ops += triad_next[t];
    probe_ops += probe_next[t];
  }
  if (CheckOk(store->HeadPosition(), "head") != static_cast<Position>(triad_ops)) {
    Die("append_contended: the log does not hold every acknowledged append");
  }
  report_.Record(row, static_cast<double>(triad_ops) / triad_seconds,
                 static_cast<double>(probe_ops) / raw_seconds);
  report_.SetNote("append_contended",
                  GroupNote(static_cast<int64_t>(triad_ops), CountCommits(*store),
                            static_cast<int64_t>(probe_ops), probe.syncs()));
  store.reset();
  dir_.RemoveDb("append.db");
  dir_.RemoveDb("probe.log");
}

// One writer, --batch events per append into one stream; Triad and raw calls alternate.
void Runner::RunAppendBatch(int run) {
  Row& row = report_.GetRow("append_batch", "events/s", Better::kHigher, 1.0);
  const int64_t calls = std::max<int64_t>(1, flags_.num * 10 / flags_.batch);
  const auto batch = static_cast<size_t>(flags_.batch);
  const std::vector<BenchEvent> events = factory_.MakeMany(0, static_cast<size_t>(calls) * batch);
  std::vector<NewEvent> new_events;
  new_events.reserve(events.size());
  for (const BenchEvent& e : events) new_events.push_back(ToNewEvent(e));
  dir_.RemoveDb("batch.db");
  dir_.RemoveDb("raw_batch.db");
  auto store = OpenStore("batch.db", Durability::kFull);
  RawDb db(dir_.File("raw_batch.db"), /*create_schema=*/true);
  RawAppender appender(db, "import-1");
  double triad_seconds = 0;
  double raw_seconds = 0;
  int64_t c = 0;
  for (; c < calls && triad_seconds + raw_seconds < flags_.seconds; ++c) {
    const size_t first = static_cast<size_t>(c) * batch;
    Interleave(
        c + run,
        [&] {
          const std::span<const NewEvent> chunk(new_events.data() + first, batch);
          const auto expected = ExpectedVersion::Exact(static_cast<StreamVersion>(first) - 1);
          CheckOk(store->Append("import-1", expected, chunk), "append");
        },
        triad_seconds,
        [&] { appender.AppendBatch(std::span<const BenchEvent>(events.data() + first, batch)); },
        raw_seconds);
  }
  const auto total = static_cast<double>(c * flags_.batch);
  report_.Record(row, total / triad_seconds, total / raw_seconds);
  store.reset();
  dir_.RemoveDb("batch.db");
  dir_.RemoveDb("raw_batch.db");
}

void Runner::BuildReadFixture() {
  if (read_fixture_built_) return;
  read_fixture_built_ = true;
  small_streams_ = flags_.num;
  large_streams_ = std::max<int64_t>(1, flags_.num / 10);
  const double start = NowSeconds();
  // The raw side always reads an SQLite file. Fill it through Triad, so that the rows are
  // Triad's own, with relaxed durability because a fixture need not survive power loss.
  {
    Options options;
    options.durability = Durability::kRelaxed;
    auto filler = CheckOk(EventStore::Open(options, "sqlite:" + dir_.File("read.db")), "open");
    FillReadStore(*filler, small_streams_, large_streams_, flags_.seed);
  }
  read_raw_ = std::make_unique<RawDb>(dir_.File("read.db"), /*create_schema=*/false);
  // Both sides then read the main database file rather than a long WAL.
  read_raw_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  read_store_ = OpenStore("read.db", Durability::kFull);
  if (flags_.backend == "memory") {
    FillReadStore(*read_store_, small_streams_, large_streams_, flags_.seed);
  }
  std::printf("  (read fixture: %s events in %s streams, built in %.1f s)\n",
              WithCommas(static_cast<double>(small_streams_ * 10 + large_streams_ * 100)).c_str(),
              WithCommas(static_cast<double>(small_streams_ + large_streams_)).c_str(),
              NowSeconds() - start);
}

// Loads of whole streams picked at random, each timed alone; Triad and raw alternate load by
// load, reading the same stream.
void Runner::RunReadStream(int run) {
  BuildReadFixture();
  RawStreamReader raw_reader(*read_raw_);
  std::mt19937_64 rng(flags_.seed + static_cast<uint64_t>(run));
  ReadStreamOptions options;
  options.limit = 1000;
  for (const int64_t size : {int64_t{10}, int64_t{100}}) {
    const auto streams = static_cast<uint64_t>(size == 10 ? small_streams_ : large_streams_);
    const std::string prefix = size == 10 ? "account-" : "ledger-";
    std::string name;
    std::vector<double> triad_us;
    std::vector<double> raw_us;
    auto triad = [&] {
      const auto events = CheckOk(read_store_->ReadStream(name, options), "read stream");
      if (static_cast<int64_t>(events.size()) != size) Die("read stream: wrong event count");
    };
    auto raw = [&] {
      if (static_cast<int64_t>(raw_reader.Read(name, 1000)) != size) {
        Die("raw read stream: wrong event count");
      }
    };
    // The first tenth warms caches and statements on both sides and is not recorded. Each
    // stream size gets half the time budget.
    const int64_t warmup = flags_.num / 10;
    const double deadline = NowSeconds() + flags_.seconds / 2;
    for (int64_t i = 0; i < warmup + flags_.num && (i <= warmup || NowSeconds() < deadline); ++i) {
      name = prefix + std::to_string(rng() % streams);
      double t = 0;
      double r = 0;
      Interleave(i + run, triad, t, raw, r);
      if (i < warmup) continue;
      triad_us.push_back(t * 1e6);
      raw_us.push_back(r * 1e6);
    }
    const std::string row = "read_stream_" + std::to_string(size);
    report_.Record(report_.GetRow(row + " p50", "us", Better::kLower, 1.5),
                   Percentile(triad_us, 50), Percentile(raw_us, 50));
    report_.Record(report_.GetRow(row + " p99", "us", Better::kLower, std::nullopt),
                   Percentile(triad_us, 99), Percentile(raw_us, 99));
  }
}

// The whole log from position 0 in pages of --page; Triad and raw pages alternate. A short page
// ends a scan, on both sides. Triad reads twice: with ReadAll (each event copied into a
// RecordedEvent) and with ScanAll (views of SQLite's row buffers, as the raw side reads them).
// The goal applies to ScanAll, the API meant for scanning; ReadAll is reported beside it.
void Runner::RunReadAll(int run) {
  BuildReadFixture();
  RawLogScanner scanner(*read_raw_);
  for (const bool scan : {false, true}) {
    for (const std::string_view type : {std::string_view(), kFilterType}) {
      ReadAllOptions options;
      options.limit = static_cast<size_t>(flags_.page);
      if (!type.empty()) options.types.emplace_back(type);
      options.from_position = 0;
      int64_t raw_after = 0;
      int64_t triad_events = 0;
      int64_t raw_events = 0;
      int64_t bytes_seen = 0;  // touches every view, as the raw side touches every column
      bool triad_done = false;
      bool raw_done = false;
      auto triad = [&] {
        if (triad_done) return;
        int64_t got = 0;
        if (scan) {
          Position last = 0;
          got = CheckOk(read_store_->ScanAll(options,
                                             [&](const EventView& e) {
                                               bytes_seen += static_cast<int64_t>(
                                                   e.id.size() + e.stream.size() + e.type.size() +
                                                   e.data.size() + e.metadata.size());
                                               last = e.position;
                                               return true;
                                             }),
                        "scan all");
          if (got > 0) options.from_position = last + 1;
        } else {
          const auto page = CheckOk(read_store_->ReadAll(options), "read all");
          got = static_cast<int64_t>(page.size());
          if (!page.empty()) options.from_position = page.back().position + 1;
        }
        triad_events += got;
        triad_done = got < static_cast<int64_t>(options.limit);
      };
      auto raw = [&] {
        if (raw_done) return;
        const int64_t rows = scanner.ReadPage(type, raw_after, flags_.page, raw_after);
        raw_events += rows;
        raw_done = rows < flags_.page;
      };
      double triad_seconds = 0;
      double raw_seconds = 0;
      // The lambdas set the flags; a while loop keeps clang's -Wfor-loop-analysis quiet.
      int64_t i = 0;
      while (!triad_done || !raw_done)
        Interleave(i++ + run, triad, triad_seconds, raw, raw_seconds);
      if (triad_events != raw_events || triad_events == 0 || (scan && bytes_seen == 0)) {
        Die(std::string(scan ? "scan all" : "read all") + ": Triad read " +
            std::to_string(triad_events) + " events, raw " + std::to_string(raw_events));
      }
      const std::string row =
          std::string(scan ? "scan_all" : "read_all") + (type.empty() ? "" : "_type");
      report_.Record(report_.GetRow(row, "events/s", Better::kHigher,
                                    scan ? std::optional<double>(0.8) : std::nullopt),
                     static_cast<double>(triad_events) / triad_seconds,
                     static_cast<double>(raw_events) / raw_seconds);
    }
  }
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("model name")) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

int Runner::Main() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &utc);
  const BenchEvent sample = EventFactory(flags_.seed).Make(0);
  std::printf("triad_bench  backend=%s num=%lld runs=%d threads=%d batch=%lld page=%lld\n",
              flags_.backend.c_str(), static_cast<long long>(flags_.num), flags_.runs,
              flags_.threads, static_cast<long long>(flags_.batch),
              static_cast<long long>(flags_.page));
  std::printf("Date:    %s\nCPU:     %u x %s\nSQLite:  %s\nDir:     %s\n", date,
              std::thread::hardware_concurrency(), CpuModel().c_str(), sqlite3_libversion(),
              dir_.path().c_str());
  std::printf("Events:  data %zu bytes, metadata %zu bytes, type %zu bytes (typical)\n\n",
              sample.data.size(), sample.metadata.size(), sample.type.size());
  const double start = NowSeconds();
  for (int run = 0; run < flags_.runs; ++run) {
    std::printf("run %d/%d\n", run + 1, flags_.runs);
    for (const std::string& b : flags_.benchmarks) {
      if (b == "append_seq") RunAppendSeq(run);
      if (b == "append_contended") RunAppendContended(run);
      if (b == "append_batch") RunAppendBatch(run);
      if (b == "read_stream") RunReadStream(run);
      if (b == "read_all") RunReadAll(run);
    }
  }
  report_.Print(flags_.runs);
  std::printf("\ntotal time %.1f s\n", NowSeconds() - start);
  if (flags_.check_goals && report_.AnyGoalMissed()) {
    std::printf("goals missed (--check-goals)\n");
    return kExitGoalMissed;
  }
  return 0;
}

}  // namespace
}  // namespace triad::bench

int main(int argc, char** argv) {
  const triad::bench::ParsedFlags parsed = triad::bench::ParseFlags(argc, argv);
  if (parsed.exit_status) return *parsed.exit_status;
  return triad::bench::Runner(parsed.flags).Main();
}
