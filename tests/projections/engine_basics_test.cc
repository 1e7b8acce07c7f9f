// The batch engine: documents equal an independent fold, _meta is exact, filters are pushed down,
// and the push and manual triggers run projections when they should.
#include <atomic>
#include <mutex>
#include <random>
#include <set>

#include "engine_fixture.h"

namespace triad::testing {
namespace {

class EngineBasicsTest : public EngineTest {
 protected:
  // 300 events over 10 account streams and a few other streams, seeded.
  void AppendMix(int n = 300) {
    std::mt19937 rng(42);
    for (int i = 0; i < n; ++i) {
      const int pick = static_cast<int>(rng() % 12);
      const int amount = static_cast<int>(rng() % 100);
      if (pick < 10) {
        Append("acct-" + std::to_string(pick), rng() % 4 == 0 ? "Withdrawn" : "Deposited",
               {{"amount", amount}});
      } else {
        Append("other-" + std::to_string(pick), "Deposited", {{"amount", amount}});
      }
    }
  }
};

TEST_F(EngineBasicsTest, DocumentsEqualIndependentFold) {
  AppendMix();
  ASSERT_OK(engine_->Register(CounterProjection()));
  auto checkpoint = engine_->RunOnce("counter");
  ASSERT_OK(checkpoint);
  EXPECT_EQ(*checkpoint, Head());
  ExpectCountersMatchFold(Head());

  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kCaughtUp);
  EXPECT_EQ(status->checkpoint, Head());
  EXPECT_EQ(status->head_position, Head());
  EXPECT_EQ(status->lag_events, 0);
  EXPECT_EQ(status->lag_seconds, 0);
  EXPECT_TRUE(status->serving);
  EXPECT_TRUE(status->registered);
  EXPECT_EQ(status->error_policy, "stop");
  EXPECT_EQ(status->trigger, "push");
  EXPECT_EQ(status->collections, std::vector<std::string>{"counters"});

  auto count = engine_->Count("counters", Query{});
  ASSERT_OK(count);
  EXPECT_EQ(count->count, 10);
  EXPECT_EQ(count->as_of, Head());
  auto read = engine_->Get("counters", "acct-3");
  ASSERT_OK(read);
  EXPECT_EQ(read->as_of, Head());
  auto missing = engine_->Get("counters", "acct-99");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->document.has_value());
  EXPECT_EQ(missing->as_of, Head());
  EXPECT_ERROR_CODE(engine_->Get("nope", "x"), kNotFound);
}

TEST_F(EngineBasicsTest, SmallBatchesApplyEveryEventOnce) {
  AppendMix();
  ProjectionDefinition def = CounterProjection();
  def.batch_size = 7;
  ASSERT_OK(engine_->Register(def));
  auto checkpoint = engine_->RunOnce("counter");
  ASSERT_OK(checkpoint);
  EXPECT_EQ(*checkpoint, Head());
  ExpectCountersMatchFold(Head());
  // Running again at the head changes nothing.
  ASSERT_OK(engine_->RunOnce("counter"));
  ExpectCountersMatchFold(Head());
}

TEST_F(EngineBasicsTest, RunOnceUpToStopsThere) {
  AppendMix(100);
  ASSERT_OK(engine_->Register(CounterProjection()));
  auto checkpoint = engine_->RunOnce("counter", 37);
  ASSERT_OK(checkpoint);
  EXPECT_EQ(*checkpoint, 37);
  ExpectCountersMatchFold(37);
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->lag_events, Head() - 37);
  EXPECT_EQ(status->state, ProjectionState::kRunning);
  // The oldest unprocessed event (position 38) was recorded 5 s ago on the engine's clock.
  sim_.Advance(5'000'000);
  status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_DOUBLE_EQ(status->lag_seconds, 5.0);
}

