// Consumer groups on a memory store with a simulated clock: the group lifecycle, filters,
// per-stream order, acks and the checkpoint, nacks with backoff, parking, replay, leases and
// ack timeouts.
#include "triad/consumer_groups.h"

#include "testing/simulated_clock.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "group_test_util.h"

namespace triad::testing {
namespace {

using Positions = std::vector<Position>;

class ConsumerGroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.clock = &clock_;
    auto store = EventStore::Open(options, "memory:");
    ASSERT_OK(store);
    store_ = std::move(*store);
    auto groups = ConsumerGroups::Open(store_.get(), {.clock = &clock_});
    ASSERT_OK(groups);
    groups_ = std::move(*groups);
  }

  Positions Poll(const std::string& member, size_t max = 10, const std::string& group = "g") {
    auto batch = groups_->Poll(group, member, {.max_messages = max});
    EXPECT_OK(batch);
    return batch.ok() ? PositionsOf(*batch) : Positions{};
  }
  std::vector<GroupMessage> PollMessages(const std::string& member, size_t max = 10) {
    auto batch = groups_->Poll("g", member, {.max_messages = max});
    EXPECT_OK(batch);
    return batch.ok() ? *batch : std::vector<GroupMessage>{};
  }
  int64_t Ack(const std::string& member, const Positions& positions) {
    auto acked = groups_->Ack("g", member, positions);
    EXPECT_OK(acked);
    return acked.ok() ? *acked : -1;
  }
  int64_t Nack(const std::string& member, const Positions& positions, bool park = false) {
    auto nacked = groups_->Nack("g", member, positions, "boom", park);
    EXPECT_OK(nacked);
    return nacked.ok() ? *nacked : -1;
  }
  GroupInfo Info() {
    auto info = groups_->Get("g");
    EXPECT_OK(info);
    return info.ok() ? *info : GroupInfo{};
  }

  SimulatedClock clock_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ConsumerGroups> groups_;
};

