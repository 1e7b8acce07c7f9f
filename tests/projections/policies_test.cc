// Error policies: stop (faulted before the failing event), skip (recorded), dead letter (parked,
// listed, replayed), and handlers that throw.
#include <atomic>
#include <stdexcept>

#include "engine_fixture.h"

namespace triad::testing {
namespace {

class PoliciesTest : public EngineTest {
 protected:
  // A counter that refuses events whose data has "bad": true until accept_bad_ is set; with
  // throw_, it throws instead of returning an error.
  ProjectionDefinition Picky(ErrorPolicy policy) {
    ProjectionDefinition def = CounterProjection();
    def.error_policy = policy;
    auto inner = def.on_event;
    def.on_event = [this, inner](const EventView& e, ProjectionContext& ctx) -> Status {
      // Write first, so that a failure must be rolled back.
      auto doc = ctx.Upsert("counters", std::string(e.stream));
      if (!doc.ok()) return doc.status();
      (**doc)["touched"] = true;
      if (nlohmann::json::parse(e.data).value("bad", false) && !accept_bad_.load()) {
        if (throw_) throw std::runtime_error("boom at " + std::to_string(e.position));
        return InvalidArgumentError("bad event at " + std::to_string(e.position));
      }
      (**doc).erase("touched");
      return inner(e, ctx);
    };
    return def;
  }

  // 20 deposits with the 11th (position 11) bad, in acct-0 and acct-1 alternately.
  Position AppendWithBadEvent() {
    Position bad = 0;
    for (int i = 1; i <= 20; ++i) {
      nlohmann::json data = {{"amount", i}};
      if (i == 11) data["bad"] = true;
      const Position p = Append("acct-" + std::to_string(i % 2), "Deposited", data);
      if (i == 11) bad = p;
    }
    return bad;
  }

  // The counter fold without the event at `skipped`.
  void ExpectFoldWithout(Position skipped) {
    auto log = Log();
    std::erase_if(log, [&](const RecordedEvent& e) { return e.position == skipped; });
    const auto fold = FoldCounters(log, Head());
    for (const auto& [stream, f] : fold) {
      const auto body = Body("counters", stream);
      EXPECT_EQ(body["count"], f.count) << stream;
      EXPECT_EQ(body["sum"], f.sum) << stream;
      EXPECT_FALSE(body.contains("touched")) << stream;
    }
  }

  std::atomic<bool> accept_bad_{false};
  bool throw_ = false;
};

TEST_F(PoliciesTest, StopFaultsBeforeTheFailingEventAndResumeRetriesIt) {
  const Position bad = AppendWithBadEvent();
  ASSERT_OK(engine_->Register(Picky(ErrorPolicy::kStop)));
  auto run = engine_->RunOnce("counter");
  ASSERT_ERROR_CODE(run, kInvalidArgument);
  EXPECT_NE(run.status().message().find("bad event at 11"), std::string::npos)
      << run.status().ToString();

  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kFaulted);
  EXPECT_EQ(status->checkpoint, bad - 1);
  EXPECT_EQ(status->last_error_position, bad);
  EXPECT_EQ(status->last_error, "bad event at 11");
  ExpectCountersMatchFold(bad - 1);
  EXPECT_ERROR_CODE(engine_->RunOnce("counter"), kFailedPrecondition);
  EXPECT_ERROR_CODE(engine_->WaitForCheckpoint("counter", Head(), 0), kFailedPrecondition);

  // Resume retries the same event: still bad, faulted again at the same place.
  ASSERT_OK(engine_->Resume("counter"));
  ASSERT_ERROR_CODE(engine_->RunOnce("counter"), kInvalidArgument);
  ExpectCountersMatchFold(bad - 1);

  accept_bad_ = true;
  ASSERT_OK(engine_->Resume("counter"));
  auto checkpoint = engine_->RunOnce("counter");
  ASSERT_OK(checkpoint);
  EXPECT_EQ(*checkpoint, Head());
  ExpectCountersMatchFold(Head());
  status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kCaughtUp);
}

TEST_F(PoliciesTest, ThrowingHandlerIsCaughtAsAFailure) {
  throw_ = true;
  const Position bad = AppendWithBadEvent();
  ASSERT_OK(engine_->Register(Picky(ErrorPolicy::kStop)));
  ASSERT_OK(engine_->Start());
  // The worker faults: the wait fails at once rather than timing out.
  EXPECT_ERROR_CODE(engine_->WaitForCheckpoint("counter", Head(), 1'000'000'000),
                    kFailedPrecondition);
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kFaulted);
  EXPECT_EQ(status->checkpoint, bad - 1);
  EXPECT_NE(status->last_error.find("boom at 11"), std::string::npos) << status->last_error;
  ExpectCountersMatchFold(bad - 1);
}

