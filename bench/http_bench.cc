// triad_http_bench: the server over loopback, each figure beside a baseline from the same run
// (docs/performance.md, "HTTP server"):
//   get_document        wrk GET /collections/bench_docs/docs/{id}  vs  wrk GET /ping (a static
//                       JSON route of the same server: the transport's own cost)
//   append_http_64      wrk POST /streams/{s}, 64 connections, one durable event per request  vs
//                       the library: 64 threads calling EventStore::Append directly (group commit)
//   sse_fanout_p99      100 SSE clients on /subscribe, commit → client latency p99  vs  100
//                       in-process readers woken by EventStore::WaitForPosition
// Run: build/bench/triad_http_bench [--seconds=S] [--runs=N] ... (--help). Needs `wrk` on PATH.
#include "triad/event_store.h"
#include "triad/projection_engine.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "report.h"
#include "server/http_client.h"
#include "server/server.h"

#ifndef TRIAD_WRK_SCRIPTS
#define TRIAD_WRK_SCRIPTS "bench/wrk"
#endif

namespace triad::bench {
namespace {

struct HttpFlags {
  double seconds = 5;
  int runs = 3;
  int connections = 64;
  int wrk_threads = 2;
  int64_t docs = 10'000;
  int sse_clients = 100;
  int64_t sse_events = 1000;
  double sse_rate = 500;  // events/s
  std::string db_dir;
  bool check_goals = false;
};

int ParseFlags(int argc, char** argv, HttpFlags& f) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--help") {
      std::printf(
          "triad_http_bench [--seconds=S] [--runs=N] [--connections=N] [--wrk_threads=N]\n"
          "  [--docs=N] [--sse_clients=N] [--sse_events=N] [--sse_rate=EVENTS_PER_S]\n"
          "  [--db_dir=DIR] [--check-goals]\n");
      return 0;
    }
    if (name == "--check-goals" || name == "--check_goals") {
      f.check_goals = true;
    } else if (eq == std::string::npos) {
      std::fprintf(stderr, "triad_http_bench: %s needs =VALUE\n", name.c_str());
      return 2;
    } else if (name == "--seconds") {
      f.seconds = std::atof(value.c_str());
    } else if (name == "--runs") {
      f.runs = std::atoi(value.c_str());
    } else if (name == "--connections") {
      f.connections = std::atoi(value.c_str());
    } else if (name == "--wrk_threads") {
      f.wrk_threads = std::atoi(value.c_str());
    } else if (name == "--docs") {
      f.docs = std::atoll(value.c_str());
    } else if (name == "--sse_clients") {
      f.sse_clients = std::atoi(value.c_str());
    } else if (name == "--sse_events") {
      f.sse_events = std::atoll(value.c_str());
    } else if (name == "--sse_rate") {
      f.sse_rate = std::atof(value.c_str());
    } else if (name == "--db_dir") {
      f.db_dir = value;
    } else {
      std::fprintf(stderr, "triad_http_bench: unknown flag %s (see --help)\n", name.c_str());
      return 2;
    }
  }
  if (f.seconds <= 0 || f.runs < 1 || f.connections < 1 || f.wrk_threads < 1 || f.docs < 1 ||
      f.sse_clients < 1 || f.sse_events < 1 || f.sse_rate <= 0) {
    std::fprintf(stderr, "triad_http_bench: sizes must be positive\n");
    return 2;
  }
  f.wrk_threads = std::min(f.wrk_threads, f.connections);
  return -1;
}

// A ~200-byte event body, the same on both sides of the append row.
constexpr const char* kEventData =
    R"({"account":"acct-000042","amount_cents":12345,"currency":"EUR","reference":"invoice 2026-11-0042","note":"benchmark payload of about two hundred bytes, like a real event","tags":["bench","http"]})";

