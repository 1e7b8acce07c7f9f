// `triad find COLLECTION`: a query on a collection of the read model, one page at a time.
#include "cli/commands/command.h"
#include "cli/option_checks.h"
#include "cli/table.h"

#include "triad/document.h"
#include "triad/query_text.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace triad::cli {
namespace {

class FindCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("find", "Query a collection");
    app->add_option("COLLECTION", collection_, "The collection, e.g. accounts")->required();
    app->add_option("--where", where_,
                    "A condition field:op:value (repeatable: all must hold); ops eq ne lt le gt "
                    "ge in prefix; in takes values separated by '|'")
        ->allow_extra_args(false)
        ->option_text("F:OP:V");
    app->add_option("--order-by", order_by_, "Order by an indexed field (default: by id)")
        ->option_text("FIELD[:desc]");
    app->add_option("--limit", limit_, "Documents per page, 1 to 10000 (default: 100)")
        ->check(CLI::Range(1, 10'000))
        ->option_text("N");
    app->add_option("--after", after_, "The cursor printed by the previous page")
        ->option_text("CURSOR");
    app->add_flag("--count", count_, "Print the number of matching documents instead");
    app->add_flag("--allow-scan", allow_scan_,
                  "Allow filters and ordering on fields without an index (reads every document)");
    CLI::Option* min_position =
        app->add_option("--min-position", min_position_,
                        "Answer only once the collection reflects position P")
            ->check(PositiveInteger())
            ->option_text("P");
    app->add_option("--wait-ms", wait_ms_, "With --min-position: how long to wait for it")
        ->check(NonNegativeInteger())
        ->option_text("MS")
        ->needs(min_position);
    app->footer(VerbFooter(
        "Print the documents of COLLECTION that match every --where, in --order-by order, one "
        "page (--limit) at a time: a table of each document's position and JSON body, then a "
        "line with the cursor of the next page (pass it to --after). With --json: one document "
        "(with its _meta) per line, then {\"next_after\": CURSOR|null, \"as_of\": P}. --count "
        "prints the number of matches. Values are read as JSON when they are a number, true, "
        "false or a \"quoted string\", else as text. Exits 2 for a malformed --where or a "
        "filter on a field without an index, 4 for an unknown collection."));
    return app;
  }

  Status Execute(Context& ctx) override {
    FindRequest request;
    for (const std::string& where : where_) {
      auto filter = ParseFilterText(where, "--where");
      if (!filter.ok()) return filter.status();
      request.query.filters.push_back(std::move(*filter));
    }
    request.where_args = where_;
    if (order_by_) {
      auto order = ParseOrderText(*order_by_, "--order-by");
      if (!order.ok()) return order.status();
      request.query.order_by = order->first;
      request.query.order = order->second;
    }
    request.query.limit = static_cast<size_t>(limit_);
    request.query.after = after_;
    request.query.allow_scan = allow_scan_;
    request.freshness.min_position = min_position_.value_or(0);
    request.freshness.timeout_us = wait_ms_.value_or(0) * 1000;

    auto client = ctx.client();
    if (!client.ok()) return client.status();
    if (count_) {
      auto counted = (*client)->CountDocuments(collection_, request);
      if (!counted.ok()) return counted.status();
      if (ctx.global.json) {
        ctx.io.out << "{\"count\":" << counted->count << ",\"as_of\":" << counted->as_of << "}\n";
      } else {
        ctx.io.out << CountOf(counted->count, "document") << " (as of position " << counted->as_of
                   << ")\n";
      }
      return Status::OK();
    }
    auto page = (*client)->FindDocuments(collection_, request);
    if (!page.ok()) return page.status();
    if (ctx.global.json) {
      for (const Document& document : page->documents) {
        ctx.io.out << DocumentToJson(document) << '\n';
      }
      const nlohmann::json trailer = {
          {"next_after",
           page->next_cursor.empty() ? nlohmann::json() : nlohmann::json(page->next_cursor)},
          {"as_of", page->as_of}};
      ctx.io.out << trailer.dump() << '\n';
      return Status::OK();
    }
    TableWriter table(ctx.io.out, {{"POSITION", true}, {"DOCUMENT"}}, ctx.color());
    std::vector<TableWriter::Row> rows;
    for (const Document& document : page->documents) {
      rows.push_back({std::to_string(document.meta.position), document.body});
    }
    table.Write(rows);
    ctx.io.out << "(" << CountOf(static_cast<int64_t>(page->documents.size()), "document")
               << ", as of position " << page->as_of;
    if (!page->next_cursor.empty()) ctx.io.out << "; next page: --after " << page->next_cursor;
    ctx.io.out << ")\n";
    return Status::OK();
  }

 private:
  std::string collection_;
  std::vector<std::string> where_;
  std::optional<std::string> order_by_;
  int64_t limit_ = 100;
  std::string after_;
  bool count_ = false;
  bool allow_scan_ = false;
  std::optional<int64_t> min_position_;
  std::optional<int64_t> wait_ms_;
};

}  // namespace

std::unique_ptr<Command> NewFindCommand() { return std::make_unique<FindCommand>(); }

}  // namespace triad::cli
