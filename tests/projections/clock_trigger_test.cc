// The clock trigger on the simulated clock: no tick before its time, one per interval, ticks
// persisted across restarts, and ticks that write documents.
#include <atomic>

#include "engine_fixture.h"

namespace triad::testing {
namespace {

constexpr int64_t kHour = 3'600'000'000;

class ClockTriggerTest : public EngineTest {
 protected:
  void SetUp() override {
    sqlite_read_model_ = true;
    EngineTest::SetUp();
  }

  // "dormant": one document per account with the time of its last deposit (event time); each
  // hourly tick counts itself in "ticks/clock" and marks accounts idle for 2 hours as dormant.
  ProjectionDefinition Dormant() {
    ProjectionDefinition def;
    def.name = "dormant";
    def.event_types = {"Deposited"};
    def.key = DocumentKey::kStream;
    def.collections = {{"accounts", {{"last_at", IndexType::kNumber}}}, {"ticks", {}}};
    def.on_event = [](const EventView& e, ProjectionContext& ctx) -> Status {
      auto doc = ctx.Upsert("accounts", std::string(e.stream));
      if (!doc.ok()) return doc.status();
      (**doc)["last_at"] = e.recorded_at_us;
      (**doc)["dormant"] = false;
      return Status();
    };
    def.tick_interval_us = kHour;
    def.on_tick = [this](int64_t now, ProjectionContext& ctx) -> Status {
      ++ticks_run_;
      auto tick = ctx.Upsert("ticks", "clock");
      if (!tick.ok()) return tick.status();
      (**tick)["n"] = (**tick).value("n", 0) + 1;
      (**tick)["at"] = now;
      Query idle;
      idle.filters = {{"last_at", FilterOp::kLt, {static_cast<double>(now - 2 * kHour)}}};
      auto found = ctx.Find("accounts", idle);
      if (!found.ok()) return found.status();
      for (const Document& d : *found) {
        auto doc = ctx.Mutate("accounts", d.id);
        if (!doc.ok()) return doc.status();
        (**doc)["dormant"] = true;
      }
      return Status();
    };
    return def;
  }

  // The committed tick count (0 when no tick ran).
  int CommittedTicks() {
    const auto body = Body("ticks", "clock");
    return body.is_null() ? 0 : body.value("n", 0);
  }

  // Waits until the worker has gone back to waiting on the clock.
  void WaitIdle() {
    ASSERT_TRUE(Eventually([&] { return sim_.waiters() >= 1; }));
  }

  std::atomic<int> ticks_run_{0};
};

TEST_F(ClockTriggerTest, OneTickPerIntervalPersistedAcrossRestart) {
  Append("acct-1", "Deposited");
  ASSERT_OK(engine_->Register(Dormant()));
  ASSERT_OK(engine_->Start());
  ASSERT_OK(engine_->WaitForCheckpoint("dormant", Head(), kHour));
  WaitIdle();
  EXPECT_EQ(ticks_run_.load(), 0);
  EXPECT_EQ(CommittedTicks(), 0);

  sim_.Advance(kHour);
  ASSERT_TRUE(Eventually([&] { return CommittedTicks() == 1; }));
  WaitIdle();
  sim_.Advance(kHour / 2);
  WaitIdle();
  EXPECT_EQ(ticks_run_.load(), 1);
  sim_.Advance(kHour / 2);
  ASSERT_TRUE(Eventually([&] { return CommittedTicks() == 2; }));
  WaitIdle();
  EXPECT_EQ(ticks_run_.load(), 2);

  // A restart does not run the tick of this hour again.
  ASSERT_OK(OpenEngine());
  ASSERT_OK(engine_->Register(Dormant()));
  ASSERT_OK(engine_->Start());
  WaitIdle();
  sim_.Advance(kHour / 2);
  WaitIdle();
  EXPECT_EQ(ticks_run_.load(), 2);
  EXPECT_EQ(CommittedTicks(), 2);
  sim_.Advance(kHour / 2);
  ASSERT_TRUE(Eventually([&] { return CommittedTicks() == 3; }));
  EXPECT_EQ(ticks_run_.load(), 3);
}

TEST_F(ClockTriggerTest, TickWritesDocuments) {
  Append("acct-1", "Deposited");
  ASSERT_OK(engine_->Register(Dormant()));
  ASSERT_OK(engine_->Start());
  ASSERT_OK(engine_->WaitForCheckpoint("dormant", Head(), kHour));
  sim_.Advance(kHour);
  ASSERT_TRUE(Eventually([&] { return CommittedTicks() == 1; }));
  WaitIdle();
  // acct-2 deposits now; acct-1's deposit is 1 hour old: neither is dormant yet.
  ASSERT_OK(engine_->WaitForCheckpoint("dormant", Append("acct-2", "Deposited"), kHour));
  EXPECT_EQ(Body("accounts", "acct-1")["dormant"], false);
  sim_.Advance(kHour + 1);
  ASSERT_TRUE(Eventually([&] { return CommittedTicks() == 2; }));
  EXPECT_EQ(Body("accounts", "acct-1")["dormant"], true);
  EXPECT_EQ(Body("accounts", "acct-2")["dormant"], false);
  const auto tick = Body("ticks", "clock");
  EXPECT_EQ(tick["at"], sim_.NowMicros());
  auto read = engine_->Get("ticks", "clock");
  ASSERT_OK(read);
  EXPECT_EQ(read->document->meta.position, 0);  // ticks are not events
}

}  // namespace
}  // namespace triad::testing
