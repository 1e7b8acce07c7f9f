// Reads every backend serves the same way: streams forward and backward, the global log with
// filters, stream summaries and listing, snapshots, the live tail, and Check().
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "conformance/store_factory.h"

namespace triad::testing {
namespace {

class ReadContractTest : public StoreTest {
 protected:
  // Appends one event of `type` with data {"n": n} to `stream`.
  void Put(const std::string& stream, const std::string& type, int n) {
    NewEvent e;
    e.type = type;
    e.data = "{\"n\":" + std::to_string(n) + "}";
    ASSERT_OK(store().Append(stream, ExpectedVersion::Any(), {&e, 1}));
  }

  // Positions of `events`.
  static std::vector<Position> Positions(const std::vector<RecordedEvent>& events) {
    std::vector<Position> out;
    for (const RecordedEvent& e : events) out.push_back(e.position);
    return out;
  }

  // The log: account-1 A0 (1), account-2 B1 (2), order-1 A2 (3), account-1 C3 (4),
  // order-1 B4 (5), account-1 A5 (6).
  void MakeLog() {
    Put("account-1", "A", 0);
    Put("account-2", "B", 1);
    Put("order-1", "A", 2);
    Put("account-1", "C", 3);
    Put("order-1", "B", 4);
    Put("account-1", "A", 5);
  }
};

TEST_P(ReadContractTest, ReadStreamForwardAndBackward) {
  MakeLog();
  auto all = store().ReadStream("account-1", {});
  ASSERT_OK(all);
  EXPECT_EQ(Positions(*all), (std::vector<Position>{1, 4, 6}));
  EXPECT_EQ((*all)[1].version, 1);
  EXPECT_EQ((*all)[1].data, R"({"n":3})");

  ReadStreamOptions from1;
  from1.from_version = 1;
  from1.limit = 1;
  auto one = store().ReadStream("account-1", from1);
  ASSERT_OK(one);
  EXPECT_EQ(Positions(*one), (std::vector<Position>{4}));

  ReadStreamOptions backward;
  backward.direction = ReadDirection::kBackward;
  auto back = store().ReadStream("account-1", backward);
  ASSERT_OK(back);
  EXPECT_EQ(Positions(*back), (std::vector<Position>{6, 4, 1}));

  backward.from_version = 1;
  auto back_from = store().ReadStream("account-1", backward);
  ASSERT_OK(back_from);
  EXPECT_EQ(Positions(*back_from), (std::vector<Position>{4, 1}));

  backward.from_version = 100;  // beyond the end: starts at the last event
  auto back_far = store().ReadStream("account-1", backward);
  ASSERT_OK(back_far);
  EXPECT_EQ(Positions(*back_far), (std::vector<Position>{6, 4, 1}));

  ReadStreamOptions past_end;
  past_end.from_version = 3;
  auto empty = store().ReadStream("account-1", past_end);
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST_P(ReadContractTest, ReadingAMissingStreamIsNotFound) {
  MakeLog();
  auto r = store().ReadStream("account-9", {});
  ASSERT_ERROR_CODE(r, kNotFound);
  EXPECT_NE(r.status().message().find("account-9"), std::string::npos);
  ASSERT_ERROR_CODE(store().ReadStream("bad name", {}), kInvalidArgument);
  ReadStreamOptions negative;
  negative.from_version = -2;
  ASSERT_ERROR_CODE(store().ReadStream("account-1", negative), kInvalidArgument);
}

TEST_P(ReadContractTest, ReadAllPagesAndFilters) {
  MakeLog();
  auto all = store().ReadAll({});
  ASSERT_OK(all);
  EXPECT_EQ(Positions(*all), (std::vector<Position>{1, 2, 3, 4, 5, 6}));

  ReadAllOptions zero;
  zero.from_position = 0;  // 0 and 1 both mean the start
  auto from_zero = store().ReadAll(zero);
  ASSERT_OK(from_zero);
  EXPECT_EQ(from_zero->size(), 6u);

  ReadAllOptions page;
  page.from_position = 3;
  page.limit = 2;
  auto paged = store().ReadAll(page);
  ASSERT_OK(paged);
  EXPECT_EQ(Positions(*paged), (std::vector<Position>{3, 4}));

  ReadAllOptions by_type;
  by_type.types = {"A"};
  auto a = store().ReadAll(by_type);
  ASSERT_OK(a);
  EXPECT_EQ(Positions(*a), (std::vector<Position>{1, 3, 6}));

  by_type.types = {"B", "C"};
  auto bc = store().ReadAll(by_type);
  ASSERT_OK(bc);
  EXPECT_EQ(Positions(*bc), (std::vector<Position>{2, 4, 5}));
  by_type.limit = 2;
  auto bc2 = store().ReadAll(by_type);
  ASSERT_OK(bc2);
  EXPECT_EQ(Positions(*bc2), (std::vector<Position>{2, 4}));

  ReadAllOptions by_category;
  by_category.categories = {"order"};
  auto orders = store().ReadAll(by_category);
  ASSERT_OK(orders);
  EXPECT_EQ(Positions(*orders), (std::vector<Position>{3, 5}));

  ReadAllOptions both;  // types AND categories
  both.types = {"A", "B"};
  both.categories = {"account"};
  both.from_position = 2;
  auto combined = store().ReadAll(both);
  ASSERT_OK(combined);
  EXPECT_EQ(Positions(*combined), (std::vector<Position>{2, 6}));

  ReadAllOptions beyond;
  beyond.from_position = 7;
  auto none = store().ReadAll(beyond);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  ReadAllOptions bad;
  bad.types = {"no spaces allowed"};
  ASSERT_ERROR_CODE(store().ReadAll(bad), kInvalidArgument);
  ReadAllOptions negative;
  negative.from_position = -1;
  ASSERT_ERROR_CODE(store().ReadAll(negative), kInvalidArgument);
}

// ScanAll hands out views of exactly the events ReadAll copies, for every filter shape.
TEST_P(ReadContractTest, ScanAllVisitsWhatReadAllReturns) {
  MakeLog();
  NewEvent e;
  e.type = "A";
  e.data = R"({"n":7})";
  e.metadata = R"({"correlation_id":"c-7","causation_id":"k-7"})";
  ASSERT_OK(store().Append("order-2", ExpectedVersion::Any(), {&e, 1}));
  std::vector<ReadAllOptions> cases(6);
  cases[1].types = {"A"};
  cases[2].types = {"B", "C"};
  cases[3].categories = {"order"};
  cases[4].types = {"A"};
  cases[4].categories = {"account"};
  cases[4].from_position = 2;
  cases[5].from_position = 3;
  cases[5].limit = 2;
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    auto copied = store().ReadAll(cases[i]);
    ASSERT_OK(copied);
    std::vector<RecordedEvent> seen;
    auto visited = store().ScanAll(cases[i], [&](const EventView& v) {
      seen.push_back(RecordedEvent{.id = std::string(v.id),
                                   .stream = std::string(v.stream),
                                   .version = v.version,
                                   .position = v.position,
                                   .type = std::string(v.type),
                                   .data = std::string(v.data),
                                   .metadata = std::string(v.metadata),
                                   .correlation_id = std::string(v.correlation_id),
                                   .causation_id = std::string(v.causation_id),
                                   .recorded_at_us = v.recorded_at_us});
      return true;
    });
    ASSERT_OK(visited);
    EXPECT_EQ(*visited, static_cast<int64_t>(copied->size()));
    ASSERT_EQ(seen.size(), copied->size());
    for (size_t k = 0; k < seen.size(); ++k) {
      const RecordedEvent& a = seen[k];
      const RecordedEvent& b = (*copied)[k];
      EXPECT_EQ(std::tie(a.id, a.stream, a.version, a.position, a.type, a.data, a.metadata,
                         a.correlation_id, a.causation_id, a.recorded_at_us),
                std::tie(b.id, b.stream, b.version, b.position, b.type, b.data, b.metadata,
                         b.correlation_id, b.causation_id, b.recorded_at_us));
    }
  }
  // The last event carries the metadata ids.
  ReadAllOptions last;
  last.from_position = 7;
  std::string correlation;
  ASSERT_OK(store().ScanAll(last, [&](const EventView& v) {
    correlation = std::string(v.correlation_id) + "/" + std::string(v.causation_id);
    return true;
  }));
  EXPECT_EQ(correlation, "c-7/k-7");
}

TEST_P(ReadContractTest, ScanAllStopsWhenTheVisitorSaysSo) {
  MakeLog();
  std::vector<Position> seen;
  auto visited = store().ScanAll({}, [&](const EventView& v) {
    seen.push_back(v.position);
    return seen.size() < 3;
  });
  ASSERT_OK(visited);
  EXPECT_EQ(*visited, 3);
  EXPECT_EQ(seen, (std::vector<Position>{1, 2, 3}));
  ReadAllOptions bad;
  bad.types = {"not a type"};
  ASSERT_ERROR_CODE(store().ScanAll(bad, [](const EventView&) { return true; }), kInvalidArgument);
}

TEST_P(ReadContractTest, StreamInfoAndListing) {
  MakeLog();
  auto info = store().GetStreamInfo("account-1");
  ASSERT_OK(info);
  EXPECT_EQ(info->name, "account-1");
  EXPECT_EQ(info->category, "account");
  EXPECT_EQ(info->version, 2);
  EXPECT_EQ(info->event_count, 3);
  EXPECT_EQ(info->first_position, 1);
  EXPECT_EQ(info->last_position, 6);
  EXPECT_GT(info->last_recorded_at_us, 0);
  ASSERT_ERROR_CODE(store().GetStreamInfo("account-3"), kNotFound);

  auto names = [](const std::vector<StreamInfo>& infos) {
    std::vector<std::string> out;
    for (const StreamInfo& i : infos) out.push_back(i.name);
    return out;
  };
  auto all = store().ListStreams({});
  ASSERT_OK(all);
  EXPECT_EQ(names(*all), (std::vector<std::string>{"account-1", "account-2", "order-1"}));

  ListStreamsOptions by_category;
  by_category.category = "account";
  auto accounts = store().ListStreams(by_category);
  ASSERT_OK(accounts);
  EXPECT_EQ(names(*accounts), (std::vector<std::string>{"account-1", "account-2"}));

  ListStreamsOptions by_prefix;
  by_prefix.prefix = "ord";
  auto orders = store().ListStreams(by_prefix);
  ASSERT_OK(orders);
  EXPECT_EQ(names(*orders), (std::vector<std::string>{"order-1"}));

  ListStreamsOptions paging;
  paging.limit = 2;
  auto page1 = store().ListStreams(paging);
  ASSERT_OK(page1);
  EXPECT_EQ(names(*page1), (std::vector<std::string>{"account-1", "account-2"}));
  paging.after = page1->back().name;
  auto page2 = store().ListStreams(paging);
  ASSERT_OK(page2);
  EXPECT_EQ(names(*page2), (std::vector<std::string>{"order-1"}));

  auto stats = store().Stats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->head_position, 6);
  EXPECT_EQ(stats->event_count, 6);
  EXPECT_EQ(stats->stream_count, 3);
}

TEST_P(ReadContractTest, SnapshotsAreSavedReplacedAndChecked) {
  MakeLog();
  auto none = store().LoadSnapshot("account-1");
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());

