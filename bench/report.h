// Report: the rows of triad_bench's table. Each row pairs a Triad figure with its raw baseline,
// one sample per run, and may carry a goal on their ratio (triad / raw).
//
// The ratio of a row is the median of the per-run ratios rather than the ratio of the medians:
// both sides of a run saw the same moment of a noisy machine, so their ratio is the steadier
// figure.
//
// Thread-safety: used by the main thread only.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::bench {

// Whether a larger figure is better (rates) or a smaller one (latencies).
enum class Better { kHigher, kLower };

struct Row {
  std::string name;
  std::string unit;  // "us" rows are latencies
  Better better = Better::kHigher;
  std::optional<double> goal;  // on the ratio: >= goal for kHigher, <= goal for kLower
  // On the median Triad figure itself, for goals stated in absolute terms (a p99 latency).
  std::optional<double> value_goal;
  std::vector<double> triad;  // one sample per run
  std::vector<double> raw;
  std::vector<double> ratio;

  // The median of the per-run ratios. REQUIRES: at least one sample.
  double MedianRatio() const;
  // True iff the row has no goal or its median ratio meets it.
  bool GoalMet() const;
};

class Report {
 public:
  // With `evaluate_goals` false (a backend the goals were not set for), goals are shown as n/a.
  explicit Report(bool evaluate_goals) : evaluate_goals_(evaluate_goals) {}

  // The row named `name`, created on first use. The reference stays valid for the Report's life.
  Row& GetRow(const std::string& name, std::string_view unit, Better better,
              std::optional<double> goal);
  // Adds one run's pair of figures to `row` and prints it as a progress line.
  void Record(Row& row, double triad, double raw);
  // A line printed under the table, e.g. group sizes.
  void SetNote(const std::string& name, std::string note) { notes_[name] = std::move(note); }
  // Replaces the text under the table that describes the raw baselines (default: triad_bench's).
  void SetLegend(std::string legend) { legend_ = std::move(legend); }

  // Prints the table of medians.
  void Print(int runs) const;
  // True iff goals are evaluated and some row misses its goal.
  bool AnyGoalMissed() const;

 private:
  const bool evaluate_goals_;
  std::deque<Row> rows_;  // a deque keeps references stable as rows are added
  std::map<std::string, std::string> notes_;
  std::optional<std::string> legend_;
};

}  // namespace triad::bench
