// `triad read STREAM`: one stream's events, forward or backward, paged through.
#include "cli/commands/command.h"
#include "cli/event_printer.h"
#include "cli/option_checks.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

namespace triad::cli {
namespace {

// Events fetched per call; bounds memory while reading a long stream.
constexpr int64_t kPageSize = 1000;

class ReadCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("read", "Read a stream's events");
    app->add_option("STREAM", stream_, "Stream to read")->required();
    app->add_option("--from", from_version_,
                    "First version to print (default: the first, or the last with --backward)")
        ->check(NonNegativeInteger())
        ->option_text("V");
    app->add_flag("--backward", backward_, "Newest first, from --from downwards");
    app->add_option("--limit", limit_, "Print at most N events (default: all)")
        ->check(PositiveInteger())
        ->option_text("N");
    app->footer(VerbFooter(
        "Print STREAM's events in version order (newest first with --backward), all of them "
        "unless --limit is given. Exits 4 if the stream does not exist."));
    return app;
  }

  Status Execute(Context& ctx) override {
    auto client = ctx.client();
    if (!client.ok()) return client.status();

    EventPrinter printer(ctx, EventPrinter::Layout::kStream);
    ReadStreamOptions read;
    read.direction = backward_ ? ReadDirection::kBackward : ReadDirection::kForward;
    read.from_version = from_version_;
    while (!limit_ || printer.count() < *limit_) {
      if (ctx.stop_requested()) return CancelledError("interrupted");
      const int64_t want = limit_ ? std::min(kPageSize, *limit_ - printer.count()) : kPageSize;
      read.limit = static_cast<size_t>(want);
      auto events = (*client)->ReadStream(stream_, read);
      if (!events.ok()) return events.status();
      printer.Print(*events);
      if (static_cast<int64_t>(events->size()) < want) break;
      const StreamVersion last = events->back().version;
      if (backward_ && last == 0) break;
      read.from_version = backward_ ? last - 1 : last + 1;
    }
    printer.Finish();
    return Status::OK();
  }

 private:
  std::string stream_;
  std::optional<int64_t> from_version_;
  bool backward_ = false;
  std::optional<int64_t> limit_;
};

}  // namespace

std::unique_ptr<Command> NewReadCommand() { return std::make_unique<ReadCommand>(); }

}  // namespace triad::cli