// The documents GET reads: one per stream doc-K, written by a C++ projection.
ProjectionDefinition BenchDocsProjection() {
  ProjectionDefinition def;
  def.name = "bench_docs";
  def.categories = {"doc"};
  def.key = DocumentKey::kStream;
  def.collections = {{"bench_docs", {}}};
  def.on_event = [](const EventView& e, ProjectionContext& ctx) -> Status {
    auto doc = ctx.Upsert("bench_docs", std::string(e.stream));
    if (!doc.ok()) return doc.status();
    (**doc)["events"] = (**doc).value("events", 0) + 1;
    (**doc)["last"] = nlohmann::json::parse(e.data);
    return Status::OK();
  };
  return def;
}

struct WrkResult {
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// Runs wrk with `script` and `args`, and reads its WRK_RESULT line. Dies on any error, including
// a single non-2xx answer: a benchmark of failing requests is no benchmark.
WrkResult RunWrk(const HttpFlags& flags, uint16_t port, const std::string& script,
                 const std::string& args) {
  const std::string command = "wrk -t" + std::to_string(flags.wrk_threads) + " -c" +
                              std::to_string(flags.connections) + " -d" +
                              std::to_string(std::max(1, static_cast<int>(flags.seconds))) +
                              "s --timeout 30s -s " + TRIAD_WRK_SCRIPTS + "/" + script +
                              " http://127.0.0.1:" + std::to_string(port) + " -- " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) Die("cannot run wrk: " + ErrnoText(errno));
  std::string output;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) output += line;
  const int status = ::pclose(pipe);
  const size_t at = output.find("WRK_RESULT ");
  if (status != 0 || at == std::string::npos) {
    Die("wrk failed (is the Debian package wrk installed?): " + command + "\n" + output);
  }
  long long requests = 0;
  long long errors = 0;
  double seconds = 0;
  WrkResult result;
  if (std::sscanf(output.c_str() + at,
                  "WRK_RESULT requests=%lld seconds=%lf p50_us=%lf p99_us=%lf errors=%lld",
                  &requests, &seconds, &result.p50_us, &result.p99_us, &errors) != 5) {
    Die("cannot read wrk's result: " + output);
  }
  if (errors > 0) Die("wrk saw " + std::to_string(errors) + " failed requests:\n" + output);
  result.requests_per_second = static_cast<double>(requests) / seconds;
  return result;
}

