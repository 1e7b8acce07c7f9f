// Consumer-group state survives a close and reopen on a SQLite store: the checkpoint, acks above
// it, attempt counts and parked messages; in-flight leases do not (those are delivered again).
#include "testing/simulated_clock.h"
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include "triad/consumer_groups.h"
#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "group_test_util.h"

namespace triad::testing {
namespace {

using Positions = std::vector<Position>;

class GroupDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override {
    groups_.reset();
    store_.reset();
  }

  std::string StorePath() const { return (dir_.path() / "store.db").string(); }

  void Reopen() {
    groups_.reset();
    store_.reset();
    Options options;
    options.clock = &clock_;
    auto store = EventStore::Open(options, "sqlite:" + StorePath());
    ASSERT_OK(store);
    store_ = std::move(*store);
    auto groups = ConsumerGroups::Open(store_.get(), {.clock = &clock_});
    ASSERT_OK(groups);
    groups_ = std::move(*groups);
  }

  SimulatedClock clock_;
  triad::testing::TempDir dir_{"triad-groups"};
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ConsumerGroups> groups_;
};

TEST_F(GroupDurabilityTest, StateSurvivesReopen) {
  EXPECT_EQ(groups_->Describe(), "sqlite:" + StorePath() + ".groups");
  AppendOne(*store_, "a-1");  // 1
  AppendOne(*store_, "a-1");  // 2
  AppendOne(*store_, "b-1");  // 3
  AppendOne(*store_, "c-1");  // 4
  AppendOne(*store_, "d-1");  // 5
  ASSERT_OK(groups_->Create("g", {.max_attempts = 3}));
  auto first = groups_->Poll("g", "m", {.max_messages = 10});
  ASSERT_OK(first);
  EXPECT_EQ(PositionsOf(*first), (Positions{1, 2, 3, 4, 5}));
  auto acked = groups_->Ack("g", "m", Positions{1, 3});
  ASSERT_OK(acked);
  EXPECT_EQ(*acked, 2);
  auto parked = groups_->Nack("g", "m", Positions{4}, "bad data", /*park=*/true);
  ASSERT_OK(parked);
  EXPECT_EQ(*parked, 1);

  Reopen();
  auto info = groups_->Get("g");
  ASSERT_OK(info);
  EXPECT_EQ(info->checkpoint, 1);
  EXPECT_EQ(info->parked, 1);
  EXPECT_EQ(info->in_flight, 0);
  EXPECT_EQ(info->settings.max_attempts, 3);
  // Acked (1, 3) and parked (4) messages never come back; 2 and 5 were in flight and do, with
  // their attempt counts kept.
  auto second = groups_->Poll("g", "m", {.max_messages = 10});
  ASSERT_OK(second);
  ASSERT_EQ(PositionsOf(*second), (Positions{2, 5}));
  EXPECT_EQ((*second)[0].attempt, 2);
  EXPECT_EQ((*second)[1].attempt, 2);
  auto listed = groups_->ListParked("g", 0, 10);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].position, 4);
  EXPECT_EQ((*listed)[0].last_error, "bad data");
  EXPECT_EQ((*listed)[0].attempts, 1);

  Reopen();  // the leases of 2 and 5 are lost again; the third delivery is the last one
  auto third = groups_->Poll("g", "m", {.max_messages = 10});
  ASSERT_OK(third);
  ASSERT_EQ(PositionsOf(*third), (Positions{2, 5}));
  EXPECT_EQ((*third)[0].attempt, 3);
  acked = groups_->Ack("g", "m", Positions{2, 5});
  ASSERT_OK(acked);
  EXPECT_EQ(*acked, 2);

  Reopen();
  info = groups_->Get("g");
  ASSERT_OK(info);
  EXPECT_EQ(info->checkpoint, 5);
  auto none = groups_->Poll("g", "m", {.max_messages = 10});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  AppendOne(*store_, "a-1");  // 6
  auto fresh = groups_->Poll("g", "m", {.max_messages = 10});
  ASSERT_OK(fresh);
  ASSERT_EQ(PositionsOf(*fresh), (Positions{6}));
  EXPECT_EQ((*fresh)[0].attempt, 1);
}