TEST_F(EngineBasicsTest, FiltersArePushedDownAndCheckpointReachesHead) {
  AppendMix(200);
  // The log ends with events the filter drops: the checkpoint must still reach the head.
  Append("other-1", "Deposited", {{"amount", 1}});
  Append("acct-1", "Withdrawn", {{"amount", 1}});
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> seen;
  ProjectionDefinition def = CounterProjection();
  def.batch_size = 16;
  auto inner = def.on_event;
  def.on_event = [&, inner](const EventView& e, ProjectionContext& ctx) {
    {
      std::lock_guard lock(mu);
      seen.emplace_back(std::string(e.type), std::string(e.stream));
    }
    return inner(e, ctx);
  };
  ASSERT_OK(engine_->Register(def));
  auto checkpoint = engine_->RunOnce("counter");
  ASSERT_OK(checkpoint);
  EXPECT_EQ(*checkpoint, Head());
  int expected = 0;
  for (const auto& e : Log()) expected += (e.type == "Deposited" && CategoryOf(e.stream) == "acct");
  ASSERT_EQ(static_cast<int>(seen.size()), expected);
  for (const auto& [type, stream] : seen) {
    EXPECT_EQ(type, "Deposited");
    EXPECT_EQ(CategoryOf(stream), "acct") << stream;
  }
  ExpectCountersMatchFold(Head());
}

TEST_F(EngineBasicsTest, PushTriggerWakesWorkerOnCommit) {
  ASSERT_OK(engine_->Register(CounterProjection()));
  ASSERT_OK(engine_->Start());
  ASSERT_OK(engine_->Start());  // idempotent
  for (int i = 0; i < 5; ++i) {
    const Position p = Append("acct-1", "Deposited", {{"amount", 10}});
    // The simulated clock never moves: only the commit notification can wake the worker.
    auto reached = engine_->WaitForCheckpoint("counter", p, 1'000'000);
    ASSERT_OK(reached);
    EXPECT_GE(*reached, p);
  }
  EXPECT_EQ(Body("counters", "acct-1")["sum"], 50);
  auto read = engine_->Get("counters", "acct-1", GetOptions{{.min_position = Head()}});
  ASSERT_OK(read);
  EXPECT_EQ(read->as_of, Head());
  engine_->Stop();
  engine_->Stop();  // idempotent
  // Stopped: appends are not projected until Start() again.
  const Position p = Append("acct-1", "Deposited", {{"amount", 1}});
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->checkpoint, p - 1);
  ASSERT_OK(engine_->Start());
  ASSERT_OK(engine_->WaitForCheckpoint("counter", p, 1'000'000));
}

TEST_F(EngineBasicsTest, ManualTriggerRunsOnlyWhenTriggered) {
  ProjectionDefinition manual = CounterProjection();
  manual.trigger = TriggerMode::kManual;
  ASSERT_OK(engine_->Register(manual));
  // A push projection woken by the same commits shows that workers did wake.
  ProjectionDefinition witness = CounterProjection();
  witness.name = "witness";
  witness.collections = {{"witness_counters", {}}};
  witness.on_event = [](const EventView& e, ProjectionContext& ctx) -> Status {
    auto doc = ctx.Upsert("witness_counters", std::string(e.stream));
    return doc.status();
  };
  ASSERT_OK(engine_->Register(witness));
  ASSERT_OK(engine_->Start());
  Position p = 0;
  for (int i = 0; i < 10; ++i) p = Append("acct-" + std::to_string(i % 3), "Deposited");
  ASSERT_OK(engine_->WaitForCheckpoint("witness", p, 1'000'000));
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->checkpoint, 0);
  EXPECT_EQ(status->trigger, "manual");
  ASSERT_OK(engine_->Trigger("counter"));
  ASSERT_OK(engine_->WaitForCheckpoint("counter", p, 1'000'000));
  ExpectCountersMatchFold(p);
}

