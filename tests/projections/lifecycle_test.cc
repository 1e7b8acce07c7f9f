// Lifecycle: reset rebuilds, pause/resume survive a restart, and blue/green deploy → diff →
// promote with queries running throughout that never see a half-built version.
#include <atomic>
#include <thread>

#include "engine_fixture.h"

namespace triad::testing {
namespace {

class LifecycleTest : public EngineTest {
 protected:
  void AppendAccounts(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      for (int i = 0; i < 10; ++i) {
        Append("acct-" + std::to_string(i), "Deposited", {{"amount", r + i}});
      }
    }
  }
};

TEST_F(LifecycleTest, ResetRebuildsIdenticalDocuments) {
  AppendAccounts(20);
  ASSERT_OK(engine_->Register(CounterProjection()));
  ASSERT_OK(engine_->RunOnce("counter"));
  const std::vector<Document> before = AllDocs("counters");
  ASSERT_EQ(before.size(), 10u);

  ASSERT_OK(engine_->Reset("counter"));
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->checkpoint, 0);
  EXPECT_EQ(status->state, ProjectionState::kRebuilding);
  EXPECT_TRUE(AllDocs("counters").empty());

  ASSERT_OK(engine_->RunOnce("counter"));
  const std::vector<Document> after = AllDocs("counters");
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(nlohmann::json::parse(after[i].body), nlohmann::json::parse(before[i].body));
    EXPECT_EQ(after[i].meta.position, before[i].meta.position);
    EXPECT_EQ(after[i].meta.sources, before[i].meta.sources);
  }
  status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kCaughtUp);
}

class PersistentLifecycleTest : public LifecycleTest {
 protected:
  void SetUp() override {
    sqlite_store_ = true;
    sqlite_read_model_ = true;
    LifecycleTest::SetUp();
  }
};

TEST_F(PersistentLifecycleTest, PauseAndResumeSurviveRestart) {
  AppendAccounts(3);
  ASSERT_OK(engine_->Register(CounterProjection()));
  ASSERT_OK(engine_->RunOnce("counter", 10));
  ASSERT_OK(engine_->Pause("counter"));
  EXPECT_ERROR_CODE(engine_->RunOnce("counter"), kFailedPrecondition);

  ASSERT_OK(OpenEngine());
  ASSERT_OK(engine_->Register(CounterProjection()));
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kPaused);
  EXPECT_EQ(status->checkpoint, 10);
  ASSERT_OK(engine_->Start());
  EXPECT_ERROR_CODE(engine_->RunOnce("counter"), kFailedPrecondition);
  ASSERT_OK(engine_->Resume("counter"));
  ASSERT_OK(engine_->WaitForCheckpoint("counter", Head(), 10'000'000));

  ASSERT_OK(OpenEngine());
  ASSERT_OK(engine_->Register(CounterProjection()));
  status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kCaughtUp);
  EXPECT_EQ(status->checkpoint, Head());
  ExpectCountersMatchFold(Head());
}

// Version 2 adds "v2": true for odd accounts and renames acct-9's document.
ProjectionDefinition CounterV2() {
  ProjectionDefinition def = CounterProjection(2);
  auto inner = def.on_event;
  def.on_event = [inner](const EventView& e, ProjectionContext& ctx) -> Status {
    const std::string stream(e.stream);
    const std::string id = stream == "acct-9" ? "acct-9-renamed" : stream;
    auto doc = ctx.Upsert("counters", id);
    if (!doc.ok()) return doc.status();
    const auto data = nlohmann::json::parse(e.data);
    (**doc)["count"] = (**doc).value("count", 0) + 1;
    (**doc)["sum"] = (**doc).value("sum", 0) + data.value("amount", 0);
    if ((stream.back() - '0') % 2 == 1) (**doc)["v2"] = true;
    return Status();
  };
  return def;
}

