// Known freshness: min_position waits and times out, fresh reads equal what the engine writes.
#include <future>

#include "engine_fixture.h"

namespace triad::testing {
namespace {

class FreshnessTest : public EngineTest {};

TEST_F(FreshnessTest, MinPositionWaitsUntilTheProjectionCatchesUp) {
  ASSERT_OK(engine_->Register(CounterProjection()));
  Position p = 0;
  for (int i = 0; i < 20; ++i) p = Append("acct-1", "Deposited", {{"amount", 1}});
  auto waiting = std::async(std::launch::async, [&] {
    return engine_->Get("counters", "acct-1",
                        GetOptions{{.min_position = p, .timeout_us = 60'000'000}});
  });
  // The reader is blocked on the engine's clock before the projection runs.
  ASSERT_TRUE(Eventually([&] { return sim_.waiters() >= 1; }));
  ASSERT_OK(engine_->RunOnce("counter"));
  auto read = waiting.get();
  ASSERT_OK(read);
  EXPECT_EQ(read->as_of, p);
  ASSERT_TRUE(read->document.has_value());
  EXPECT_EQ(nlohmann::json::parse(read->document->body)["count"], 20);
}

TEST_F(FreshnessTest, MinPositionTimesOutNamingTheCheckpoint) {
  ASSERT_OK(engine_->Register(CounterProjection()));
  for (int i = 0; i < 5; ++i) Append("acct-1", "Deposited");
  ASSERT_OK(engine_->RunOnce("counter", 3));
  const Position p = Append("acct-1", "Deposited");

  // An immediate deadline.
  auto read = engine_->Get("counters", "acct-1", GetOptions{{.min_position = p}});
  ASSERT_ERROR_CODE(read, kDeadlineExceeded);
  EXPECT_NE(read.status().message().find("checkpoint 3"), std::string::npos)
      << read.status().ToString();

  // A deadline reached by moving the engine's clock while a query waits.
  auto waiting = std::async(std::launch::async, [&] {
    Query query;
    return engine_->Find("counters", query, ReadOptions{.min_position = p, .timeout_us = 500'000});
  });
  ASSERT_TRUE(Eventually([&] { return sim_.waiters() >= 1; }));
  sim_.Advance(400'000);
  // Not yet: the query still waits (or has just re-checked) until the deadline passes.
  sim_.Advance(200'000);
  auto page = waiting.get();
  ASSERT_ERROR_CODE(page, kDeadlineExceeded);
  EXPECT_NE(page.status().message().find("checkpoint 3"), std::string::npos)
      << page.status().ToString();
  auto count = engine_->Count("counters", Query{}, ReadOptions{.min_position = p});
  EXPECT_ERROR_CODE(count, kDeadlineExceeded);
  auto waited = engine_->WaitForCheckpoint("counter", p, 0);
  ASSERT_ERROR_CODE(waited, kDeadlineExceeded);
  EXPECT_NE(waited.status().message().find("checkpoint 3"), std::string::npos);
}

TEST_F(FreshnessTest, FreshReadEqualsWhatTheEngineLaterWrites) {
  ASSERT_OK(engine_->Register(CounterProjection()));
  for (int i = 0; i < 10; ++i) {
    Append("acct-" + std::to_string(i % 2), "Deposited", {{"amount", i}});
  }
  ASSERT_OK(engine_->RunOnce("counter"));
  const Position checkpoint = Head();
  // Newer events: some for acct-1, one filtered out, and a stream with no document yet.
  for (int i = 0; i < 4; ++i) Append("acct-1", "Deposited", {{"amount", 100 + i}});
  Append("acct-1", "Withdrawn", {{"amount", 1000}});
  Append("acct-7", "Deposited", {{"amount", 7}});
  Append("acct-0", "Deposited", {{"amount", 3}});
  const Position head = Head();

  GetOptions fresh;
  fresh.fresh = true;
  auto fresh_1 = engine_->Get("counters", "acct-1", fresh);
  auto fresh_7 = engine_->Get("counters", "acct-7", fresh);
  ASSERT_OK(fresh_1);
  ASSERT_OK(fresh_7);
  EXPECT_EQ(fresh_1->as_of, head);
  ASSERT_TRUE(fresh_1->document && fresh_7->document);
  EXPECT_EQ(nlohmann::json::parse(fresh_1->document->body)["count"], 9);
  EXPECT_EQ(nlohmann::json::parse(fresh_7->document->body)["count"], 1);

  // Nothing was written: the plain read is still as of the checkpoint.
  auto plain = engine_->Get("counters", "acct-1");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->as_of, checkpoint);
  EXPECT_EQ(nlohmann::json::parse(plain->document->body)["count"], 5);
  auto missing = engine_->Get("counters", "acct-7");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->document.has_value());

  ASSERT_OK(engine_->RunOnce("counter"));
  for (const auto* f : {&*fresh_1, &*fresh_7}) {
    auto written = engine_->Get("counters", f->document->id);
    ASSERT_OK(written);
    ASSERT_TRUE(written->document.has_value());
    EXPECT_EQ(nlohmann::json::parse(written->document->body),
              nlohmann::json::parse(f->document->body));
    EXPECT_EQ(written->document->meta.position, f->document->meta.position);
    EXPECT_EQ(written->document->meta.sources, f->document->meta.sources);
    EXPECT_EQ(written->document->meta.projection, f->document->meta.projection);
  }
  ExpectCountersMatchFold(head);

  // Up to date already: a fresh read is the stored document as of the head.
  auto again = engine_->Get("counters", "acct-1", fresh);
  ASSERT_OK(again);
  EXPECT_EQ(again->as_of, head);
  EXPECT_EQ(nlohmann::json::parse(again->document->body)["count"], 9);
}

class TwoEngineFreshnessTest : public EngineTest {
 protected:
  void SetUp() override {
    sqlite_read_model_ = true;
    EngineTest::SetUp();
  }
};

TEST_F(TwoEngineFreshnessTest, MinPositionSeesAnotherEnginesProgressByPolling) {
  ASSERT_OK(engine_->Register(CounterProjection()));
  // A second engine on the same read-model file that only answers queries (no handler here).
  EngineOptions options;
  options.clock = &sim_;
  options.read_model_uri = PersistentReadModelUri();
  auto reader = ProjectionEngine::Open(store_.get(), options);
  ASSERT_OK(reader);
  const Position p = Append("acct-1", "Deposited", {{"amount", 4}});
  auto waiting = std::async(std::launch::async, [&] {
    return (*reader)->Get("counters", "acct-1",
                          GetOptions{{.min_position = p, .timeout_us = 60'000'000}});
  });
  ASSERT_TRUE(Eventually([&] { return sim_.waiters() >= 1; }));
  ASSERT_OK(engine_->RunOnce("counter"));
  // Nothing in the reader's process was notified: it finds the progress at its next poll.
  ASSERT_TRUE(Eventually([&] {
    sim_.Advance(options.external_poll_interval_us);
    return waiting.wait_for(std::chrono::milliseconds(1)) == std::future_status::ready;
  }));
  auto read = waiting.get();
  ASSERT_OK(read);
  EXPECT_EQ(read->as_of, p);
  EXPECT_EQ(nlohmann::json::parse(read->document->body)["sum"], 4);
  auto status = (*reader)->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_FALSE(status->registered);
  EXPECT_EQ(status->checkpoint, p);
  // Fresh reads need the projection's code.
  GetOptions fresh;
  fresh.fresh = true;
  EXPECT_ERROR_CODE((*reader)->Get("counters", "acct-1", fresh), kFailedPrecondition);
}

}  // namespace
}  // namespace triad::testing
