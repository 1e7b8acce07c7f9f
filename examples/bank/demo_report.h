// Plain-text output of bank_demo: what each command did, the events it wrote, the accounts.
//
// Written for a newcomer reading a terminal: every line says what happened in words, and events
// are shown as "v<version>  pos <position>  <type>  <data>".
//
// Thread-safety: not thread-safe; the demo prints from its main thread only.
#pragma once

#include "bank/bank.h"

#include "triad/event_store.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bank::demo {

class Report {
 public:
  explicit Report(triad::EventStore& store) : store_(store) {}

  // "Step <n>: <title>" followed by an explanation paragraph (lines separated by '\n').
  void Step(std::string_view title, std::string_view explanation);

  // A line of prose, indented under the current step.
  void Say(std::string_view text);

  // Prints "> <command>" and the outcome: "ok" with the balance, version and the events written,
  // or "REFUSED (<code>): <message>". Returns true iff the outcome is the expected one
  // (`expect_ok`); an unexpected outcome is also counted in unexpected().
  bool Command(std::string_view command, const AccountResult& result, bool expect_ok);

  // Prints the events of `stream` with versions first..last.
  void Events(std::string_view stream, int64_t first, int64_t last);

  // Prints one row per account id: owner, branch, status, balance, version.
  void Accounts(Bank& bank, const std::vector<std::string>& account_ids);

  // Records an outcome the demo did not expect.
  void Unexpected(std::string_view what);

  int unexpected() const { return unexpected_; }

 private:
  triad::EventStore& store_;
  int step_ = 0;
  int unexpected_ = 0;
};

}  // namespace bank::demo