TEST_F(LifecycleTest, BlueGreenDeployDiffPromote) {
  AppendAccounts(30);
  ASSERT_OK(engine_->Register(CounterProjection(1)));
  ASSERT_OK(engine_->RunOnce("counter"));

  // A reader checks that every answer is entirely v1 or entirely v2, never v2 before Promote.
  std::atomic<bool> promoting{false};
  std::atomic<bool> done{false};
  std::atomic<int> v1_answers{0};
  std::atomic<int> v2_answers{0};
  std::atomic<int> bad_answers{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto read = engine_->Get("counters", "acct-1");
      if (!read.ok() || !read->document) {
        ++bad_answers;
        continue;
      }
      const auto body = nlohmann::json::parse(read->document->body);
      const std::string& projection = read->document->meta.projection;
      if (projection == "counter@1" && !body.contains("v2")) {
        ++v1_answers;
      } else if (projection == "counter@2" && body.value("v2", false) && promoting.load()) {
        ++v2_answers;
      } else {
        ++bad_answers;
      }
    }
  });

  ProjectionDefinition v2 = CounterV2();
  v2.batch_size = 25;  // many small commits while the reader runs
  ASSERT_OK(engine_->Register(v2));
  auto status = engine_->GetStatus("counter", 2);
  ASSERT_OK(status);
  EXPECT_FALSE(status->serving);
  EXPECT_EQ(status->state, ProjectionState::kRebuilding);
  EXPECT_ERROR_CODE(engine_->Promote("counter"), kFailedPrecondition);
  ASSERT_OK(engine_->RunOnce("counter", 150));  // the newest version: v2
  EXPECT_ERROR_CODE(engine_->Promote("counter"), kFailedPrecondition);
  ASSERT_OK(engine_->RunOnce("counter"));

  auto diff = engine_->Diff("counter");
  ASSERT_OK(diff);
  EXPECT_EQ(diff->old_version, 1);
  EXPECT_EQ(diff->new_version, 2);
  EXPECT_EQ(diff->old_checkpoint, Head());
  EXPECT_EQ(diff->new_checkpoint, Head());
  ASSERT_EQ(diff->collections.size(), 1u);
  const CollectionDiff& c = diff->collections[0];
  EXPECT_EQ(c.collection, "counters");
  EXPECT_EQ(c.old_count, 10);
  EXPECT_EQ(c.new_count, 10);
  EXPECT_EQ(c.only_in_old, 1);
  EXPECT_EQ(c.only_in_new, 1);
  EXPECT_EQ(c.changed, 4);
  EXPECT_EQ(c.sample_ids, (std::vector<std::string>{"acct-1", "acct-3", "acct-5", "acct-7",
                                                    "acct-9", "acct-9-renamed"}));
  EXPECT_FALSE(diff->identical());

  ASSERT_TRUE(Eventually([&] { return v1_answers.load() > 0; }));
  promoting = true;
  ASSERT_OK(engine_->Promote("counter"));
  ASSERT_TRUE(Eventually([&] { return v2_answers.load() > 0; }));
  done = true;
  reader.join();
  EXPECT_EQ(bad_answers.load(), 0);

  auto v1 = engine_->GetStatus("counter", 1);
  ASSERT_OK(v1);
  EXPECT_EQ(v1->state, ProjectionState::kRetired);
  EXPECT_FALSE(v1->serving);
  auto served = engine_->GetStatus("counter");
  ASSERT_OK(served);
  EXPECT_EQ(served->version, 2);
  EXPECT_TRUE(served->serving);
  EXPECT_EQ(Body("counters", "acct-3")["v2"], true);
  EXPECT_TRUE(Body("counters", "acct-9").is_null());
  EXPECT_EQ(AllDocs("counters").size(), 10u);
  // Nothing left to promote.
  EXPECT_ERROR_CODE(engine_->Promote("counter"), kFailedPrecondition);
  EXPECT_ERROR_CODE(engine_->Diff("counter"), kFailedPrecondition);
}

TEST_F(LifecycleTest, OperatorActionsDefaultToTheServingVersion) {
  AppendAccounts(3);
  ASSERT_OK(engine_->Register(CounterProjection(1)));
  ASSERT_OK(engine_->RunOnce("counter"));
  ASSERT_OK(engine_->Register(CounterV2()));  // the newest, building beside the serving v1
  ASSERT_OK(engine_->RunOnce("counter"));

  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->version, 1);
  EXPECT_TRUE(status->serving);
  ASSERT_OK(engine_->Pause("counter"));
  auto v1 = engine_->GetStatus("counter", 1);
  auto v2 = engine_->GetStatus("counter", 2);
  ASSERT_OK(v1);
  ASSERT_OK(v2);
  EXPECT_EQ(v1->state, ProjectionState::kPaused);
  EXPECT_NE(v2->state, ProjectionState::kPaused);
  // Another version by its number.
  ASSERT_OK(engine_->Pause("counter", 2));
  ASSERT_OK(engine_->Resume("counter"));
  v1 = engine_->GetStatus("counter", 1);
  v2 = engine_->GetStatus("counter", 2);
  ASSERT_OK(v1);
  ASSERT_OK(v2);
  EXPECT_NE(v1->state, ProjectionState::kPaused);
  EXPECT_EQ(v2->state, ProjectionState::kPaused);
  ASSERT_OK(engine_->Resume("counter", 2));
  ASSERT_OK(engine_->Reset("counter"));
  v1 = engine_->GetStatus("counter", 1);
  v2 = engine_->GetStatus("counter", 2);
  ASSERT_OK(v1);
  ASSERT_OK(v2);
  EXPECT_EQ(v1->checkpoint, 0);
  EXPECT_EQ(v2->checkpoint, Head());
}

