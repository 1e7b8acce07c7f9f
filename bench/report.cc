#include "report.h"

#include <algorithm>
#include <cstdio>

#include "bench_util.h"

namespace triad::bench {
namespace {

std::string Format(double value, std::string_view unit) {
  if (unit != "us") return WithCommas(value);
  char buf[32];
  std::snprintf(buf, sizeof buf, value < 100 ? "%.1f" : "%.0f", value);
  return buf;
}

constexpr const char* kLegend = R"(
Raw baselines (measured in the same run, interleaved with the Triad side):
  append_seq, append_contended  pwrite + fdatasync group commit of the same event bytes on a
                                plain file (a leader writes all queued records, syncs once)
  append_batch                  sqlite3 prepared one-row INSERTs of the same rows into Triad's
                                schema, one BEGIN IMMEDIATE..COMMIT per batch, WAL, synchronous=FULL
  read_stream_*                 Triad's stream query through a raw sqlite3 prepared statement
  read_all*                     WHERE position > ? [AND type = ?] ORDER BY position LIMIT page
)";

}  // namespace

double Row::MedianRatio() const { return Median(ratio); }

bool Row::GoalMet() const {
  if (value_goal) {
    const double v = Median(triad);
    if (better == Better::kHigher ? v < *value_goal : v > *value_goal) return false;
  }
  if (!goal) return true;
  const double r = MedianRatio();
  return better == Better::kHigher ? r >= *goal : r <= *goal;
}

Row& Report::GetRow(const std::string& name, std::string_view unit, Better better,
                    std::optional<double> goal) {
  for (Row& row : rows_) {
    if (row.name == name) return row;
  }
  rows_.push_back(Row{.name = name, .unit = std::string(unit), .better = better, .goal = goal});
  return rows_.back();
}

void Report::Record(Row& row, double triad, double raw) {
  row.triad.push_back(triad);
  row.raw.push_back(raw);
  row.ratio.push_back(raw > 0 ? triad / raw : 0);
  std::printf("  %-28s triad %12s  raw %12s %-9s %6.2fx\n", row.name.c_str(),
              Format(triad, row.unit).c_str(), Format(raw, row.unit).c_str(), row.unit.c_str(),
              row.ratio.back());
  std::fflush(stdout);
}

void Report::Print(int runs) const {
  std::printf("\nMedians of %d run(s); ratio = triad / raw, the median of the per-run ratios\n\n",
              runs);
  std::printf("%-28s %-10s %12s %12s %7s %11s %8s  %s\n", "benchmark", "unit", "triad", "raw",
              "ratio", "range", "goal", "result");
  std::printf("%s\n", std::string(106, '-').c_str());
  for (const Row& row : rows_) {
    if (row.ratio.empty()) continue;  // not measured in this run (e.g. left out by a filter)
    const auto [lo, hi] = std::minmax_element(row.ratio.begin(), row.ratio.end());
    char range[32];
    std::snprintf(range, sizeof range, "%.2f-%.2f", *lo, *hi);
    std::string goal = "-";
    std::string result;
    if (row.goal || row.value_goal) {
      char text[32];
      if (row.goal) {
        std::snprintf(text, sizeof text, "%s%.2fx",
                      row.better == Better::kHigher ? ">=" : "<=", *row.goal);
      } else {
        std::snprintf(text, sizeof text, "%s%s%s", row.better == Better::kHigher ? ">=" : "<=",
                      Format(*row.value_goal, row.unit).c_str(), row.unit.c_str());
      }
      goal = text;
      result = !evaluate_goals_ ? "n/a" : row.GoalMet() ? "met" : "MISSED";
    }
    std::printf("%-28s %-10s %12s %12s %6.2fx %11s %8s  %s\n", row.name.c_str(), row.unit.c_str(),
                Format(Median(row.triad), row.unit).c_str(),
                Format(Median(row.raw), row.unit).c_str(), row.MedianRatio(), range, goal.c_str(),
                result.c_str());
  }
  std::printf("%s", legend_ ? legend_->c_str() : kLegend);
  if (!notes_.empty()) std::printf("\nLast run:\n");
  for (const auto& [name, note] : notes_) std::printf("  %-28s  %s\n", name.c_str(), note.c_str());
}

bool Report::AnyGoalMissed() const {
  if (!evaluate_goals_) return false;
  return std::any_of(rows_.begin(), rows_.end(),
                     [](const Row& row) { return !row.ratio.empty() && !row.GoalMet(); });
}

}  // namespace triad::bench
