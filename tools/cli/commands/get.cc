// `triad get COLLECTION ID`: one document of the read model, with its `_meta`.
#include "cli/commands/command.h"
#include "cli/option_checks.h"

#include "triad/document.h"

#include <optional>
#include <ostream>
#include <string>

namespace triad::cli {
namespace {

class GetCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("get", "Print one document of a collection");
    app->add_option("COLLECTION", collection_, "The collection, e.g. accounts")->required();
    app->add_option("ID", id_, "The document's id")->required();
    CLI::Option* min_position =
        app->add_option("--min-position", min_position_,
                        "Read your own write: answer only once the collection reflects position "
                        "P (e.g. the last_position your append printed)")
            ->check(PositiveInteger())
            ->option_text("P");
    app->add_option("--wait-ms", wait_ms_,
                    "With --min-position: how long to wait for it (default: 0, fail at once)")
        ->check(NonNegativeInteger())
        ->option_text("MS")
        ->needs(min_position);
    app->add_flag("--fresh", fresh_,
                  "Bring the document up to date from newer events first (needs the "
                  "projection's handler: --url)");
    app->footer(VerbFooter(
        "Print the document ID of COLLECTION as one line of JSON with its _meta (the projection "
        "that wrote it, the position of the last event applied, its sources). With --json: "
        "{\"document\": {...}, \"as_of\": P}. Exits 4 if there is no such document or "
        "collection, 1 if --min-position was not reached within --wait-ms."));
    return app;
  }

  Status Execute(Context& ctx) override {
    auto client = ctx.client();
    if (!client.ok()) return client.status();
    GetOptions options;
    options.min_position = min_position_.value_or(0);
    options.timeout_us = wait_ms_.value_or(0) * 1000;
    options.fresh = fresh_;
    auto read = (*client)->GetDocument(collection_, id_, options);
    if (!read.ok()) return read.status();
    if (!read->document) {
      return NotFoundError("no document '" + id_ + "' in collection '" + collection_ +
                           "' (as of position " + std::to_string(read->as_of) + ")");
    }
    if (ctx.global.json) {
      ctx.io.out << "{\"document\":" << DocumentToJson(*read->document)
                 << ",\"as_of\":" << read->as_of << "}\n";
    } else {
      ctx.io.out << DocumentToJson(*read->document) << '\n';
    }
    return Status::OK();
  }

 private:
  std::string collection_;
  std::string id_;
  std::optional<int64_t> min_position_;
  std::optional<int64_t> wait_ms_;
  bool fresh_ = false;
};

}  // namespace

std::unique_ptr<Command> NewGetCommand() { return std::make_unique<GetCommand>(); }

}  // namespace triad::cli
