#include "bench_flags.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace triad::bench {
namespace {

constexpr const char* kHelp = R"(Usage: triad_bench [flags]

Measures Triad through its public API, each figure beside a raw baseline measured in the same
run, and prints a table of medians over --runs runs. See docs/performance.md.

Benchmarks (--benchmarks, comma-separated; default: all of them):
  append_seq        durable single-event appends, 1 writer
                      vs a pwrite+fdatasync group-commit probe, 1 writer
  append_contended  durable single-event appends, --threads writers (one stream each)
                      vs the same probe with as many writers
  append_batch      durable appends of --batch events per call, 1 writer
                      vs raw sqlite3 inserts of the same rows in --batch-row transactions
  read_stream       whole-stream loads of random 10- and 100-event streams, p50/p99 latency
                      vs the same query through a raw sqlite3 prepared statement
  read_all          the global log from position 0 in pages of --page, with and without a
                    type filter, through ReadAll (copies; rows read_all*) and ScanAll
                    (views; rows scan_all*, which carry the goal)
                      vs a raw keyset scan (WHERE position > ? ORDER BY position LIMIT page)

Sizes scale with --num=N: append_seq N appends; append_contended 4N appends; append_batch 10N
events; read_stream and read_all share a store of N 10-event and N/10 100-event streams (20N
events); read_stream loads N streams of each size.

Flags:
  --benchmarks=LIST    which benchmarks to run (default: all)
  --backend=NAME       sqlite (default) or memory. memory is meant for the append paths; its
                       baselines stay the durable ones and its goals are not evaluated
  --num=N              size scale (default: 10000)
  --runs=N             runs of each benchmark; the table shows medians (default: 3)
  --threads=N          writers of append_contended (default: 64)
  --batch=N            events per append of append_batch (default: 1000)
  --page=N             page size of read_all (default: 1000)
  --seconds=S          time budget of one run of an append or read_stream benchmark, both sides
                       together; a run that spends it stops early and reports the rate of what
                       it did, so that slow fsyncs on a busy disk cannot stretch a run (default: 10)
  --db_dir=PATH        where scratch stores go (default: the system temp directory)
  --seed=N             workload seed (default: 301)
  --keep_db            keep the scratch directory
  --check-goals        exit 3 when a goal is missed (default: report only)
  --help               this text

Exit status: 0 done, 1 error, 2 bad flags, 3 a goal missed under --check-goals.
)";

// Prints `what` and returns the usage exit status.
int Usage(const std::string& what) {
  std::fprintf(stderr, "triad_bench: %s (see --help)\n", what.c_str());
  return kExitUsage;
}

// The integer `text`, or nullopt when it is not one or is below `min`.
std::optional<int64_t> ParseInt(std::string_view text, int64_t min) {
  char* end = nullptr;
  const std::string s(text);
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min) return std::nullopt;
  return v;
}

std::vector<std::string> SplitCommas(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    if (comma != 0) out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

ParsedFlags ParseFlags(int argc, char** argv) {
  ParsedFlags parsed;
  Flags& flags = parsed.flags;
  auto fail = [&](const std::string& what) {
    parsed.exit_status = Usage(what);
    return parsed;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    if (name == "--help" || name == "-h") {
      std::fputs(kHelp, stdout);
      parsed.exit_status = 0;
      return parsed;
    } else if (name == "--benchmarks") {
      flags.benchmarks = SplitCommas(value);
      if (flags.benchmarks.empty()) return fail("--benchmarks is empty");
      for (const std::string& b : flags.benchmarks) {
        if (std::find(std::begin(kAllBenchmarks), std::end(kAllBenchmarks), b) ==
            std::end(kAllBenchmarks)) {
          return fail("unknown benchmark '" + b + "'");
        }
      }
    } else if (name == "--backend") {
      if (value != "sqlite" && value != "memory") {
        return fail("--backend must be sqlite or memory (the PostgreSQL backend is not built)");
      }
      flags.backend = std::string(value);
    } else if (name == "--db_dir") {
      flags.db_dir = std::string(value);
    } else if (name == "--keep_db") {
      flags.keep_db = true;
    } else if (name == "--check-goals" || name == "--check_goals") {
      flags.check_goals = true;
    } else if (name == "--num" || name == "--runs" || name == "--threads" || name == "--batch" ||
               name == "--page" || name == "--seconds" || name == "--seed") {
      const int64_t min = name == "--num" ? 10 : name == "--seed" ? 0 : 1;
      const std::optional<int64_t> v = ParseInt(value, min);
      if (!v) return fail(std::string(name) + " must be an integer >= " + std::to_string(min));
      if (name == "--num") flags.num = *v;
      if (name == "--runs") flags.runs = static_cast<int>(*v);
      if (name == "--threads") flags.threads = static_cast<int>(*v);
      if (name == "--batch") flags.batch = *v;
      if (name == "--page") flags.page = *v;
      if (name == "--seconds") flags.seconds = static_cast<double>(*v);
      if (name == "--seed") flags.seed = static_cast<uint64_t>(*v);
    } else {
      return fail("unknown flag '" + std::string(arg) + "'");
    }
  }
  return parsed;
}

}  // namespace triad::bench
