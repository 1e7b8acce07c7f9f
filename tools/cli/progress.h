// A progress bar for long waits (`projection reset NAME --wait`): how far a projection's
// checkpoint is towards a target position, its rate and the time left. Drawn in place on a
// terminal (carriage return, no scrolling); nothing is drawn when the output is not one, so logs
// and pipes get only the verb's final line.
//
// Thread-safety: one thread at a time.
#pragma once

#include "triad/event.h"

#include <cstdint>
#include <iosfwd>
#include <string>

namespace triad::cli {

// One line of progress, e.g.
//   "[##########..........]  50%  500/1000  250 events/s  ETA 2s"
// `done` and `total` are positions (done is clamped to [0, total]); a rate <= 0 prints no rate
// and "ETA ?". `bar_width` is the number of cells between the brackets.
std::string RenderProgress(Position done, Position total, double events_per_second,
                           int bar_width = 30);

class ProgressBar {
 public:
  // Draws on `out` iff `enabled` (the output is a terminal). `out` must outlive the bar.
  ProgressBar(std::ostream& out, bool enabled);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar();

  // Redraws the line (when enabled).
  void Update(Position done, Position total, double events_per_second);

  // Ends the line so that later output starts on a fresh one. Idempotent.
  void Finish();

 private:
  std::ostream& out_;
  bool enabled_;
  bool drawn_ = false;
  size_t last_width_ = 0;
};

}  // namespace triad::cli