TEST_F(LifecycleTest, ActionsOnARetiredVersionAreRefused) {
  AppendAccounts(2);
  ASSERT_OK(engine_->Register(CounterProjection(1)));
  ASSERT_OK(engine_->RunOnce("counter"));
  ASSERT_OK(engine_->Register(CounterV2()));
  ASSERT_OK(engine_->RunOnce("counter"));
  ASSERT_OK(engine_->Promote("counter"));
  EXPECT_ERROR_CODE(engine_->Resume("counter", 1), kFailedPrecondition);
  EXPECT_ERROR_CODE(engine_->Pause("counter", 1), kFailedPrecondition);
  EXPECT_ERROR_CODE(engine_->Trigger("counter", std::nullopt, 1), kFailedPrecondition);
  EXPECT_ERROR_CODE(engine_->Reset("counter", 1), kFailedPrecondition);
  EXPECT_ERROR_CODE(engine_->Skip("counter", 1), kFailedPrecondition);
  auto v1 = engine_->GetStatus("counter", 1);
  ASSERT_OK(v1);
  EXPECT_EQ(v1->state, ProjectionState::kRetired);
  // The default is now the promoted version.
  ASSERT_OK(engine_->Pause("counter"));
  auto v2 = engine_->GetStatus("counter");
  ASSERT_OK(v2);
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->state, ProjectionState::kPaused);
}

class PersistentBlueGreenTest : public LifecycleTest {
 protected:
  void SetUp() override {
    sqlite_read_model_ = true;
    LifecycleTest::SetUp();
  }
};

TEST_F(PersistentBlueGreenTest, RetiredVersionIsDroppedAndRefused) {
  AppendAccounts(5);
  ASSERT_OK(engine_->Register(CounterProjection(1)));
  ASSERT_OK(engine_->RunOnce("counter"));
  ASSERT_OK(engine_->Register(CounterV2()));
  ASSERT_OK(engine_->RunOnce("counter"));
  ASSERT_OK(engine_->Promote("counter"));
  engine_.reset();

  auto backend = OpenReadModelBackend(ReadModelOptions{}, PersistentReadModelUri());
  ASSERT_OK(backend);
  auto old_docs =
      (*backend)->ScanDocuments(CollectionStorageName("counter", 1, "counters"), "", 100);
  // The retired version's collection was dropped: not an empty table left behind.
  EXPECT_ERROR_CODE(old_docs, kNotFound);
  auto new_docs =
      (*backend)->ScanDocuments(CollectionStorageName("counter", 2, "counters"), "", 100);
  ASSERT_OK(new_docs);
  EXPECT_EQ(new_docs->size(), 10u);
  backend->reset();

  ASSERT_OK(OpenEngine());
  EXPECT_ERROR_CODE(engine_->Register(CounterProjection(1)), kFailedPrecondition);
  ASSERT_OK(engine_->Register(CounterV2()));
  auto statuses = engine_->ListStatus();
  ASSERT_OK(statuses);
  ASSERT_EQ(statuses->size(), 2u);
  EXPECT_EQ((*statuses)[0].version, 1);
  EXPECT_EQ((*statuses)[0].state, ProjectionState::kRetired);
  EXPECT_FALSE((*statuses)[0].registered);
  EXPECT_EQ((*statuses)[1].version, 2);
  EXPECT_TRUE((*statuses)[1].registered);
  EXPECT_EQ(Body("counters", "acct-2")["count"], 5);
}

}  // namespace
}  // namespace triad::testing
