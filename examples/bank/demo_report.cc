#include "bank/demo_report.h"

#include "bank/money.h"

#include <cstdio>
#include <string>

namespace bank::demo {

void Report::Step(std::string_view title, std::string_view explanation) {
  std::printf("\nStep %d: %.*s\n", ++step_, static_cast<int>(title.size()), title.data());
  size_t start = 0;
  while (start < explanation.size()) {
    size_t end = explanation.find('\n', start);
    if (end == std::string_view::npos) end = explanation.size();
    const std::string_view line = explanation.substr(start, end - start);
    std::printf("  %.*s\n", static_cast<int>(line.size()), line.data());
    start = end + 1;
  }
}

void Report::Say(std::string_view text) {
  std::printf("    %.*s\n", static_cast<int>(text.size()), text.data());
}

bool Report::Command(std::string_view command, const AccountResult& result, bool expect_ok) {
  std::printf("  > %.*s\n", static_cast<int>(command.size()), command.data());
  if (!result.ok()) {
    const triad::Status& s = result.status();
    const std::string_view code = triad::StatusCodeName(s.code());
    std::printf("    REFUSED (%.*s): %s\n", static_cast<int>(code.size()), code.data(),
                s.message().c_str());
  } else {
    const auto& done = *result;
    std::printf("    ok: balance %s, account at version %lld",
                FormatCents(done.state.balance_cents).c_str(),
                static_cast<long long>(done.version));
    if (done.attempts > 1) std::printf(" (after %d attempts)", done.attempts);
    std::printf("\n");
    Events(Bank::StreamOf(done.state.account_id), done.append.first_version,
           done.append.last_version);
  }
  if (result.ok() != expect_ok) {
    Unexpected(expect_ok ? "the command above should have succeeded"
                         : "the command above should have been refused");
    return false;
  }
  return true;
}

void Report::Events(std::string_view stream, int64_t first, int64_t last) {
  if (last < first) return;
  triad::ReadStreamOptions read;
  read.from_version = first;
  read.limit = static_cast<size_t>(last - first + 1);
  auto events = store_.ReadStream(stream, read);
  if (!events.ok()) {
    Unexpected("reading " + std::string(stream) + ": " + events.status().ToString());
    return;
  }
  for (const triad::RecordedEvent& e : *events) {
    std::printf("      %-12s v%-3lld pos %-5lld %-15s %s\n", e.stream.c_str(),
                static_cast<long long>(e.version), static_cast<long long>(e.position),
                e.type.c_str(), e.data.c_str());
  }
}

void Report::Accounts(Bank& bank, const std::vector<std::string>& account_ids) {
  std::printf("  %-12s %-14s %-10s %-7s %10s %8s\n", "stream", "owner", "branch", "status",
              "balance", "version");
  for (const std::string& id : account_ids) {
    auto loaded = bank.Get(id);
    if (!loaded.ok()) {
      Unexpected("loading account " + id + ": " + loaded.status().ToString());
      continue;
    }
    const Account& a = loaded->state;
    const std::string_view status = AccountStatusName(a.status);
    std::printf("  %-12s %-14s %-10s %-7.*s %10s %8lld\n", Bank::StreamOf(id).c_str(),
                a.owner.c_str(), a.branch.c_str(), static_cast<int>(status.size()), status.data(),
                FormatCents(a.balance_cents).c_str(), static_cast<long long>(loaded->version));
  }
}

void Report::Unexpected(std::string_view what) {
  ++unexpected_;
  std::printf("    UNEXPECTED: %.*s\n", static_cast<int>(what.size()), what.data());
}

}  // namespace bank::demo