  ASSERT_OK(store().SaveSnapshot(
      {.stream = "account-1", .schema_version = 3, .version = 1, .state = R"({"balance":3})"}));
  ASSERT_OK(store().SaveSnapshot(
      {.stream = "account-1", .schema_version = 3, .version = 2, .state = R"({"balance":8})"}));
  // An older snapshot of the same schema arriving late does not replace the newer one.
  ASSERT_OK(store().SaveSnapshot(
      {.stream = "account-1", .schema_version = 3, .version = 0, .state = R"({"balance":0})"}));
  auto got = store().LoadSnapshot("account-1");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->version, 2);
  EXPECT_EQ((*got)->schema_version, 3);
  EXPECT_EQ((*got)->state, R"({"balance":8})");
  EXPECT_GT((*got)->recorded_at_us, 0);

  // A new schema version replaces the snapshot even at a lower version.
  ASSERT_OK(store().SaveSnapshot(
      {.stream = "account-1", .schema_version = 4, .version = 0, .state = R"({"cents":0})"}));
  auto replaced = store().LoadSnapshot("account-1");
  ASSERT_OK(replaced);
  ASSERT_TRUE(replaced->has_value());
  EXPECT_EQ((*replaced)->schema_version, 4);
  EXPECT_EQ((*replaced)->version, 0);

  ASSERT_ERROR_CODE(store().SaveSnapshot({.stream = "account-1", .version = 3, .state = "{}"}),
                    kInvalidArgument);
  ASSERT_ERROR_CODE(store().SaveSnapshot({.stream = "account-9", .version = 0, .state = "{}"}),
                    kInvalidArgument);
  auto stats = store().Stats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->snapshot_count, 1);
}

