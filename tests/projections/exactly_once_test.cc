// Promise 5 under storage failures: a batch whose commit fails leaves nothing behind, and the
// retried batch applies every event exactly once.
#include <atomic>
#include <thread>
#include <vector>

#include "engine_fixture.h"

namespace triad::testing {
namespace {

// Forwards to a real transaction; Commit fails (rolling everything back) when told to.
class FailingTransaction final : public ReadModelTransaction {
 public:
  FailingTransaction(std::unique_ptr<ReadModelTransaction> inner, bool fail)
      : inner_(std::move(inner)), fail_(fail) {}
  Status EnsureCollection(std::string_view s, const CollectionSpec& spec) override {
    return inner_->EnsureCollection(s, spec);
  }
  Status DropCollection(std::string_view s) override { return inner_->DropCollection(s); }
  Result<std::optional<Document>> Get(std::string_view s, std::string_view id) override {
    return inner_->Get(s, id);
  }
  Status Put(std::string_view s, const Document& d) override { return inner_->Put(s, d); }
  Status Delete(std::string_view s, std::string_view id) override { return inner_->Delete(s, id); }
  Result<QueryPage> Find(std::string_view s, const Query& q) override { return inner_->Find(s, q); }
  Result<std::optional<ProjectionRecord>> GetProjection(std::string_view n, int32_t v) override {
    return inner_->GetProjection(n, v);
  }
  Status PutProjection(const ProjectionRecord& r) override { return inner_->PutProjection(r); }
  Status DeleteProjection(std::string_view n, int32_t v) override {
    return inner_->DeleteProjection(n, v);
  }
  Status PutDeadLetter(const DeadLetter& l) override { return inner_->PutDeadLetter(l); }
  Status DeleteDeadLetter(std::string_view p, int32_t v, Position pos) override {
    return inner_->DeleteDeadLetter(p, v, pos);
  }
  Status DeleteDeadLetters(std::string_view p, int32_t v) override {
    return inner_->DeleteDeadLetters(p, v);
  }
  Status Commit() override {
    if (fail_) {
      inner_.reset();  // rolled back
      return UnavailableError("injected commit failure");
    }
    return inner_->Commit();
  }

 private:
  std::unique_ptr<ReadModelTransaction> inner_;
  bool fail_;
};

// Fails every `every`-th commit once armed.
class FailingReadModel final : public ReadModelBackend {
 public:
  explicit FailingReadModel(std::unique_ptr<ReadModelBackend> inner) : inner_(std::move(inner)) {}
  Result<std::unique_ptr<ReadModelTransaction>> BeginWrite() override {
    auto txn = inner_->BeginWrite();
    if (!txn.ok()) return txn.status();
    const bool fail = every_ > 0 && ++count_ % every_ == 0;
    if (fail) ++failures_;
    return std::unique_ptr<ReadModelTransaction>(
        std::make_unique<FailingTransaction>(std::move(*txn), fail));
  }
  Result<std::vector<ProjectionRecord>> ListProjections() override {
    return inner_->ListProjections();
  }
  Result<DocumentRead> Get(std::string_view s, std::string_view id, std::string_view p,
                           int32_t v) override {
    return inner_->Get(s, id, p, v);
  }
  Result<QueryPage> Find(std::string_view s, const Query& q, std::string_view p,
                         int32_t v) override {
    return inner_->Find(s, q, p, v);
  }
  Result<CountResult> Count(std::string_view s, const Query& q, std::string_view p,
                            int32_t v) override {
    return inner_->Count(s, q, p, v);
  }
  Result<std::vector<Document>> ScanDocuments(std::string_view s, std::string_view after,
                                              size_t limit) override {
    return inner_->ScanDocuments(s, after, limit);
  }
  Result<std::vector<DeadLetter>> ListDeadLetters(std::string_view p, int32_t v) override {
    return inner_->ListDeadLetters(p, v);
  }
  std::string Describe() const override { return inner_->Describe(); }

  std::atomic<int> every_{0};
  std::atomic<int> count_{0};
  std::atomic<int> failures_{0};

