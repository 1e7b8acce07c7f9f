// Prints events for `triad read` and `triad events`: NDJSON envelopes with --json (EventToJson),
// else a table. Batches are flushed as they come so that `events --follow` is live in a pipe.
#pragma once

#include "cli/context.h"
#include "cli/table.h"

#include "triad/event.h"

#include <cstdint>
#include <span>

namespace triad::cli {

class EventPrinter {
 public:
  enum class Layout {
    // One stream (`read`): no stream column.
    kStream,
    // The global log (`events`): a stream column after the position.
    kLog,
  };

  // `ctx` must outlive the printer.
  EventPrinter(const Context& ctx, Layout layout);

  // Prints `events` and flushes the output.
  void Print(std::span<const RecordedEvent> events);

  // Ends the output: a table that printed nothing says "(no events)" so that an empty answer is
  // not mistaken for a hang or a crash. NDJSON output prints nothing for no events.
  void Finish();

  // Events printed so far.
  int64_t count() const { return count_; }

 private:
  const Context& ctx_;
  Layout layout_;
  TableWriter table_;
  int64_t count_ = 0;
};

}  // namespace triad::cli