TEST_F(ConsumerGroupsTest, CreateGetListDelete) {
  GroupSettings settings{.categories = {"acct"}, .max_attempts = 3};
  auto created = groups_->Create("g", settings);
  ASSERT_OK(created);
  EXPECT_TRUE(*created);
  auto again = groups_->Create("g", settings);
  ASSERT_OK(again);
  EXPECT_FALSE(*again);
  EXPECT_ERROR_CODE(groups_->Create("g", GroupSettings{.max_attempts = 4}), kAlreadyExists);
  EXPECT_ERROR_CODE(groups_->Create("9bad", {}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Create("Upper", {}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Create("h", GroupSettings{.max_attempts = 0}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Create("h", GroupSettings{.event_types = {"\xff"}}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Create("h", GroupSettings{.categories = {""}}), kInvalidArgument);
  EXPECT_ERROR_CODE(
      groups_->Create("h", GroupSettings{.retry_backoff_us = 10, .max_retry_backoff_us = 5}),
      kInvalidArgument);
  // Equal settings compare as sets, and start_position 0 is 1.
  ASSERT_OK(groups_->Create("sets", {.event_types = {"B", "A"}, .start_position = 0}));
  auto same = groups_->Create("sets", {.event_types = {"A", "B", "A"}, .start_position = 1});
  ASSERT_OK(same);
  EXPECT_FALSE(*same);
  ASSERT_OK(groups_->Delete("sets"));
  ASSERT_OK(groups_->Create("other", {}));

  AppendOne(*store_, "acct-1");
  const GroupInfo info = Info();
  EXPECT_EQ(info.name, "g");
  EXPECT_EQ(info.settings.categories, std::vector<std::string>{"acct"});
  EXPECT_EQ(info.settings.max_attempts, 3);
  EXPECT_EQ(info.settings.start_position, 1);
  EXPECT_EQ(info.checkpoint, 0);
  EXPECT_EQ(info.head_position, 1);
  EXPECT_EQ(info.created_at_us, clock_.NowMicros());
  EXPECT_TRUE(info.members.empty());

  auto list = groups_->List();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "g");
  EXPECT_EQ((*list)[1].name, "other");

  ASSERT_OK(groups_->Delete("g"));
  EXPECT_ERROR_CODE(groups_->Get("g"), kNotFound);
  EXPECT_ERROR_CODE(groups_->Delete("g"), kNotFound);
  EXPECT_ERROR_CODE(groups_->Poll("g", "m", {}), kNotFound);
  EXPECT_ERROR_CODE(groups_->Ack("g", "m", Positions{1}), kNotFound);
  // A new group of the same name starts afresh.
  ASSERT_OK(groups_->Create("g", {}));
  EXPECT_EQ(Poll("m"), (Positions{1}));
}

TEST_F(ConsumerGroupsTest, PollValidatesItsArguments) {
  ASSERT_OK(groups_->Create("g", {}));
  EXPECT_ERROR_CODE(groups_->Poll("g", "", {}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Poll("g", "tab\tname", {}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Poll("g", "m", {.max_messages = 0}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Poll("g", "m", {.max_messages = 1001}), kInvalidArgument);
}

TEST_F(ConsumerGroupsTest, FiltersByTypeAndCategoryAndStartPosition) {
  AppendOne(*store_, "acct-1", "Opened");     // 1
  AppendOne(*store_, "acct-1", "Deposited");  // 2
  AppendOne(*store_, "user-1", "Opened");     // 3
  AppendOne(*store_, "acct-2", "Opened");     // 4
  AppendOne(*store_, "acct-2", "Closed");     // 5
  ASSERT_OK(groups_->Create("g", {.event_types = {"Opened", "Closed"}, .categories = {"acct"}}));
  ASSERT_OK(groups_->Create("late", {.start_position = 4}));
  EXPECT_EQ(Poll("m"), (Positions{1, 4, 5}));
  EXPECT_EQ(Poll("m", 10, "late"), (Positions{4, 5}));
  EXPECT_EQ(Ack("m", {1, 4, 5}), 3);
  // The checkpoint passes the events the filter skips, up to the head.
  EXPECT_EQ(Info().checkpoint, 5);
}

TEST_F(ConsumerGroupsTest, StreamIsOwnedByOneMemberAtATime) {
  AppendOne(*store_, "s-1");  // 1
  AppendOne(*store_, "s-1");  // 2
  AppendOne(*store_, "t-1");  // 3
  ASSERT_OK(groups_->Create("g", {}));
  EXPECT_EQ(Poll("a", 1), (Positions{1}));
  // b never gets s-1's later message while a holds its earlier one.
  EXPECT_EQ(Poll("b"), (Positions{3}));
  EXPECT_EQ(Poll("b"), (Positions{}));
  // The owner may take the stream's next message.
  EXPECT_EQ(Poll("a"), (Positions{2}));
  GroupInfo info = Info();
  ASSERT_EQ(info.members.size(), 2u);
  EXPECT_EQ(info.members[0].name, "a");
  EXPECT_EQ(info.members[0].in_flight, 2);
  EXPECT_EQ(info.members[0].streams, std::vector<std::string>{"s-1"});
  EXPECT_EQ(info.members[1].streams, std::vector<std::string>{"t-1"});
  EXPECT_EQ(info.in_flight, 3);
  EXPECT_EQ(Ack("a", {1, 2}), 2);
  // Released: the stream's next message may go to anyone.
  AppendOne(*store_, "s-1");  // 4
  EXPECT_EQ(Poll("b"), (Positions{4}));
}

TEST_F(ConsumerGroupsTest, AckAdvancesTheCheckpointOverTheAckedPrefix) {
  for (int i = 0; i < 3; ++i) AppendOne(*store_, "s-" + std::to_string(i));
  ASSERT_OK(groups_->Create("g", {}));
  EXPECT_EQ(Poll("m"), (Positions{1, 2, 3}));
  EXPECT_EQ(Ack("m", {2}), 1);
  EXPECT_EQ(Info().checkpoint, 0);
  EXPECT_EQ(Ack("m", {1}), 1);
  EXPECT_EQ(Info().checkpoint, 2);
  // Positions it does not hold are ignored and not counted.
  EXPECT_EQ(Ack("m", {1, 2, 99}), 0);
  EXPECT_EQ(Ack("other", {3}), 0);
  EXPECT_EQ(Ack("m", {3, 3}), 1);
  const GroupInfo info = Info();
  EXPECT_EQ(info.checkpoint, 3);
  EXPECT_EQ(info.in_flight, 0);
  EXPECT_EQ(Poll("m"), (Positions{}));
}

TEST_F(ConsumerGroupsTest, NackRetriesAfterDoublingBackoffThenParks) {
  AppendOne(*store_, "s-1");  // 1
  AppendOne(*store_, "s-1");  // 2
  ASSERT_OK(groups_->Create(
      "g", {.max_attempts = 3, .retry_backoff_us = 1'000'000, .max_retry_backoff_us = 1'500'000}));
  auto first = PollMessages("m", 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].event.position, 1);
  EXPECT_EQ(first[0].attempt, 1);
  EXPECT_EQ(Nack("m", {1}), 1);
  EXPECT_EQ(Info().retrying, 1);
  // Retrying blocks its stream: 2 is not handed out before 1.
  EXPECT_EQ(Poll("m"), (Positions{}));
  clock_.Advance(999'999);
  EXPECT_EQ(Poll("m"), (Positions{}));
  clock_.Advance(1);
  auto second = PollMessages("m", 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].event.position, 1);
  EXPECT_EQ(second[0].attempt, 2);
  EXPECT_EQ(Nack("m", {1}), 1);
  clock_.Advance(1'499'999);  // 2 s doubled, capped at 1.5 s
  EXPECT_EQ(Poll("m"), (Positions{}));
  clock_.Advance(1);
  auto third = PollMessages("m", 1);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].attempt, 3);
  const int64_t parked_at = clock_.NowMicros();
  EXPECT_EQ(Nack("m", {1}), 1);  // attempts used up: parked

  auto parked = groups_->ListParked("g", 0, 100);
  ASSERT_OK(parked);
  ASSERT_EQ(parked->size(), 1u);
  EXPECT_EQ((*parked)[0].position, 1);
  EXPECT_EQ((*parked)[0].stream, "s-1");
  EXPECT_EQ((*parked)[0].type, "Happened");
  EXPECT_EQ((*parked)[0].attempts, 3);
  EXPECT_EQ((*parked)[0].last_error, "boom");
  EXPECT_EQ((*parked)[0].parked_at_us, parked_at);
  // A parked message no longer blocks its stream, and counts as done for the checkpoint.
  EXPECT_EQ(Poll("m"), (Positions{2}));
  EXPECT_EQ(Ack("m", {2}), 1);
  GroupInfo info = Info();
  EXPECT_EQ(info.checkpoint, 2);
  EXPECT_EQ(info.parked, 1);
  EXPECT_EQ(info.retrying, 0);
}

TEST_F(ConsumerGroupsTest, ParkedMessagesAreListedAndReplayed) {
  for (int i = 0; i < 3; ++i) AppendOne(*store_, "s-" + std::to_string(i));
  ASSERT_OK(groups_->Create("g", {}));
  EXPECT_EQ(Poll("m"), (Positions{1, 2, 3}));
  EXPECT_EQ(Nack("m", {1, 3}, /*park=*/true), 2);
  EXPECT_EQ(Ack("m", {2}), 1);
  EXPECT_EQ(Info().checkpoint, 3);
  auto from2 = groups_->ListParked("g", 2, 10);
  ASSERT_OK(from2);
  ASSERT_EQ(from2->size(), 1u);
  EXPECT_EQ((*from2)[0].position, 3);
  auto limited = groups_->ListParked("g", 0, 1);
  ASSERT_OK(limited);
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].position, 1);

  auto replayed = groups_->ReplayParked("g", Positions{3, 42});
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 1);
  auto messages = PollMessages("m");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].event.position, 3);
  EXPECT_EQ(messages[0].attempt, 1);  // a fresh attempt count
  EXPECT_EQ(Info().parked, 1);
  EXPECT_EQ(Ack("m", {3}), 1);
  auto all = groups_->ReplayParked("g", {});
  ASSERT_OK(all);
  EXPECT_EQ(*all, 1);
  EXPECT_EQ(Poll("m"), (Positions{1}));
  EXPECT_EQ(Ack("m", {1}), 1);
  const GroupInfo info = Info();
  EXPECT_EQ(info.parked, 0);
  EXPECT_EQ(info.checkpoint, 3);
  EXPECT_EQ(Poll("m"), (Positions{}));
}