TEST_F(GroupDurabilityTest, ReplayingMessagesSurviveReopen) {
  AppendOne(*store_, "a-1");  // 1
  AppendOne(*store_, "b-1");  // 2
  ASSERT_OK(groups_->Create("g", {}));
  ASSERT_OK(groups_->Poll("g", "m", {.max_messages = 10}));
  ASSERT_OK(groups_->Nack("g", "m", Positions{1}, "x", /*park=*/true));
  ASSERT_OK(groups_->Ack("g", "m", Positions{2}));
  auto replayed = groups_->ReplayParked("g", {});
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 1);

  Reopen();
  auto info = groups_->Get("g");
  ASSERT_OK(info);
  EXPECT_EQ(info->checkpoint, 2);
  EXPECT_EQ(info->parked, 0);  // being replayed
  auto again = groups_->Poll("g", "m", {.max_messages = 10});
  ASSERT_OK(again);
  ASSERT_EQ(PositionsOf(*again), (Positions{1}));
  ASSERT_OK(groups_->Ack("g", "m", Positions{1}));

  Reopen();
  auto none = groups_->Poll("g", "m", {.max_messages = 10});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto listed = groups_->ListParked("g", 0, 10);
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->empty());
}

TEST_F(GroupDurabilityTest, ConcurrentAcksAreAllDurable) {
  constexpr int kMembers = 4;
  constexpr int kPerMember = 25;
  for (int i = 0; i < kMembers * kPerMember; ++i) AppendOne(*store_, "s-" + std::to_string(i));
  ASSERT_OK(groups_->Create("g", {}));
  std::vector<std::vector<Position>> held(kMembers);
  for (int m = 0; m < kMembers; ++m) {
    auto batch = groups_->Poll("g", "m" + std::to_string(m), {.max_messages = kPerMember});
    ASSERT_OK(batch);
    ASSERT_EQ(batch->size(), static_cast<size_t>(kPerMember));
    held[static_cast<size_t>(m)] = PositionsOf(*batch);
  }
  // One ack call per message from every member at once: they share commits, and each call
  // returns only when its ack is stored.
  std::vector<std::thread> threads;
  std::atomic<int64_t> acked{0};
  for (int m = 0; m < kMembers; ++m) {
    threads.emplace_back([&, m] {
      for (Position p : held[static_cast<size_t>(m)]) {
        auto r = groups_->Ack("g", "m" + std::to_string(m), std::vector<Position>{p});
        EXPECT_OK(r);
        if (r.ok()) acked += *r;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(acked.load(), kMembers * kPerMember);

  Reopen();
  auto info = groups_->Get("g");
  ASSERT_OK(info);
  EXPECT_EQ(info->checkpoint, kMembers * kPerMember);
  auto none = groups_->Poll("g", "m0", {.max_messages = 10});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(GroupDurabilityTest, DeletedGroupStaysDeleted) {
  ASSERT_OK(groups_->Create("g", {}));
  ASSERT_OK(groups_->Delete("g"));
  Reopen();
  EXPECT_ERROR_CODE(groups_->Get("g"), kNotFound);
}

TEST_F(GroupDurabilityTest, CreateIfMissingFalseCreatesNothing) {
  const std::string path = StorePath() + ".readers";
  auto none =
      ConsumerGroups::Open(store_.get(), {.uri = "sqlite:" + path, .create_if_missing = false});
  EXPECT_ERROR_CODE(none, kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path));
  // An existing file opens as usual.
  ASSERT_OK(ConsumerGroups::Open(store_.get(), {.uri = "sqlite:" + path}));
  ASSERT_OK(
      ConsumerGroups::Open(store_.get(), {.uri = "sqlite:" + path, .create_if_missing = false}));
  std::filesystem::remove(path);
}

TEST_F(GroupDurabilityTest, RefusesAFileThatIsNotAGroupFile) {
  // The store's own file is an SQLite database of another kind.
  auto groups = ConsumerGroups::Open(store_.get(), {.uri = "sqlite:" + StorePath()});
  EXPECT_ERROR_CODE(groups, kDataLoss);
  EXPECT_ERROR_CODE(ConsumerGroups::Open(store_.get(), {.uri = "mysql://x"}), kInvalidArgument);
}

}  // namespace
}  // namespace triad::testing
