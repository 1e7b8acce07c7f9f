#include "cli/commands/command.h"

namespace triad::cli {

namespace {

// Help text is read in an 80-column terminal; CLI11 prints footers as given.
constexpr size_t kWrapColumn = 80;

std::string Wrap(std::string_view text) {
  std::string out;
  size_t line_length = 0;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (line_length > 0 && line_length + 1 + word.size() > kWrapColumn) {
      out += '\n';
      line_length = 0;
    } else if (line_length > 0) {
      out += ' ';
      ++line_length;
    }
    out += word;
    line_length += word.size();
  }
  return out;
}

}  // namespace

std::string VerbFooter(std::string_view details) {
  return Wrap(details) +
         "\n\n"
         "Global options (before or after the verb):\n"
         "  --data PATH|URI   the store: a file path, sqlite:PATH, postgresql://URI or memory:\n"
         "                    (default: $TRIAD_DATA, else ./triad.db)\n"
         "  --url URL         talk to a server instead (default: $TRIAD_URL); exclusive with "
         "--data\n"
         "  --token TOKEN     with --url: the bearer token (default: $TRIAD_TOKEN)\n"
         "  --json            machine-readable output: NDJSON, one JSON value per line\n"
         "Exit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 conflict, 4 not found.\n"
         "Full reference: docs/cli.md";
}

std::string CountOf(int64_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

}  // namespace triad::cli
