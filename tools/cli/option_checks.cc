#include "cli/option_checks.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace triad::cli {
namespace {

// Returns CLI11's "valid" (an empty string) iff `text` is a whole decimal int64 >= `min`.
std::string CheckInteger(const std::string& text, int64_t min, const char* what) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min) {
    return "'" + text + "' is not " + what;
  }
  return {};
}

}  // namespace

CLI::Validator PositiveInteger() {
  return CLI::Validator(
      [](const std::string& text) { return CheckInteger(text, 1, "an integer >= 1"); }, "");
}

CLI::Validator NonNegativeInteger() {
  return CLI::Validator(
      [](const std::string& text) { return CheckInteger(text, 0, "an integer >= 0"); }, "");
}

CLI::Validator NonNegativeSeconds() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        double value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value,
                                               std::chars_format::fixed);
        if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
            value < 0) {
          return "'" + text + "' is not a number of seconds >= 0";
        }
        return {};
      },
      "");
}

}  // namespace triad::cli
