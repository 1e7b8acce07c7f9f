// Consumer groups on a memory store with a simulated clock: the group lifecycle, filters,
// per-stream order, acks and the checkpoint, nacks with backoff, parking, replay, leases and
// ack timeouts.
//   memory:   the group state in memory (the private SQLite kind).
//   postgres: (when TRIAD_TEST_POSTGRES is set) the state in PostgreSQL, shared by two nodes
//             (two ConsumerGroups on one schema), and every call goes to the other node than the
//             call before: each operation must find the state the other node left.
#include "triad/consumer_groups.h"

#include "testing/pg_test_env.h"
#include "testing/simulated_clock.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "group_test_util.h"

namespace triad::testing {
namespace {

using Positions = std::vector<Position>;

// Sends each call to the next of several nodes in turn.
class AlternatingNodes final : public ConsumerGroups {
 public:
  explicit AlternatingNodes(std::vector<std::unique_ptr<ConsumerGroups>> nodes)
      : nodes_(std::move(nodes)) {}

  Result<bool> Create(std::string_view name, const GroupSettings& settings) override {
    return Next().Create(name, settings);
  }
  Result<GroupInfo> Get(std::string_view name) override { return Next().Get(name); }
  Result<std::vector<GroupInfo>> List() override { return Next().List(); }
  Status Delete(std::string_view name) override { return Next().Delete(name); }
  Result<std::vector<GroupMessage>> Poll(std::string_view group, std::string_view member,
                                         const PollOptions& options) override {
    return Next().Poll(group, member, options);
  }
  Result<int64_t> Ack(std::string_view group, std::string_view member,
                      std::span<const Position> positions) override {
    return Next().Ack(group, member, positions);
  }
  Result<int64_t> Nack(std::string_view group, std::string_view member,
                       std::span<const Position> positions, std::string_view reason,
                       bool park) override {
    return Next().Nack(group, member, positions, reason, park);
  }
  Result<std::vector<ParkedMessage>> ListParked(std::string_view group, Position from_position,
                                                size_t limit) override {
    return Next().ListParked(group, from_position, limit);
  }
  Result<int64_t> ReplayParked(std::string_view group,
                               std::span<const Position> positions) override {
    return Next().ReplayParked(group, positions);
  }
  std::string Describe() const override { return nodes_[0]->Describe(); }

 private:
  ConsumerGroups& Next() { return *nodes_[next_++ % nodes_.size()]; }

  std::vector<std::unique_ptr<ConsumerGroups>> nodes_;
  std::atomic<size_t> next_{0};
};

class ConsumerGroupsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Options options;
    options.clock = &clock_;
    auto store = EventStore::Open(options, "memory:");
    ASSERT_OK(store);
    store_ = std::move(*store);
    if (GetParam() == "postgres") {
      // Tagged, so that a test can end these nodes' sessions only.
      static std::atomic<int> tests{0};
      pg_app_ = "triad-groups-" + std::to_string(::getpid()) + "-" + std::to_string(++tests);
      pg_uri_ = WithApplicationName(FreshPostgresUri("groups"), pg_app_);
    }
    OpenNodes();
  }

  void TearDown() override {
    groups_.reset();
    if (!pg_uri_.empty()) DropPostgresSchema(pg_uri_);
  }