TEST_F(EngineBasicsTest, TriggerUpToStopsExactlyThereAndPauses) {
  AppendMix(120);
  ASSERT_OK(engine_->Register(CounterProjection()));
  ASSERT_OK(engine_->Trigger("counter", 45));
  ASSERT_OK(engine_->Start());
  ASSERT_OK(engine_->WaitForCheckpoint("counter", 45, 1'000'000));
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->checkpoint, 45);
  EXPECT_EQ(status->state, ProjectionState::kPaused);
  ExpectCountersMatchFold(45);
  // Paused stays paused on new commits.
  Append("acct-1", "Deposited", {{"amount", 5}});
  EXPECT_ERROR_CODE(engine_->RunOnce("counter"), kFailedPrecondition);
  ASSERT_OK(engine_->Resume("counter"));
  ASSERT_OK(engine_->WaitForCheckpoint("counter", Head(), 1'000'000));
  ExpectCountersMatchFold(Head());
}

TEST_F(EngineBasicsTest, PlainTriggerAfterTriggerUpToRunsToTheHeadAgain) {
  AppendMix(120);
  ASSERT_OK(engine_->Register(CounterProjection()));
  ASSERT_OK(engine_->Trigger("counter", 45));
  ASSERT_OK(engine_->Start());
  ASSERT_OK(engine_->WaitForCheckpoint("counter", 45, 1'000'000));
  Append("acct-1", "Deposited", {{"amount", 5}});
  const Position head = Head();
  // "Run now" runs a paused version up to the head of this moment, then it pauses again.
  ASSERT_OK(engine_->Trigger("counter"));
  ASSERT_TRUE(Eventually([&] {
    auto status = engine_->GetStatus("counter");
    return status.ok() && status->checkpoint == head;
  }));
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kPaused);
  ExpectCountersMatchFold(head);
  // At the head already: a trigger leaves it paused where it is.
  ASSERT_OK(engine_->Trigger("counter"));
  status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kPaused);
  EXPECT_EQ(status->checkpoint, head);
}

TEST_F(EngineBasicsTest, RegisterRefusesBadDefinitions) {
  ProjectionDefinition def = CounterProjection();
  def.name = "Bad Name";
  EXPECT_ERROR_CODE(engine_->Register(def), kInvalidArgument);
  def = CounterProjection();
  def.on_event = nullptr;
  EXPECT_ERROR_CODE(engine_->Register(def), kInvalidArgument);
  def = CounterProjection();
  def.collections.clear();
  EXPECT_ERROR_CODE(engine_->Register(def), kInvalidArgument);
  ASSERT_OK(engine_->Register(CounterProjection()));
  EXPECT_ERROR_CODE(engine_->Register(CounterProjection()), kAlreadyExists);
  def = CounterProjection();
  def.name = "thief";
  Status stolen = engine_->Register(def);
  EXPECT_ERROR_CODE(stolen, kInvalidArgument);
  EXPECT_NE(stolen.message().find("counters"), std::string::npos) << stolen.ToString();
  EXPECT_ERROR_CODE(engine_->RunOnce("nope"), kNotFound);
  EXPECT_ERROR_CODE(engine_->GetStatus("nope"), kNotFound);
}

