// Helpers shared by the consumer-group tests: a store fixture, appends, and the per-stream order
// check used by the unit, durability and competing-member tests.
#pragma once

#include "testing/test_util.h"

#include "triad/consumer_groups.h"
#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace triad::testing {

// Appends one event of `type` to `stream`; returns its position (0 on failure, after a test
// failure is recorded).
inline Position AppendOne(EventStore& store, const std::string& stream,
                          const std::string& type = "Happened") {
  NewEvent e{.type = type};
  auto r = store.Append(stream, ExpectedVersion::Any(), {&e, 1});
  EXPECT_OK(r);
  return r.ok() ? r->last_position : 0;
}

// The positions of `messages`, in order.
inline std::vector<Position> PositionsOf(const std::vector<GroupMessage>& messages) {
  std::vector<Position> out;
  for (const GroupMessage& m : messages) out.push_back(m.event.position);
  return out;
}

// Records, per stream, the versions in the order they were first processed by any member, and
// checks that the order is 0, 1, 2, ... with no skips and no reordering.
class StreamOrderRecorder {
 public:
  // Records that `event` was processed; only its first processing counts.
  void Processed(const RecordedEvent& event) {
    auto& seen = seen_[event.stream];
    if (seen.insert(event.version).second) first_order_[event.stream].push_back(event.version);
  }

  // Checks every stream's first-processing order against its versions 0..n-1, where
  // `expected_counts` gives n per stream (every stream that must have been processed).
  ::testing::AssertionResult InVersionOrder(
      const std::map<std::string, int64_t>& expected_counts) const {
    for (const auto& [stream, count] : expected_counts) {
      auto it = first_order_.find(stream);
      const std::vector<StreamVersion> empty;
      const std::vector<StreamVersion>& order = it == first_order_.end() ? empty : it->second;
      if (static_cast<int64_t>(order.size()) != count) {
        return ::testing::AssertionFailure() << "stream " << stream << ": " << order.size()
                                             << " events processed, expected " << count;
      }
      for (int64_t i = 0; i < count; ++i) {
        if (order[static_cast<size_t>(i)] != i) {
          return ::testing::AssertionFailure()
                 << "stream " << stream << ": event #" << i << " first processed was version "
                 << order[static_cast<size_t>(i)] << ", expected " << i;
        }
      }
    }
    if (first_order_.size() != expected_counts.size()) {
      return ::testing::AssertionFailure()
             << first_order_.size() << " streams processed, expected " << expected_counts.size();
    }
    return ::testing::AssertionSuccess();
  }

 private:
  std::map<std::string, std::set<StreamVersion>> seen_;
  std::map<std::string, std::vector<StreamVersion>> first_order_;
};

}  // namespace triad::testing