  // (Re)opens the group state: one node in memory, or two nodes on PostgreSQL.
  void OpenNodes() {
    groups_.reset();
    if (pg_uri_.empty()) {
      auto groups = ConsumerGroups::Open(store_.get(), {.clock = &clock_});
      ASSERT_OK(groups);
      groups_ = std::move(*groups);
      return;
    }
    std::vector<std::unique_ptr<ConsumerGroups>> nodes;
    for (int i = 0; i < 2; ++i) {
      auto node = ConsumerGroups::Open(store_.get(), {.uri = pg_uri_, .clock = &clock_});
      ASSERT_OK(node);
      nodes.push_back(std::move(*node));
    }
    groups_ = std::make_unique<AlternatingNodes>(std::move(nodes));
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
  std::string pg_app_;
  std::string pg_uri_;
  std::unique_ptr<ConsumerGroups> groups_;
};

TEST_P(ConsumerGroupsTest, DurationsAndCountsAreBounded) {
  // 9223372036854775 ms, the largest millisecond value whose microseconds fit in 64 bits: before
  // the bounds, deadlines (now + timeout) overflowed and a second member got the same messages.
  constexpr int64_t kHuge = int64_t{9'223'372'036'854'775} * 1000;
  const std::vector<std::pair<GroupSettings, std::string>> refused = {
      {{.ack_timeout_us = kHuge}, "ack_timeout"},
      {{.ack_timeout_us = kMaxGroupDurationUs + 1}, "ack_timeout"},
      {{.member_lease_us = kHuge}, "member_lease"},
      {{.retry_backoff_us = kHuge, .max_retry_backoff_us = kHuge}, "retry_backoff"},
      {{.max_retry_backoff_us = kHuge}, "max_retry_backoff"},
      {{.max_attempts = kMaxGroupAttempts + 1}, "max_attempts must be 1..1000"},
  };
  for (const auto& [settings, mentions] : refused) {
    SCOPED_TRACE(mentions);
    auto created = groups_->Create("bounded", settings);
    ASSERT_ERROR_CODE(created, kInvalidArgument);
    EXPECT_NE(created.status().message().find(mentions), std::string::npos)
        << created.status().message();
    if (mentions != "max_attempts must be 1..1000") {
      EXPECT_NE(created.status().message().find("86400000000 us (at most 24 h)"), std::string::npos)
          << created.status().message();
    }
  }
  EXPECT_ERROR_CODE(groups_->Get("bounded"), kNotFound);
  // The bounds themselves are accepted.
  ASSERT_OK(groups_->Create("bounded", {.max_attempts = kMaxGroupAttempts,
                                        .ack_timeout_us = kMaxGroupDurationUs,
                                        .member_lease_us = kMaxGroupDurationUs,
                                        .retry_backoff_us = kMaxGroupDurationUs,
                                        .max_retry_backoff_us = kMaxGroupDurationUs}));
  auto waited = groups_->Poll("bounded", "w", {.wait_us = kHuge});
  ASSERT_ERROR_CODE(waited, kInvalidArgument);
  EXPECT_NE(waited.status().message().find("wait must be 0..86400000000 us"), std::string::npos)
      << waited.status().message();
}

TEST_P(ConsumerGroupsTest, CreateGetListDelete) {
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

TEST_P(ConsumerGroupsTest, PollValidatesItsArguments) {
  ASSERT_OK(groups_->Create("g", {}));
  EXPECT_ERROR_CODE(groups_->Poll("g", "", {}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Poll("g", "tab\tname", {}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Poll("g", "m", {.max_messages = 0}), kInvalidArgument);
  EXPECT_ERROR_CODE(groups_->Poll("g", "m", {.max_messages = 1001}), kInvalidArgument);
}

TEST_P(ConsumerGroupsTest, FiltersByTypeAndCategoryAndStartPosition) {
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

TEST_P(ConsumerGroupsTest, StreamIsOwnedByOneMemberAtATime) {
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

TEST_P(ConsumerGroupsTest, AckAdvancesTheCheckpointOverTheAckedPrefix) {
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

TEST_P(ConsumerGroupsTest, NackRetriesAfterDoublingBackoffThenParks) {
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

TEST_P(ConsumerGroupsTest, ParkedMessagesAreListedAndReplayed) {
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

TEST_P(ConsumerGroupsTest, NackGivesBackTheLaterMessagesOfItsStream) {
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
  // Taken back before its member could act on it: that delivery was no attempt.
  EXPECT_EQ(again[1].attempt, 1);
}

TEST_P(ConsumerGroupsTest, GivenBackMessagesAreNeverDeliveredBeyondMaxAttempts) {
  AppendOne(*store_, "s-1");  // 1
  AppendOne(*store_, "s-1");  // 2
  ASSERT_OK(groups_->Create(
      "g", {.max_attempts = 2, .retry_backoff_us = 1'000, .max_retry_backoff_us = 1'000}));
  EXPECT_EQ(Poll("m"), (Positions{1, 2}));
  EXPECT_EQ(Nack("m", {1}), 1);  // 2 goes back with 1
  clock_.Advance(1'000);
  auto second = PollMessages("m");
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].attempt, 2);
  EXPECT_EQ(second[1].attempt, 1);
  EXPECT_EQ(Nack("m", {1}), 1);  // 1 is out of attempts: parked; 2 goes back with it
  auto third = PollMessages("m");
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].event.position, 2);
  EXPECT_EQ(third[0].attempt, 1);
  EXPECT_EQ(Nack("m", {2}), 1);
  clock_.Advance(1'000);
  auto last = PollMessages("m");
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].attempt, 2);  // its own second failure parks it: never attempt 3
  EXPECT_EQ(Nack("m", {2}), 1);
  const GroupInfo info = Info();
  EXPECT_EQ(info.parked, 2);
  auto parked = groups_->ListParked("g", 0, 10);
  ASSERT_OK(parked);
  ASSERT_EQ(parked->size(), 2u);
  EXPECT_EQ((*parked)[1].attempts, 2);
}

TEST_P(ConsumerGroupsTest, ExpiredMemberLeaseHandsItsStreamsOver) {
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

TEST_P(ConsumerGroupsTest, AckTimeoutRedelivers) {
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

TEST_P(ConsumerGroupsTest, AckTimeoutParksAfterMaxAttempts) {
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

TEST_P(ConsumerGroupsTest, WaitingPollWakesOnAppend) {
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

TEST_P(ConsumerGroupsTest, WaitingPollReturnsEmptyAtItsDeadline) {
  ASSERT_OK(groups_->Create("g", {}));
  Result<std::vector<GroupMessage>> result = std::vector<GroupMessage>{};
  std::thread poller([&] { result = groups_->Poll("g", "m", {.wait_us = 1'000'000}); });
  while (clock_.waiters() == 0) std::this_thread::yield();
  clock_.Advance(1'000'000);
  poller.join();
  ASSERT_OK(result);
  EXPECT_TRUE(result->empty());
}

TEST_P(ConsumerGroupsTest, WaitingPollWakesWhenARetryIsDue) {
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

// On shared storage everything is stored, leases included: a restarted node (or any other)
// continues with the holders and deadlines where they were, instead of redelivering at once.
TEST_P(ConsumerGroupsTest, SharedStateKeepsLeasesAcrossARestart) {
  if (GetParam() != "postgres") GTEST_SKIP() << "a private store keeps no leases";
  AppendOne(*store_, "s-1");  // 1
  AppendOne(*store_, "s-2");  // 2
  AppendOne(*store_, "s-1");  // 3
  ASSERT_OK(groups_->Create("g", {.ack_timeout_us = 5'000'000, .member_lease_us = 60'000'000}));
  EXPECT_EQ(Poll("a", 1), (Positions{1}));
  EXPECT_EQ(Nack("a", {1}), 1);  // retrying: due in 1 s
  EXPECT_EQ(Poll("b", 1), (Positions{2}));
  OpenNodes();
  // Stream s-1 waits for its retry, s-2 is held by b: nothing for c.
  EXPECT_EQ(Poll("c"), (Positions{}));
  GroupInfo info = Info();
  EXPECT_EQ(info.in_flight, 1);
  EXPECT_EQ(info.retrying, 1);
  ASSERT_EQ(info.members.size(), 3u);
  EXPECT_EQ(info.members[1].name, "b");
  EXPECT_EQ(info.members[1].streams, std::vector<std::string>{"s-2"});
  clock_.Advance(1'000'000);
  auto again = PollMessages("c");
  ASSERT_EQ(again.size(), 2u);  // the retry of 1, then 3 behind it
  EXPECT_EQ(again[0].event.position, 1);
  EXPECT_EQ(again[0].attempt, 2);
  EXPECT_EQ(again[1].event.position, 3);
  EXPECT_EQ(Ack("b", {2}), 1);
  EXPECT_EQ(Ack("c", {1, 3}), 2);
  info = Info();
  EXPECT_EQ(info.checkpoint, 3);
  EXPECT_EQ(info.in_flight, 0);
}

// Two nodes polling for the same member at once, and other members on each: no message is
// handed out twice while held, and each stream has one owner across both nodes.
TEST_P(ConsumerGroupsTest, ConcurrentPollsOnTwoNodesNeverShareAMessage) {
  constexpr int kStreams = 8;
  constexpr int kPerStream = 25;
  for (int i = 0; i < kPerStream; ++i) {
    for (int s = 0; s < kStreams; ++s) AppendOne(*store_, "s-" + std::to_string(s));
  }
  ASSERT_OK(groups_->Create("g", {}));
  std::mutex mu;
  std::map<Position, int> deliveries;
  std::map<std::string, std::set<std::string>> owners;  // stream -> members that held it
  std::vector<std::thread> members;
  for (int m = 0; m < 4; ++m) {
    members.emplace_back([&, m] {
      const std::string name = "m" + std::to_string(m);
      for (int round = 0; round < 40; ++round) {
        auto batch = groups_->Poll("g", name, {.max_messages = 5});
        ASSERT_OK(batch);
        std::lock_guard lock(mu);
        for (const GroupMessage& msg : *batch) {
          deliveries[msg.event.position]++;
          owners[msg.event.stream].insert(name);
        }
      }
    });
  }
  for (std::thread& t : members) t.join();
  // Nothing was acked and no lease or timeout passed (the clock stood still): every message was
  // handed out at most once, and every stream stayed with the member that first took it.
  for (const auto& [position, count] : deliveries) EXPECT_EQ(count, 1) << "position " << position;
  for (const auto& [stream, who] : owners) EXPECT_EQ(who.size(), 1u) << "stream " << stream;
  EXPECT_EQ(Info().in_flight, static_cast<int64_t>(deliveries.size()));
}

// PostgreSQL restarted or the sessions cut between calls: a call fails at most once (with
// kUnavailable: its outcome unknown), the nodes reconnect, and everything acknowledged before
// stays; a retried ack of a message whose first ack did land is ignored, never doubled.
TEST_P(ConsumerGroupsTest, KilledSessionsLoseNothingAcknowledged) {
  if (GetParam() != "postgres") GTEST_SKIP() << "no sessions to end";
  for (int i = 0; i < 6; ++i) AppendOne(*store_, "s-" + std::to_string(i));
  ASSERT_OK(groups_->Create("g", {}));
  EXPECT_EQ(Poll("a", 3), (Positions{1, 2, 3}));
  EXPECT_EQ(Ack("a", {1, 2}), 2);
  ASSERT_GE(TerminatePostgresSessions(pg_uri_, pg_app_), 2);  // both nodes' group sessions
  // Each call is retried once when it reports an unknown outcome, as a client would.
  auto retried = [&](auto call) {
    auto first = call();
    if (!first.ok()) {
      EXPECT_EQ(first.status().code(), StatusCode::kUnavailable) << first.status().message();
      return call();
    }
    return first;
  };
  auto acked = retried([&] { return groups_->Ack("g", "a", Positions{3}); });
  ASSERT_OK(acked);
  EXPECT_LE(*acked, 1);
  auto batch = retried([&] { return groups_->Poll("g", "b", {.max_messages = 10}); });
  ASSERT_OK(batch);
  EXPECT_EQ(PositionsOf(*batch), (Positions{4, 5, 6}));
  ASSERT_GE(TerminatePostgresSessions(pg_uri_, pg_app_), 1);
  auto info = retried([&] { return groups_->Get("g"); });
  ASSERT_OK(info);
  EXPECT_EQ(info->checkpoint, 3);  // 1..3 acked, and only those
  EXPECT_EQ(info->in_flight, 3);
  EXPECT_EQ(Ack("b", {4, 5, 6}), 3);
  EXPECT_EQ(Info().checkpoint, 6);
}

// Another node's ack wakes a poll waiting on this node at once (its NOTIFY). The simulated clock
// never moves here, so without the push the poll would wait for ever; the guard ends it after
// 20 s of real time, and the test fails.
TEST_P(ConsumerGroupsTest, AnotherNodesAckWakesAWaitingPoll) {
  if (GetParam() != "postgres") GTEST_SKIP() << "one node";
  AppendOne(*store_, "s-1");  // 1
  AppendOne(*store_, "s-1");  // 2
  ASSERT_OK(groups_->Create("g", {}));
  auto a = ConsumerGroups::Open(store_.get(), {.uri = pg_uri_, .clock = &clock_});
  ASSERT_OK(a);
  auto b = ConsumerGroups::Open(store_.get(), {.uri = pg_uri_, .clock = &clock_});
  ASSERT_OK(b);
  ASSERT_OK(groups_->Create("h", {}));
  auto first = (*a)->Poll("g", "m1", {.max_messages = 1});
  ASSERT_OK(first);
  ASSERT_EQ(PositionsOf(*first), (Positions{1}));

  // m2 waits on node a: 2 is behind 1, which m1 holds.
  Result<std::vector<GroupMessage>> waited = std::vector<GroupMessage>{};
  std::atomic<bool> done{false};
  std::thread poller([&] {
    waited = (*a)->Poll("g", "m2", {.wait_us = 60'000'000});
    done = true;
  });
  while (clock_.waiters() == 0) std::this_thread::yield();
  auto acked = (*b)->Ack("g", "m1", Positions{1});
  ASSERT_OK(acked);
  EXPECT_EQ(*acked, 1);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto nudge = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!done && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (std::chrono::steady_clock::now() > nudge) {
      // Node a's listener opens its LISTEN session in the background, and a notify sent before
      // that is lost: any later commit on node b (here, on another group) must wake the poll.
      EXPECT_OK((*b)->Poll("h", "nudge", {}));
      nudge += std::chrono::seconds(2);
    }
  }
  const bool woken = done;
  if (!woken) clock_.Advance(61'000'000);  // ends the poll
  poller.join();
  EXPECT_TRUE(woken) << "the poll on node a was not woken by node b's ack";
  ASSERT_OK(waited);
  EXPECT_EQ(PositionsOf(*waited), (Positions{2}));
}

std::vector<std::string> Storages() {
  std::vector<std::string> out = {"memory"};
  if (PostgresTestUrl()) out.push_back("postgres");
  return out;
}

INSTANTIATE_TEST_SUITE_P(Storage, ConsumerGroupsTest, ::testing::ValuesIn(Storages()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace triad::testing