TEST_P(ReadContractTest, WaitForPositionReturnsAtOnceWhenReached) {
  MakeLog();
  auto head = store().WaitForPosition(6, 0);
  ASSERT_OK(head);
  EXPECT_EQ(*head, 6);
}

TEST_P(ReadContractTest, WaitForPositionIsWokenByACommit) {
  MakeLog();
  std::thread writer([&] {
    NewEvent e;
    e.type = "Late";
    ASSERT_OK(store().Append("late-1", ExpectedVersion::Any(), {&e, 1}));
  });
  auto head = store().WaitForPosition(7, 30'000'000);  // far longer than the append takes
  writer.join();
  ASSERT_OK(head);
  EXPECT_GE(*head, 7);
}

TEST_P(ReadContractTest, WaitForPositionTimesOutNamingTheHead) {
  MakeLog();
  auto r = store().WaitForPosition(100, 20'000);
  ASSERT_ERROR_CODE(r, kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("head position is 6"), std::string::npos)
      << r.status().message();
}

TEST_P(ReadContractTest, CommitListenersSeeEveryCommitUntilRemoved) {
  std::vector<Position> heads;
  const uint64_t id = store().AddCommitListener([&](Position head) { heads.push_back(head); });
  Put("account-1", "A", 0);
  Put("account-2", "B", 1);
  store().RemoveCommitListener(id);
  Put("account-3", "C", 2);
  EXPECT_EQ(heads, (std::vector<Position>{1, 2}));
}

TEST_P(ReadContractTest, CheckFindsAHealthyStore) {
  MakeLog();
  auto report = store().Check();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok()) << report->problems.front();
  EXPECT_EQ(report->head_position, 6);
  EXPECT_EQ(report->events_checked, 6);
  EXPECT_EQ(report->streams_checked, 3);
}

TEST_P(ReadContractTest, DataSurvivesReopenOnDurableBackends) {
  if (!GetParam().durable) GTEST_SKIP() << "memory backend does not persist";
  MakeLog();
  ASSERT_OK(Reopen());
  auto head = store().HeadPosition();
  ASSERT_OK(head);
  EXPECT_EQ(*head, 6);
  auto events = store().ReadStream("order-1", {});
  ASSERT_OK(events);
  EXPECT_EQ(Positions(*events), (std::vector<Position>{3, 5}));
  Put("order-1", "C", 6);  // positions continue densely after reopen
  auto after = store().ReadStream("order-1", {});
  ASSERT_OK(after);
  EXPECT_EQ(after->back().position, 7);
  EXPECT_EQ(after->back().version, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReadContractTest, ::testing::ValuesIn(AllBackends()),
                         BackendName);

}  // namespace
}  // namespace triad::testing
