#include "groups/group_settings.h"

#include "util/quote.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace triad::internal::groups {
namespace {

void SortUnique(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

Status CheckFilterList(const std::vector<std::string>& values, std::string_view what) {
  for (const std::string& value : values) {
    if (value.empty()) return InvalidArgumentError(std::string(what) + " must not be empty");
    // The settings are stored as JSON, which nlohmann refuses (by throwing) to write from
    // invalid UTF-8.
    try {
      (void)nlohmann::json(value).dump();
    } catch (const std::exception&) {
      return InvalidArgumentError(std::string(what) + " " + Quote(value) + " is not valid UTF-8");
    }
  }
  return Status::OK();
}

// A duration setting must lie in [min_us, kMaxGroupDurationUs]: past it, deadlines (now + the
// duration) would overflow.
Status CheckDuration(int64_t us, int64_t min_us, std::string_view what) {
  if (us >= min_us && us <= kMaxGroupDurationUs) return Status::OK();
  return InvalidArgumentError(std::string(what) + " must be " + std::to_string(min_us) + ".." +
                              std::to_string(kMaxGroupDurationUs) + " us (at most 24 h), got " +
                              std::to_string(us) + " us");
}

}  // namespace

Status ValidateGroupName(std::string_view name) {
  const bool ok_length = !name.empty() && name.size() <= 64;
  const bool ok_start = ok_length && name[0] >= 'a' && name[0] <= 'z';
  const bool ok_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (!ok_start || !ok_chars) {
    return InvalidArgumentError("invalid group name " + Quote(name) +
                                ": 1-64 characters of [a-z0-9_-], starting with a letter");
  }
  return Status::OK();
}

Status ValidateMemberName(std::string_view member) {
  const bool printable =
      std::all_of(member.begin(), member.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  if (member.empty() || member.size() > 128 || !printable) {
    return InvalidArgumentError("invalid member name " + Quote(member) +
                                ": 1-128 printable ASCII characters");
  }
  return Status::OK();
}

Result<GroupSettings> NormalizeSettings(const GroupSettings& settings) {
  GroupSettings s = settings;
  if (s.start_position < 0) {
    return InvalidArgumentError("start_position must be >= 0, got " +
                                std::to_string(s.start_position));
  }
  if (s.start_position == 0) s.start_position = 1;
  if (s.max_attempts < 1 || s.max_attempts > kMaxGroupAttempts) {
    return InvalidArgumentError("max_attempts must be 1.." + std::to_string(kMaxGroupAttempts) +
                                ", got " + std::to_string(s.max_attempts));
  }
  if (Status st = CheckDuration(s.ack_timeout_us, 1, "ack_timeout"); !st.ok()) return st;
  if (Status st = CheckDuration(s.member_lease_us, 1, "member_lease"); !st.ok()) return st;
  if (Status st = CheckDuration(s.retry_backoff_us, 0, "retry_backoff"); !st.ok()) return st;
  if (Status st = CheckDuration(s.max_retry_backoff_us, 0, "max_retry_backoff"); !st.ok()) {
    return st;
  }
  if (s.max_retry_backoff_us < s.retry_backoff_us) {
    return InvalidArgumentError("max_retry_backoff (" + std::to_string(s.max_retry_backoff_us) +
                                " us) must be >= retry_backoff (" +
                                std::to_string(s.retry_backoff_us) + " us)");
  }
  if (Status st = CheckFilterList(s.event_types, "an event type"); !st.ok()) return st;
  if (Status st = CheckFilterList(s.categories, "a category"); !st.ok()) return st;
  SortUnique(s.event_types);
  SortUnique(s.categories);
  return s;
}

bool SameSettings(const GroupSettings& a, const GroupSettings& b) {
  return a.event_types == b.event_types && a.categories == b.categories &&
         a.start_position == b.start_position && a.max_attempts == b.max_attempts &&
         a.ack_timeout_us == b.ack_timeout_us && a.member_lease_us == b.member_lease_us &&
         a.retry_backoff_us == b.retry_backoff_us &&
         a.max_retry_backoff_us == b.max_retry_backoff_us;
}

std::string SettingsToJson(const GroupSettings& settings) {
  nlohmann::json j = {{"event_types", settings.event_types},
                      {"categories", settings.categories},
                      {"start_position", settings.start_position},
                      {"max_attempts", settings.max_attempts},
                      {"ack_timeout_us", settings.ack_timeout_us},
                      {"member_lease_us", settings.member_lease_us},
                      {"retry_backoff_us", settings.retry_backoff_us},
                      {"max_retry_backoff_us", settings.max_retry_backoff_us}};
  return j.dump();
}

Result<GroupSettings> SettingsFromJson(std::string_view text) {
  // The file is ours, but it may be damaged: nlohmann throws on malformed or mistyped JSON and
  // no exception may leave the library.
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    GroupSettings s;
    s.event_types = j.at("event_types").get<std::vector<std::string>>();
    s.categories = j.at("categories").get<std::vector<std::string>>();
    s.start_position = j.at("start_position").get<Position>();
    s.max_attempts = j.at("max_attempts").get<int32_t>();
    s.ack_timeout_us = j.at("ack_timeout_us").get<int64_t>();
    s.member_lease_us = j.at("member_lease_us").get<int64_t>();
    s.retry_backoff_us = j.at("retry_backoff_us").get<int64_t>();
    s.max_retry_backoff_us = j.at("max_retry_backoff_us").get<int64_t>();
    return s;
  } catch (const std::exception& e) {
    return DataLossError("stored group settings are unreadable: " + std::string(e.what()));
  }
}

}  // namespace triad::internal::groups