TEST_F(ConsumerGroupsTest, NackGivesBackTheLaterMessagesOfItsStream) {
  AppendOne(*store_, "s-1");  // 1
  AppendOne(*store_, "s-1");  // 2
  ASSERT_OK(groups_->Create("g", {.retry_backoff_us = 1'000}));
  EXPECT_EQ(Poll("m"), (Positions{1, 2}));
  EXPECT_EQ(Nack("m", {1}), 1);
  // 2 went back with 1: acting on it before 1 is retried would break the stream's order.
  EXPECT_EQ(Ack("m", {2}), 0);
  clock_.Advance(1'000);
  auto again = PollMessages("other");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].event.position, 1);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(again[1].event.position, 2);
  EXPECT_EQ(again[1].attempt, 2);
}

TEST_F(ConsumerGroupsTest, ExpiredMemberLeaseHandsItsStreamsOver) {
  AppendOne(*store_, "s-1");  // 1
  AppendOne(*store_, "s-1");  // 2
  ASSERT_OK(groups_->Create("g", {.member_lease_us = 10'000'000}));
  EXPECT_EQ(Poll("a", 1), (Positions{1}));
  EXPECT_EQ(Poll("b"), (Positions{}));
  clock_.Advance(9'999'999);
  EXPECT_EQ(Poll("b"), (Positions{}));
  clock_.Advance(1);
  auto taken = PollMessages("b");
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].event.position, 1);
  EXPECT_EQ(taken[0].attempt, 2);  // the attempt count was kept
  EXPECT_EQ(taken[1].event.position, 2);
  EXPECT_EQ(taken[1].attempt, 1);
  // The gone member's late ack is ignored.
  EXPECT_EQ(Ack("a", {1}), 0);
  const GroupInfo info = Info();
  ASSERT_EQ(info.members.size(), 1u);
  EXPECT_EQ(info.members[0].name, "b");
  EXPECT_EQ(info.members[0].in_flight, 2);
  EXPECT_EQ(info.members[0].streams, std::vector<std::string>{"s-1"});
  EXPECT_EQ(Ack("b", {1, 2}), 2);
  EXPECT_EQ(Info().checkpoint, 2);
}

