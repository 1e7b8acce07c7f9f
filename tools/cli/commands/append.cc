// `triad append STREAM TYPE [JSON]` and `triad append STREAM -` (NDJSON on stdin).
#include "cli/commands/command.h"
#include "cli/ndjson_events.h"

#include "triad/event_json.h"
#include "triad/expected_version.h"

#include <ostream>
#include <string>
#include <vector>

namespace triad::cli {
namespace {

std::string Range(StreamVersion first, StreamVersion last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

std::string Describe(std::string_view stream, const AppendResult& r) {
  const int64_t n = r.last_version - r.first_version + 1;
  std::string text = CountOf(n, "event");
  text += (r.already_stored ? " already stored in " : " appended to ") + std::string(stream);
  text += n == 1 ? " (version " : " (versions ";
  text += Range(r.first_version, r.last_version);
  text += n == 1 ? ", position " : ", positions ";
  text += Range(r.first_position, r.last_position) + ")";
  if (r.already_stored) text += "; nothing written";
  return text;
}

class AppendCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("append", "Append events to a stream, atomically");
    app->add_option("STREAM", stream_, "Stream to append to, e.g. account-42")->required();
    app->add_option("TYPE", type_, "Event type, e.g. AccountOpened; '-': read NDJSON from stdin");
    app->add_option("JSON", data_, "Event data, a JSON object (default: {})");
    app->add_option("--expected", expected_,
                    "Concurrency check: any (the default), no_stream, exists, or the stream's "
                    "exact current version (-1 = no stream). On mismatch exits 3 naming the "
                    "current version")
        ->option_text("V");
    app->add_option("--id", id_,
                    "Event id (a UUID) for an idempotent retry; default: generated (UUIDv7)")
        ->option_text("UUID");
    app->add_option("--metadata", metadata_,
                    "Event metadata, a JSON object; correlation_id and causation_id are indexed")
        ->option_text("JSON");
    app->footer(VerbFooter(
        "Append one event (TYPE and JSON data from the command line) or several (NDJSON on "
        "stdin, one {\"id\"?, \"type\", \"data\"?, \"metadata\"?} per line, when TYPE is '-' or "
        "is absent and stdin is not a terminal) to STREAM, all or nothing. Creates the store if "
        "it does not exist (embedded). Prints the versions and positions written."));
    return app;
  }

  Status Execute(Context& ctx) override {
    const bool from_stdin = type_ == "-" || (type_.empty() && !ctx.io.stdin_is_tty);
    if (type_.empty() && !from_stdin) {
      return InvalidArgumentError(
          "append needs TYPE [JSON], or NDJSON events on stdin (TYPE '-'); see triad append "
          "--help");
    }
    if (from_stdin && (data_.has_value() || id_.has_value() || metadata_.has_value())) {
      return InvalidArgumentError(
          "JSON, --id and --metadata describe a single event; with NDJSON on stdin put \"data\", "
          "\"id\" and \"metadata\" in each line");
    }
    auto expected = ExpectedVersion::Parse(expected_);
    if (!expected.ok()) return expected.status().Annotate("--expected");

    std::vector<NewEvent> events;
    if (from_stdin) {
      auto parsed = ReadNdjsonEvents(ctx.io.in);
      if (!parsed.ok()) return parsed.status();
      events = std::move(*parsed);
    } else {
      events.push_back(NewEvent{.id = id_.value_or(""),
                                .type = type_,
                                .data = data_.value_or("{}"),
                                .metadata = metadata_.value_or("{}")});
    }

    // Ctrl-C in `producer | triad append S -` also stops the producer, whose output may end
    // early but cleanly; appending that prefix would store a batch nobody meant to write.
    if (ctx.stop_requested()) return CancelledError("interrupted; nothing was appended");
    auto client = ctx.client();
    if (!client.ok()) return client.status();
    auto result = (*client)->Append(stream_, *expected, events);
    if (!result.ok()) return result.status();
    if (ctx.global.json) {
      ctx.io.out << AppendResultToJson(stream_, *result) << '\n';
    } else {
      ctx.io.out << Describe(stream_, *result) << '\n';
    }
    return Status::OK();
  }

 private:
  std::string stream_;
  std::string type_;
  std::optional<std::string> data_;
  std::string expected_ = "any";
  std::optional<std::string> id_;
  std::optional<std::string> metadata_;
};

}  // namespace

std::unique_ptr<Command> NewAppendCommand() { return std::make_unique<AppendCommand>(); }

}  // namespace triad::cli
