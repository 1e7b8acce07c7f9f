// RenderProgress and ProgressBar: the `projection reset --wait` progress line.
#include "cli/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace triad::cli {
namespace {

TEST(ProgressTest, RendersPercentPositionsRateAndEta) {
  EXPECT_EQ(RenderProgress(500, 1000, 250.0, 10),
            "[#####.....]  50%  500/1000  250 events/s  ETA 2s");
  EXPECT_EQ(RenderProgress(0, 1000, 0, 4), "[....]   0%  0/1000  ETA ?");
  EXPECT_EQ(RenderProgress(1000, 1000, 10, 4), "[####] 100%  1000/1000  10 events/s  ETA 0s");
  // Beyond the target (the head moved on) is shown as done; nothing to do is 100%.
  EXPECT_EQ(RenderProgress(1200, 1000, 0, 4), "[####] 100%  1000/1000  ETA ?");
  EXPECT_EQ(RenderProgress(0, 0, 0, 4), "[####] 100%  0/0  ETA ?");
  EXPECT_EQ(RenderProgress(0, 720000, 100, 2), "[..]   0%  0/720000  100 events/s  ETA 2h0m");
  EXPECT_EQ(RenderProgress(0, 90, 1, 2), "[..]   0%  0/90  1 events/s  ETA 1m30s");
}

TEST(ProgressTest, DrawsInPlaceOnATerminalAndNothingElsewhere) {
  std::ostringstream terminal;
  {
    ProgressBar bar(terminal, /*enabled=*/true);
    bar.Update(1, 10, 0);
    bar.Update(10, 10, 5);
  }
  EXPECT_EQ(terminal.str(),
            "\r" + RenderProgress(1, 10, 0) + "\r" + RenderProgress(10, 10, 5) + "\n");
  std::ostringstream pipe;
  {
    ProgressBar bar(pipe, /*enabled=*/false);
    bar.Update(1, 10, 0);
    bar.Finish();
  }
  EXPECT_EQ(pipe.str(), "");
}

}  // namespace
}  // namespace triad::cli