TEST_F(PoliciesTest, SkipRecordsTheEventAndGoesOn) {
  const Position bad = AppendWithBadEvent();
  ASSERT_OK(engine_->Register(Picky(ErrorPolicy::kSkip)));
  auto checkpoint = engine_->RunOnce("counter");
  ASSERT_OK(checkpoint);
  EXPECT_EQ(*checkpoint, Head());
  ExpectFoldWithout(bad);
  auto letters = engine_->ListDeadLetters("counter");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  const DeadLetter& l = (*letters)[0];
  EXPECT_EQ(l.kind, DeadLetterKind::kSkipped);
  EXPECT_EQ(l.position, bad);
  EXPECT_EQ(l.stream, "acct-1");
  EXPECT_EQ(l.stream_version, 5);
  EXPECT_EQ(l.event_type, "Deposited");
  EXPECT_EQ(l.error, "bad event at 11");
  EXPECT_EQ(l.attempts, 1);
  EXPECT_EQ(l.projection, "counter");
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kCaughtUp);
  EXPECT_EQ(status->dead_letters, 1);
  EXPECT_EQ(status->last_error_position, bad);
  EXPECT_EQ(status->error_policy, "skip");
}

TEST_F(PoliciesTest, SkipGetsAFaultedProjectionPastItsEventAsADeadLetter) {
  const Position bad = AppendWithBadEvent();
  ASSERT_OK(engine_->Register(Picky(ErrorPolicy::kStop)));
  // Nothing to skip before a fault.
  EXPECT_ERROR_CODE(engine_->Skip("counter"), kFailedPrecondition);
  ASSERT_ERROR_CODE(engine_->RunOnce("counter"), kInvalidArgument);

  ASSERT_OK(engine_->Skip("counter"));
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_NE(status->state, ProjectionState::kFaulted);
  EXPECT_EQ(status->checkpoint, bad);
  EXPECT_EQ(status->dead_letters, 1);
  auto letters = engine_->ListDeadLetters("counter");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  const DeadLetter& l = (*letters)[0];
  EXPECT_EQ(l.kind, DeadLetterKind::kSkipped);
  EXPECT_EQ(l.position, bad);
  EXPECT_EQ(l.stream, "acct-1");
  EXPECT_EQ(l.stream_version, 5);
  EXPECT_EQ(l.event_type, "Deposited");
  EXPECT_EQ(l.error, "bad event at 11");

  // It goes on from there, without a new version: everything but the skipped event.
  auto checkpoint = engine_->RunOnce("counter");
  ASSERT_OK(checkpoint);
  EXPECT_EQ(*checkpoint, Head());
  ExpectFoldWithout(bad);
  EXPECT_ERROR_CODE(engine_->Skip("counter"), kFailedPrecondition);
  EXPECT_ERROR_CODE(engine_->Skip("nope"), kNotFound);
  // The dead letter can be replayed once the handler accepts it.
  accept_bad_ = true;
  auto replayed = engine_->ReplayDeadLetters("counter");
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 1);
  ExpectCountersMatchFold(Head());
}

TEST_F(PoliciesTest, DeadLettersAreParkedListedAndReplayed) {
  const Position bad = AppendWithBadEvent();
  ASSERT_OK(engine_->Register(Picky(ErrorPolicy::kDeadLetter)));
  ASSERT_OK(engine_->RunOnce("counter"));
  ExpectFoldWithout(bad);
  auto letters = engine_->ListDeadLetters("counter");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].kind, DeadLetterKind::kParked);
  EXPECT_EQ((*letters)[0].position, bad);

  // Replay that fails again: kept, with attempts + 1.
  auto replayed = engine_->ReplayDeadLetters("counter");
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 0);
  letters = engine_->ListDeadLetters("counter");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].attempts, 2);
  ExpectFoldWithout(bad);
  EXPECT_ERROR_CODE(engine_->ReplayDeadLetters("counter", bad + 1), kNotFound);

  accept_bad_ = true;
  replayed = engine_->ReplayDeadLetters("counter", bad);
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 1);
  letters = engine_->ListDeadLetters("counter");
  ASSERT_OK(letters);
  EXPECT_TRUE(letters->empty());
  // The event is now applied: the documents equal the full fold (the replayed event is older
  // than the document's last event, so _meta keeps the newest position).
  ExpectCountersMatchFold(Head());
}

}  // namespace
}  // namespace triad::testing
