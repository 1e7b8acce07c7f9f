// Validation and serialization of consumer-group names, member names and settings
// (include/triad/consumer_groups.h).
//
// Thread-safety: pure functions.
#pragma once

#include "triad/consumer_groups.h"
#include "triad/result.h"
#include "triad/status.h"

#include <string>
#include <string_view>

namespace triad::internal::groups {

// OK iff `name` is 1-64 characters of [a-z0-9_-] starting with a letter.
// Errors: kInvalidArgument naming the group.
Status ValidateGroupName(std::string_view name);

// OK iff `member` is 1-128 printable ASCII characters. Errors: kInvalidArgument.
Status ValidateMemberName(std::string_view member);

// Checks `settings` and returns them normalized (start_position 0 becomes 1; filter lists sorted
// and deduplicated), so that two equal requests compare equal.
// Errors: kInvalidArgument naming the first setting out of range.
Result<GroupSettings> NormalizeSettings(const GroupSettings& settings);

// True iff the two (normalized) settings are equal.
bool SameSettings(const GroupSettings& a, const GroupSettings& b);

// The settings as stored in the group file (microseconds), and back.
// Errors: kDataLoss when the stored text is not valid settings JSON.
std::string SettingsToJson(const GroupSettings& settings);
Result<GroupSettings> SettingsFromJson(std::string_view text);

}  // namespace triad::internal::groups
