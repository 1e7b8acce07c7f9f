#include "cli/progress.h"

#include <algorithm>
#include <cmath>
#include <ostream>

namespace triad::cli {
namespace {

std::string Duration(double seconds) {
  const auto total = static_cast<int64_t>(std::ceil(seconds));
  if (total < 60) return std::to_string(total) + "s";
  if (total < 3600) return std::to_string(total / 60) + "m" + std::to_string(total % 60) + "s";
  return std::to_string(total / 3600) + "h" + std::to_string(total % 3600 / 60) + "m";
}

}  // namespace

std::string RenderProgress(Position done, Position total, double events_per_second, int bar_width) {
  total = std::max<Position>(total, 0);
  done = std::clamp<Position>(done, 0, total);
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(fraction * bar_width);
  std::string line = "[" + std::string(static_cast<size_t>(filled), '#') +
                     std::string(static_cast<size_t>(bar_width - filled), '.') + "] ";
  const auto percent = static_cast<int>(fraction * 100);
  line += std::string(percent < 10    ? 2
                      : percent < 100 ? 1
                                      : 0,
                      ' ') +
          std::to_string(percent) + "%  " + std::to_string(done) + "/" + std::to_string(total);
  if (events_per_second > 0) {
    line += "  " + std::to_string(std::llround(events_per_second)) + " events/s  ETA " +
            Duration(static_cast<double>(total - done) / events_per_second);
  } else {
    line += "  ETA ?";
  }
  return line;
}

ProgressBar::ProgressBar(std::ostream& out, bool enabled) : out_(out), enabled_(enabled) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(Position done, Position total, double events_per_second) {
  if (!enabled_) return;
  const std::string line = RenderProgress(done, total, events_per_second);
  // Pad over a longer previous line instead of clearing it (no terminal escape sequences).
  out_ << '\r' << line
       << std::string(last_width_ > line.size() ? last_width_ - line.size() : 0, ' ');
  out_.flush();
  last_width_ = line.size();
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!drawn_) return;
  out_ << '\n';
  out_.flush();
  drawn_ = false;
}

}  // namespace triad::cli