// A multi-stream projection: totals per branch, keyed from event data, deleted when the
// branch's last account closes; "Census" events count branches with ctx.Find, which must see
// the documents written earlier in the same batch.
ProjectionDefinition BranchTotals() {
  ProjectionDefinition def;
  def.name = "branches";
  def.categories = {"acct", "census"};
  def.collections = {{"branches", {{"total", IndexType::kNumber}}}, {"census", {}}};
  def.record_sources = false;
  def.on_event = [](const EventView& e, ProjectionContext& ctx) -> Status {
    const auto data = nlohmann::json::parse(e.data);
    if (e.type == "Census") {
      Query all;
      all.limit = 1000;
      auto found = ctx.Find("branches", all);
      if (!found.ok()) return found.status();
      auto doc = ctx.Upsert("census", "latest");
      if (!doc.ok()) return doc.status();
      (**doc)["branches"] = found->size();
      return Status();
    }
    const std::string branch = data.at("branch");
    if (e.type == "Opened") {
      auto doc = ctx.Upsert("branches", branch);
      if (!doc.ok()) return doc.status();
      (**doc)["open"] = (**doc).value("open", 0) + 1;
      (**doc)["total"] = (**doc).value("total", 0);
    } else if (e.type == "Deposited") {
      auto doc = ctx.Mutate("branches", branch);
      if (!doc.ok()) return doc.status();
      if (*doc == nullptr) return FailedPreconditionError("deposit to unknown branch " + branch);
      (**doc)["total"] = (**doc)["total"].get<int>() + data.at("amount").get<int>();
    } else if (e.type == "Closed") {
      auto doc = ctx.Get("branches", branch);
      if (!doc.ok()) return doc.status();
      if (*doc == nullptr) return FailedPreconditionError("close in unknown branch " + branch);
      if ((**doc)["open"] == 1) return ctx.Delete("branches", branch);
      auto w = ctx.Mutate("branches", branch);
      if (!w.ok()) return w.status();
      (**w)["open"] = (**w)["open"].get<int>() - 1;
    }
    return Status();
  };
  return def;
}

TEST_F(EngineBasicsTest, MultiStreamProjectionWithDeletesAndFind) {
  // Branch b0 gets accounts 0-2, b1 accounts 3-4; account 3 and 4 close, so b1 disappears.
  for (int i = 0; i < 5; ++i) {
    Append("acct-" + std::to_string(i), "Opened", {{"branch", i < 3 ? "b0" : "b1"}});
  }
  Append("census-1", "Census");
  for (int i = 0; i < 5; ++i) {
    Append("acct-" + std::to_string(i), "Deposited",
           {{"branch", i < 3 ? "b0" : "b1"}, {"amount", 10 * (i + 1)}});
  }
  Append("acct-3", "Closed", {{"branch", "b1"}});
  const Position last_b0 = Append("acct-1", "Deposited", {{"branch", "b0"}, {"amount", 1}});
  const Position close_b1 = Append("acct-4", "Closed", {{"branch", "b1"}});
  const Position census = Append("census-1", "Census");
  ASSERT_OK(engine_->Register(BranchTotals()));
  ASSERT_OK(engine_->RunOnce("branches"));

  const auto docs = AllDocs("branches");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].id, "b0");
  EXPECT_EQ(nlohmann::json::parse(docs[0].body),
            nlohmann::json({{"open", 3}, {"total", 10 + 20 + 30 + 1}}));
  EXPECT_EQ(docs[0].meta.position, last_b0);
  EXPECT_TRUE(docs[0].meta.sources.empty());
  EXPECT_LT(last_b0, close_b1);
  // The second census ran in the same batch as the deletion and saw it.
  EXPECT_EQ(Body("census", "latest")["branches"], 1);
  auto read = engine_->Get("census", "latest");
  ASSERT_OK(read);
  EXPECT_EQ(read->document->meta.position, census);
}

TEST(ProjectionNames, EnumsAndKeys) {
  EXPECT_EQ(ErrorPolicyName(ErrorPolicy::kDeadLetter), "dead_letter");
  EXPECT_EQ(ErrorPolicyName(ErrorPolicy::kSkip), "skip");
  EXPECT_EQ(TriggerModeName(TriggerMode::kManual), "manual");
  EXPECT_EQ(ProjectionStateName(ProjectionState::kCaughtUp), "caught_up");
  EXPECT_EQ(ProjectionStateName(ProjectionState::kRebuilding), "rebuilding");
  EXPECT_EQ(ProjectionKeyString("accounts", 12), "accounts@12");
  ProjectionDiff diff;
  diff.collections.push_back(CollectionDiff{.collection = "a", .old_count = 3, .new_count = 3});
  EXPECT_TRUE(diff.identical());
  diff.collections.back().changed = 1;
  EXPECT_FALSE(diff.identical());
}

}  // namespace
}  // namespace triad::testing