TEST_F(ConsumerGroupsTest, AckTimeoutRedelivers) {
  AppendOne(*store_, "s-1");
  ASSERT_OK(groups_->Create("g", {.ack_timeout_us = 5'000'000, .member_lease_us = 60'000'000}));
  EXPECT_EQ(Poll("a"), (Positions{1}));
  clock_.Advance(4'999'999);
  EXPECT_EQ(Poll("b"), (Positions{}));
  clock_.Advance(1);
  auto again = PollMessages("b");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(Ack("a", {1}), 0);
  EXPECT_EQ(Ack("b", {1}), 1);
}

TEST_F(ConsumerGroupsTest, AckTimeoutParksAfterMaxAttempts) {
  AppendOne(*store_, "s-1");
  ASSERT_OK(groups_->Create("g", {.max_attempts = 1, .ack_timeout_us = 1'000}));
  EXPECT_EQ(Poll("a"), (Positions{1}));
  clock_.Advance(1'000);
  EXPECT_EQ(Poll("a"), (Positions{}));
  auto parked = groups_->ListParked("g", 0, 10);
  ASSERT_OK(parked);
  ASSERT_EQ(parked->size(), 1u);
  EXPECT_EQ((*parked)[0].last_error, "not acknowledged within the ack timeout");
  EXPECT_EQ(Info().checkpoint, 1);
}

TEST_F(ConsumerGroupsTest, WaitingPollWakesOnAppend) {
  ASSERT_OK(groups_->Create("g", {}));
  Result<std::vector<GroupMessage>> result = std::vector<GroupMessage>{};
  std::thread poller([&] { result = groups_->Poll("g", "m", {.wait_us = 60'000'000}); });
  // Whether the append lands before or during the wait, the poll must return it, without the
  // simulated clock moving.
  AppendOne(*store_, "s-1");
  poller.join();
  ASSERT_OK(result);
  EXPECT_EQ(PositionsOf(*result), (Positions{1}));
}

TEST_F(ConsumerGroupsTest, WaitingPollReturnsEmptyAtItsDeadline) {
  ASSERT_OK(groups_->Create("g", {}));
  Result<std::vector<GroupMessage>> result = std::vector<GroupMessage>{};
  std::thread poller([&] { result = groups_->Poll("g", "m", {.wait_us = 1'000'000}); });
  while (clock_.waiters() == 0) std::this_thread::yield();
  clock_.Advance(1'000'000);
  poller.join();
  ASSERT_OK(result);
  EXPECT_TRUE(result->empty());
}

TEST_F(ConsumerGroupsTest, WaitingPollWakesWhenARetryIsDue) {
  AppendOne(*store_, "s-1");
  ASSERT_OK(groups_->Create("g", {.retry_backoff_us = 2'000'000}));
  EXPECT_EQ(Poll("m"), (Positions{1}));
  EXPECT_EQ(Nack("m", {1}), 1);
  Result<std::vector<GroupMessage>> result = std::vector<GroupMessage>{};
  std::thread poller([&] { result = groups_->Poll("g", "m", {.wait_us = 60'000'000}); });
  while (clock_.waiters() == 0) std::this_thread::yield();
  clock_.Advance(2'000'000);
  poller.join();
  ASSERT_OK(result);
  ASSERT_EQ(result->size(), 1u);
  EXPECT_EQ((*result)[0].attempt, 2);
}

}  // namespace
}  // namespace triad::testing
