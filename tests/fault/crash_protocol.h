// What triad_crash_child (crash_child.cc) writes, shared with crash_test.cc, which checks it.
#pragma once

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace triad::testing {

// The type of every event the crash child appends.
inline constexpr const char* kCrashEventType = "Deposited";

// The data of event `index` of a batch of `count` events, the append numbered `seq` by `writer` in
// crash cycle `cycle`. Unique per event, and it names its batch, so the checker can recompute every
// byte and tell a torn batch from a whole one.
inline std::string CrashEventData(int cycle, int writer, int64_t seq, int index, int count) {
  char buf[128];
  std::snprintf(buf, sizeof buf, R"({"c":%d,"w":%d,"n":%)" PRId64 R"(,"i":%d,"k":%d})", cycle,
                writer, seq, index, count);
  return buf;
}

// Parses CrashEventData() output; returns false for anything else.
inline bool ParseCrashEventData(const std::string& data, int& cycle, int& writer, int64_t& seq,
                                int& index, int& count) {
  return std::sscanf(data.c_str(), R"({"c":%d,"w":%d,"n":%)" SCNd64 R"(,"i":%d,"k":%d})", &cycle,
                     &writer, &seq, &index, &count) == 5;
}

}  // namespace triad::testing
