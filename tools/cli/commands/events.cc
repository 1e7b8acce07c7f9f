// `triad events`: the global log in position order, filtered, optionally followed live.
#include "cli/commands/command.h"
#include "cli/event_printer.h"
#include "cli/option_checks.h"

#include "triad/clock.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace triad::cli {
namespace {

// Events fetched per call; bounds memory while reading a long log.
constexpr int64_t kPageSize = 1000;
// How long one wait for new events may block before the stop flag is looked at again: the
// worst-case delay between SIGINT and a clean exit.
constexpr int64_t kStopCheckMicros = 100'000;
// How often a follower looks for commits made by other processes (Options::
// external_poll_interval_us): the worst-case latency of `--follow` for appends by other
// processes. Cheap (one indexed max() query).
constexpr int64_t kFollowPollMicros = 100'000;

class EventsCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("events", "Read the global log, optionally live");
    app->add_option("--from", from_position_,
                    "First position to print (default: 1, the start; 0 also means the start)")
        ->check(NonNegativeInteger())
        ->option_text("P");
    app->add_option("--type", types_, "Keep only events of this type (repeatable: any of them)")
        ->allow_extra_args(false)
        ->option_text("T");
    app->add_option("--category", categories_,
                    "Keep only events of streams in this category, the stream name's text "
                    "before its first '-' (repeatable: any of them)")
        ->allow_extra_args(false)
        ->option_text("C");
    app->add_option("--limit", limit_, "Print at most N events, then exit (default: all)")
        ->check(PositiveInteger())
        ->option_text("N");
    CLI::Option* follow =
        app->add_flag("--follow,-f", follow_, "After the existing events, wait for new ones");
    app->add_option("--follow-timeout", follow_timeout_seconds_,
                    "With --follow: stop following (exit 0) after SECONDS (fractions allowed); "
                    "default: follow until interrupted")
        ->check(NonNegativeSeconds())
        ->option_text("SECONDS")
        ->needs(follow);
    app->footer(VerbFooter(
        "Print the events of all streams in position (commit) order from --from, keeping those "
        "whose type is one of --type and whose stream's category is one of --category. With "
        "--follow, keep printing new events as they are committed (by this or any other "
        "process) until interrupted (SIGINT/SIGTERM: exit 0), --limit events were printed, or "
        "--follow-timeout passes."));
    return app;
  }

  Status Execute(Context& ctx) override {
    Clock& clock = *RealClock();
    // Capped at about 30 years so that the microsecond count cannot overflow.
    const int64_t deadline =
        follow_timeout_seconds_
            ? clock.NowMicros() +
                  static_cast<int64_t>(std::llround(std::min(*follow_timeout_seconds_, 1e9) * 1e6))
            : std::numeric_limits<int64_t>::max();
    Options options;
    options.create_if_missing = false;
    options.external_poll_interval_us = kFollowPollMicros;
    auto opened = OpenStore(ctx, options);
    if (!opened.ok()) return opened.status();
    EventStore& store = **opened;

    EventPrinter printer(ctx, EventPrinter::Layout::kLog);
    ReadAllOptions read;
    read.from_position = std::max<Position>(1, from_position_);
    read.types = types_;
    read.categories = categories_;
    while (!limit_ || printer.count() < *limit_) {
      // Interrupting a follower is how it normally ends; interrupting a plain read cuts its
      // output short, which a script must be able to tell.
      if (ctx.stop_requested()) {
        if (!follow_) return CancelledError("interrupted");
        break;
      }
      const int64_t want = limit_ ? std::min(kPageSize, *limit_ - printer.count()) : kPageSize;
      read.limit = static_cast<size_t>(want);
      // The head before the read: once a read comes back short, every matching event up to it
      // has been printed (positions are dense and commit-ordered), so the next wait is for a
      // position beyond it. Waiting for read.from_position instead would spin while filtered-out
      // events sit between the two.
      auto head = store.HeadPosition();
      if (!head.ok()) return head.status();
      auto events = store.ReadAll(read);
      if (!events.ok()) return events.status();
      printer.Print(*events);
      if (!events->empty()) read.from_position = events->back().position + 1;
      if (static_cast<int64_t>(events->size()) == want) continue;
      if (!follow_) break;
      auto arrived =
          WaitForCommit(ctx, store, clock, std::max(*head, read.from_position - 1) + 1, deadline);
      if (!arrived.ok()) return arrived.status();
      if (!*arrived) break;
    }
    printer.Finish();
    return Status::OK();
  }

 private:
  // Waits until the log reaches `position`. Returns false when the deadline passes or a stop is
  // requested first.
  static Result<bool> WaitForCommit(const Context& ctx, EventStore& store, Clock& clock,
                                    Position position, int64_t deadline) {
    while (!ctx.stop_requested()) {
      const int64_t now = clock.NowMicros();
      if (now >= deadline) return false;
      auto head = store.WaitForPosition(position, std::min(kStopCheckMicros, deadline - now));
      if (head.ok()) return true;
      if (head.status().code() != StatusCode::kDeadlineExceeded) return head.status();
    }
    return false;
  }

  Position from_position_ = 1;
  std::vector<std::string> types_;
  std::vector<std::string> categories_;
  std::optional<int64_t> limit_;
  bool follow_ = false;
  std::optional<double> follow_timeout_seconds_;
};

}  // namespace

std::unique_ptr<Command> NewEventsCommand() { return std::make_unique<EventsCommand>(); }

}  // namespace triad::cli
