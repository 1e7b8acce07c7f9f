// CLI11 validators for the numeric options of the verbs, with messages that name the rule
// (CLI11's own range checks print the whole range of a double).
#pragma once

#include <CLI/CLI.hpp>

namespace triad::cli {

// An integer >= 1 (--limit).
CLI::Validator PositiveInteger();
// An integer >= 0 (--from).
CLI::Validator NonNegativeInteger();
// A number of seconds >= 0, fractions allowed (--follow-timeout).
CLI::Validator NonNegativeSeconds();

}  // namespace triad::cli
