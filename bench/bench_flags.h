// The command line of triad_bench (db_bench style: --name=value).
//
// Thread-safety: a plain value, parsed once in main().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triad::bench {

// Every benchmark, in the order they run.
inline constexpr std::string_view kAllBenchmarks[] = {"append_seq", "append_contended",
                                                      "append_batch", "read_stream", "read_all"};

struct Flags {
  std::vector<std::string> benchmarks{std::begin(kAllBenchmarks), std::end(kAllBenchmarks)};
  std::string backend = "sqlite";
  int64_t num = 10000;
  int runs = 3;
  int threads = 64;
  int64_t batch = 1000;
  int64_t page = 1000;
  double seconds = 10;
  std::string db_dir;
  uint64_t seed = 301;
  bool check_goals = false;
  bool keep_db = false;
};

// Exit statuses of triad_bench.
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitGoalMissed = 3;

// The outcome of parsing the command line: flags to run with, or a status to exit with at once
// (0 after printing --help, kExitUsage after printing what was wrong).
struct ParsedFlags {
  Flags flags;
  std::optional<int> exit_status;
};

ParsedFlags ParseFlags(int argc, char** argv);

}  // namespace triad::bench