 private:
  std::unique_ptr<ReadModelBackend> inner_;
};

class ExactlyOnceTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    auto inner =
        OpenReadModelBackend(ReadModelOptions{}, PersistentReadModelUri("faulty-readmodel.db"));
    ASSERT_OK(inner);
    faulty_ = std::make_unique<FailingReadModel>(std::move(*inner));
    engine_.reset();
    EngineOptions options;
    options.clock = clock();
    options.read_model = faulty_.get();
    options.retry_backoff_us = 1000;
    auto engine = ProjectionEngine::Open(store_.get(), options);
    ASSERT_OK(engine);
    engine_ = std::move(*engine);
  }
  void TearDown() override {
    engine_.reset();
    faulty_.reset();
    EngineTest::TearDown();
  }

  std::unique_ptr<FailingReadModel> faulty_;
};

TEST_F(ExactlyOnceTest, FailedCommitsAreRetriedWithoutDoubleEffects) {
  for (int i = 0; i < 200; ++i) {
    Append("acct-" + std::to_string(i % 7), "Deposited", {{"amount", i}});
  }
  ProjectionDefinition def = CounterProjection();
  def.batch_size = 9;
  ASSERT_OK(engine_->Register(def));
  faulty_->every_ = 3;
  int failures = 0;
  Position checkpoint = 0;
  while (checkpoint < Head()) {
    auto run = engine_->RunOnce("counter");
    if (run.ok()) {
      checkpoint = *run;
      continue;
    }
    ASSERT_ERROR_CODE(run, kUnavailable);
    ++failures;
    // After a failed commit the stored state is still a fold up to the stored checkpoint.
    auto status = engine_->GetStatus("counter");
    ASSERT_OK(status);
    ExpectCountersMatchFold(status->checkpoint);
    ASSERT_LT(failures, 1000);
  }
  EXPECT_GT(failures, 5);
  ExpectCountersMatchFold(Head());
}

TEST_F(ExactlyOnceTest, WorkerRetriesAfterBackoff) {
  ProjectionDefinition def = CounterProjection();
  def.batch_size = 5;
  ASSERT_OK(engine_->Register(def));
  faulty_->every_ = 2;
  ASSERT_OK(engine_->Start());
  Position p = 0;
  for (int i = 0; i < 60; ++i) p = Append("acct-" + std::to_string(i % 4), "Deposited");
  // Retries wait retry_backoff_us on the simulated clock: move it until the worker is done.
  ASSERT_TRUE(Eventually([&] {
    sim_.Advance(1000);
    auto status = engine_->GetStatus("counter");
    return status.ok() && status->checkpoint == p;
  }));
  EXPECT_GT(faulty_->failures_.load(), 0);
  ExpectCountersMatchFold(p);
}

class ConcurrentEngineTest : public EngineTest {
 protected:
  void SetUp() override {
    real_clock_ = true;  // background threads, real waits
    sqlite_read_model_ = true;
    EngineTest::SetUp();
  }
};

// Appenders, the worker, RunOnce callers and an operator pausing and resuming all at once: the
// documents still equal the fold (no event applied twice or skipped).
TEST_F(ConcurrentEngineTest, WorkerRunOnceAndOperatorActionsRace) {
  ProjectionDefinition def = CounterProjection();
  def.batch_size = 13;
  ASSERT_OK(engine_->Register(def));
  ASSERT_OK(engine_->Start());
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        Append("acct-" + std::to_string((i + t) % 5), "Deposited", {{"amount", i}});
      }
    });
  }
  std::thread runner([&] {
    while (!done.load()) {
      auto r = engine_->RunOnce("counter");
      if (!r.ok()) {
        EXPECT_ERROR_CODE(r, kFailedPrecondition);  // paused meanwhile
      }
    }
  });
  std::thread operator_thread([&] {
    for (int i = 0; i < 20 && !done.load(); ++i) {
      EXPECT_OK(engine_->Pause("counter"));
      EXPECT_OK(engine_->Resume("counter"));
      auto status = engine_->GetStatus("counter");
      EXPECT_OK(status);
    }
  });
  for (auto& t : threads) t.join();
  operator_thread.join();
  ASSERT_OK(engine_->Resume("counter"));
  ASSERT_OK(engine_->WaitForCheckpoint("counter", Head(), 30'000'000));
  done = true;
  runner.join();
  ExpectCountersMatchFold(Head());
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_GT(status->events_per_second, 0);  // real clock: batches took time and moved events
  EXPECT_EQ(status->state, ProjectionState::kCaughtUp);
}

}  // namespace
}  // namespace triad::testing
