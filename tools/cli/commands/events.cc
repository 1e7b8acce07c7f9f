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
#include <span>
#include <string>
#include <vector>

namespace triad::cli {
namespace {

// Events fetched per call; bounds memory while reading a long log.
constexpr int64_t kPageSize = 1000;

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
        "--follow-timeout passes. Over --url, following uses the server's GET /subscribe "
        "(Server-Sent Events)."));
    return app;
  }

  Status Execute(Context& ctx) override {
    auto client = ctx.client();
    if (!client.ok()) return client.status();
    EventPrinter printer(ctx, EventPrinter::Layout::kLog);
    ReadAllOptions read;
    read.from_position = std::max<Position>(1, from_position_);
    read.types = types_;
    read.categories = categories_;
    Status status =
        follow_ ? Follow(ctx, **client, read, printer) : ReadExisting(ctx, **client, read, printer);
    if (!status.ok()) return status;
    printer.Finish();
    return Status::OK();
  }

 private:
  // Prints the matching events up to the end of the log, page by page.
  Status ReadExisting(const Context& ctx, Client& client, ReadAllOptions read,
                      EventPrinter& printer) const {
    while (!limit_ || printer.count() < *limit_) {
      // Interrupting a plain read cuts its output short, which a script must be able to tell.
      if (ctx.stop_requested()) return CancelledError("interrupted");
      const int64_t want = limit_ ? std::min(kPageSize, *limit_ - printer.count()) : kPageSize;
      read.limit = static_cast<size_t>(want);
      auto page = client.ReadLog(read);
      if (!page.ok()) return page.status();
      printer.Print(page->events);
      if (static_cast<int64_t>(page->events.size()) < want) break;
      read.from_position = page->events.back().position + 1;
    }
    return Status::OK();
  }

  // Prints the matching events, then new ones as they are committed, until interrupted (how a
  // follower normally ends: exit 0), --limit or --follow-timeout.
  Status Follow(const Context& ctx, Client& client, const ReadAllOptions& read,
                EventPrinter& printer) const {
    Clock& clock = *RealClock();
    FollowControl control;
    // Capped at about 30 years so that the microsecond count cannot overflow.
    if (follow_timeout_seconds_) {
      control.deadline_us =
          clock.NowMicros() +
          static_cast<int64_t>(std::llround(std::min(*follow_timeout_seconds_, 1e9) * 1e6));
    }
    control.stop_requested = [&ctx] { return ctx.stop_requested(); };
    if (limit_ && *limit_ <= 0) return Status::OK();
    return client.Follow(read, control, [&](std::span<const RecordedEvent> events) {
      if (limit_ && static_cast<int64_t>(events.size()) > *limit_ - printer.count()) {
        events = events.first(static_cast<size_t>(*limit_ - printer.count()));
      }
      printer.Print(events);
      return !limit_ || printer.count() < *limit_;
    });
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