// The library side of the append row: `threads` threads appending one event each call, for
// `seconds`, to a fresh store. Returns events/s.
double LibraryAppendRate(const std::string& dir, int threads, double seconds) {
  auto store = CheckOk(EventStore::Open(Options{}, "sqlite:" + dir + "/library.db"), "open");
  std::atomic<bool> stop{false};
  std::atomic<int64_t> appended{0};
  std::latch ready(threads + 1);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      NewEvent event{.type = "BenchAppended", .data = kEventData};
      const std::string stream = "bench-" + std::to_string(t);
      ready.arrive_and_wait();
      while (!stop.load(std::memory_order_relaxed)) {
        CheckOk(store->Append(stream, ExpectedVersion::Any(), {&event, 1}), "append");
        appended.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  ready.arrive_and_wait();
  const double start = NowSeconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  return static_cast<double>(appended.load()) / (NowSeconds() - start);
}

// Commit times by position, recorded by a commit listener (the moment the group commit that
// wrote the position became durable and visible).
class CommitClock {
 public:
  explicit CommitClock(EventStore& store) : store_(store) {
    id_ = store_.AddCommitListener([this](Position head) {
      std::lock_guard lock(mu_);
      const double now = NowSeconds();
      for (Position p = last_ + 1; p <= head; ++p) at_[p] = now;
      last_ = head;
    });
  }
  ~CommitClock() { store_.RemoveCommitListener(id_); }
  CommitClock(const CommitClock&) = delete;
  CommitClock& operator=(const CommitClock&) = delete;
  void Start(Position head) {
    std::lock_guard lock(mu_);
    last_ = head;
  }
  double At(Position p) {
    std::lock_guard lock(mu_);
    auto it = at_.find(p);
    return it == at_.end() ? 0 : it->second;
  }

 private:
  EventStore& store_;
  uint64_t id_ = 0;
  std::mutex mu_;
  Position last_ = 0;
  std::map<Position, double> at_;
};

// Appends `events` events at `rate`/s to stream fan-1 while `receivers` (already waiting) record
// when each position reaches them; returns the p99 of receive - commit in microseconds.
double FanOutP99(EventStore& store, const HttpFlags& flags,
                 const std::function<void(std::vector<std::vector<std::pair<Position, double>>>&,
                                          Position first, Position last)>& receive) {
  CommitClock clock(store);
  const Position head = CheckOk(store.HeadPosition(), "head");
  clock.Start(head);
  const Position first = head + 1;
  const Position last = head + flags.sse_events;
  std::vector<std::vector<std::pair<Position, double>>> received(
      static_cast<size_t>(flags.sse_clients));
  std::thread receivers([&] { receive(received, first, last); });
  // Let every receiver connect before the first event.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  NewEvent event{.type = "FanOut", .data = kEventData};
  const double start = NowSeconds();
  for (int64_t i = 0; i < flags.sse_events; ++i) {
    const double due = start + static_cast<double>(i) / flags.sse_rate;
    const double wait = due - NowSeconds();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    CheckOk(store.Append("fan-1", ExpectedVersion::Any(), {&event, 1}), "fan-out append");
  }
  receivers.join();
  std::vector<double> latencies;
  for (const auto& client : received) {
    if (static_cast<int64_t>(client.size()) != flags.sse_events) {
      Die("a fan-out receiver got " + std::to_string(client.size()) + " of " +
          std::to_string(flags.sse_events) + " events");
    }
    for (const auto& [position, at] : client) {
      latencies.push_back(std::max(0.0, at - clock.At(position)) * 1e6);
    }
  }
  return Percentile(latencies, 99);
}

class HttpBench {
 public:
  explicit HttpBench(HttpFlags flags) : flags_(std::move(flags)), report_(true) {
    report_.SetLegend(R"(
Baselines (same run):
  get_document      wrk GET /ping on the same server: a constant JSON answer, no storage
  append_http_64    the library itself: 64 threads calling EventStore::Append (one event each,
                    durable, group commit) on a fresh store in the same directory
  sse_fanout_p99    100 in-process threads waiting with EventStore::WaitForPosition and reading
                    each new event with ReadAll: the library's own wake-up latency
)");
  }

  int Run() {
    for (int run = 0; run < flags_.runs; ++run) RunOnce(run);
    report_.Print(flags_.runs);
    return flags_.check_goals && report_.AnyGoalMissed() ? 3 : 0;
  }

 private:
  void RunOnce(int run) {
    ScratchDir dir(
        flags_.db_dir.empty() ? std::filesystem::temp_directory_path().string() : flags_.db_dir,
        false);
    server::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data = "sqlite:" + dir.path() + "/server.db";
    config.log_level = "warn";
    config.limits.max_sse_clients = static_cast<size_t>(flags_.sse_clients) + 10;
    server::ServerHooks hooks;
    hooks.register_projections = [](ProjectionEngine& engine) {
      return engine.Register(BenchDocsProjection());
    };
    auto server = CheckOk(server::Server::Start(config, hooks), "starting the server");
    const uint16_t port = server->port();
    EventStore& store = *server->store();
    LoadDocuments(store, server->url());

    const WrkResult ping = RunWrk(flags_, port, "get.lua", "/ping");
    const WrkResult get =
        RunWrk(flags_, port, "get.lua",
               "/collections/bench_docs/docs/doc- " + std::to_string(flags_.docs));
    report_.Record(report_.GetRow("get_document", "req/s", Better::kHigher, {}),
                   get.requests_per_second, ping.requests_per_second);
    report_.Record(report_.GetRow("get_document_p99", "us", Better::kLower, {}), get.p99_us,
                   ping.p99_us);

    const WrkResult append =
        RunWrk(flags_, port, "append.lua", std::string("'") + kEventData + "'");
    const double library = LibraryAppendRate(dir.path(), 64, flags_.seconds);
    report_.Record(report_.GetRow("append_http_64", "events/s", Better::kHigher, 0.5),
                   append.requests_per_second, library);

    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    const double sse = FanOutP99(store, flags_, [&](auto& received, Position first, Position last) {
      SseReceivers(url, received, first, last);
    });
    const double raw = FanOutP99(store, flags_, [&](auto& received, Position first, Position last) {
      LibraryReceivers(store, received, first, last);
    });
    Row& fan = report_.GetRow("sse_fanout_p99", "us", Better::kLower, {});
    fan.value_goal = 100'000;  // 100 ms, an absolute goal on a shared 2-core machine
    report_.Record(fan, sse, raw);
    server->RequestStop();
    CheckOk(server->Wait(), "stopping the server");
    std::printf("run %d done\n", run + 1);
  }

  // Writes one event per document, in batches of appends running at once (group commit), and
  // waits until the projection has applied them all (a min_position read over HTTP).
  void LoadDocuments(EventStore& store, const std::string& url) {
    std::atomic<int64_t> next{0};
    std::atomic<Position> last{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 16; ++t) {
      writers.emplace_back([&] {
        NewEvent event{.type = "DocWritten", .data = kEventData};
        for (int64_t k = next++; k < flags_.docs; k = next++) {
          const Position p =
              CheckOk(store.Append("doc-" + std::to_string(k), ExpectedVersion::Any(), {&event, 1}),
                      "loading documents")
                  .last_position;
          Position seen = last.load();
          while (p > seen && !last.compare_exchange_weak(seen, p)) {
          }
        }
      });
    }
    for (auto& w : writers) w.join();
    auto client = CheckOk(server::HttpClient::FromUrl(url), "connecting");
    const std::string target = "/collections/bench_docs/docs/doc-0?wait_ms=60000&min_position=" +
                               std::to_string(last.load());
    for (;;) {
      const auto response = CheckOk(client->Send("GET", target), "waiting for the documents");
      if (response.status == 200) return;
      if (response.status != 408) Die("waiting for the documents: " + response.body);
    }
  }

  void SseReceivers(const std::string& url,
                    std::vector<std::vector<std::pair<Position, double>>>& received, Position first,
                    Position last) {
    const auto parsed = CheckOk(server::ParseUrl(url), "url");
    std::vector<std::thread> clients;
    for (size_t c = 0; c < received.size(); ++c) {
      clients.emplace_back([&, c] {
        auto stream = CheckOk(
            server::SseStream::Open(parsed, "/subscribe?category=fan", std::to_string(first - 1)),
            "subscribing");
        while (received[c].empty() || received[c].back().first < last) {
          auto event = CheckOk(stream->Next(30'000), "reading the event stream");
          if (event.heartbeat || event.event != "event") continue;
          received[c].emplace_back(std::stoll(event.id), NowSeconds());
        }
      });
    }
    for (auto& c : clients) c.join();
  }

  static void LibraryReceivers(EventStore& store,
                               std::vector<std::vector<std::pair<Position, double>>>& received,
                               Position first, Position last) {
    std::vector<std::thread> readers;
    for (size_t c = 0; c < received.size(); ++c) {
      readers.emplace_back([&, c] {
        Position next = first;
        while (next <= last) {
          CheckOk(store.WaitForPosition(next, 30'000'000), "waiting");
          ReadAllOptions options;
          options.from_position = next;
          options.categories = {"fan"};
          for (const RecordedEvent& e : CheckOk(store.ReadAll(options), "reading")) {
            received[c].emplace_back(e.position, NowSeconds());
            next = e.position + 1;
          }
        }
      });
    }
    for (auto& r : readers) r.join();
  }

  HttpFlags flags_;
  Report report_;
};

}  // namespace
}  // namespace triad::bench

int main(int argc, char** argv) {
  triad::bench::HttpFlags flags;
  const int exit_status = triad::bench::ParseFlags(argc, argv, flags);
  if (exit_status >= 0) return exit_status;
  return triad::bench::HttpBench(flags).Run();
}
