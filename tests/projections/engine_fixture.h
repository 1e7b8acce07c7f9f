// A fixture for projection engine tests: an event store and a read-model store (memory or a temp
// SQLite file), an engine over them, and helpers to append events and fold them independently.
//
// The environment variable TRIAD_TEST_STORE moves them to PostgreSQL (TRIAD_TEST_POSTGRES names
// the server; one fresh schema per test, dropped at the end), whatever sqlite_store_ and
// sqlite_read_model_ say: "postgres" puts both the event store and the read model there,
// "postgres-readmodel" only the read model (the event store stays memory or SQLite). CTest runs
// every test of this directory a second time as pg.* with TRIAD_TEST_STORE=postgres.
#pragma once

#include "testing/pg_test_env.h"
#include "testing/simulated_clock.h"
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include "triad/event_store.h"
#include "triad/projection_engine.h"
#include "triad/read_model_backend.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace triad::testing {

// Polls `condition` (real time, up to 20 s): for effects of background threads that have no
// waitable signal in the public API.
inline bool Eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A single-stream projection "counter" that counts Deposited events and sums their amounts per
// account stream, into collection "counters" (index on count).
inline ProjectionDefinition CounterProjection(int32_t version = 1) {
  ProjectionDefinition def;
  def.name = "counter";
  def.version = version;
  def.event_types = {"Deposited"};
  def.categories = {"acct"};
  def.collections = {{"counters", {{"count", IndexType::kNumber}}}};
  def.key = DocumentKey::kStream;
  def.on_event = [](const EventView& e, ProjectionContext& ctx) -> Status {
    auto doc = ctx.Upsert("counters", std::string(e.stream));
    if (!doc.ok()) return doc.status();
    const auto data = nlohmann::json::parse(e.data);
    (**doc)["count"] = (**doc).value("count", 0) + 1;
    (**doc)["sum"] = (**doc).value("sum", 0) + data.value("amount", 0);
    return Status();
  };
  return def;
}

// The counter projection's expected documents: the fold of the log up to `up_to`.
struct CounterFold {
  int count = 0;
  int sum = 0;
  Position last_position = 0;
  StreamVersion last_version = -1;
};
inline std::map<std::string, CounterFold> FoldCounters(const std::vector<RecordedEvent>& log,
                                                       Position up_to) {
  std::map<std::string, CounterFold> out;
  for (const RecordedEvent& e : log) {
    if (e.position > up_to || e.type != "Deposited" || CategoryOf(e.stream) != "acct") continue;
    CounterFold& f = out[e.stream];
    f.count += 1;
    f.sum += nlohmann::json::parse(e.data).value("amount", 0);
    f.last_position = e.position;
    f.last_version = e.version;
  }
  return out;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const char* mode = std::getenv("TRIAD_TEST_STORE");
    const std::string store_mode = mode == nullptr ? "" : mode;
    if (store_mode == "postgres" || store_mode == "postgres-readmodel") {
      if (!PostgresTestUrl())
        GTEST_SKIP() << "TRIAD_TEST_STORE=" << store_mode << " needs TRIAD_TEST_POSTGRES";
      pg_uri_ = FreshPostgresUri(name);
      pg_store_ = store_mode == "postgres";
    }
    Options options;
    options.clock = clock();
    auto store =
        EventStore::Open(options, pg_store_       ? pg_uri_
                                  : sqlite_store_ ? "sqlite:" + (dir_.path() / "store.db").string()
                                                  : std::string("memory:"));
    ASSERT_OK(store);
    store_ = std::move(*store);
    ASSERT_OK(OpenEngine());
  }

  void TearDown() override {
    engine_.reset();
    store_.reset();
    if (!pg_uri_.empty()) DropPostgresSchema(pg_uri_);
  }

  Clock* clock() { return real_clock_ ? RealClock() : &sim_; }

  // The URI of a read model that outlives the engine and can be opened again: this test's
  // PostgreSQL schema, or the SQLite file `file` in the test's directory.
  std::string PersistentReadModelUri(const std::string& file = "readmodel.db") const {
    return pg_uri_.empty() ? "sqlite:" + (dir_.path() / file).string() : pg_uri_;
  }

  // (Re)opens the engine; the read model is a temp SQLite file when sqlite_read_model_, and on
  // PostgreSQL under TRIAD_TEST_STORE.
  Status OpenEngine() {
    engine_.reset();
    EngineOptions options;
    options.clock = clock();
    options.read_model_uri =
        sqlite_read_model_ || !pg_uri_.empty() ? PersistentReadModelUri() : "memory:";
    options.read_model_options.durability = Durability::kRelaxed;
    auto engine = ProjectionEngine::Open(store_.get(), options);
    if (!engine.ok()) return engine.status();
    engine_ = std::move(*engine);
    return Status::OK();
  }

  // Appends one event and returns its position (0 on failure, which also fails the test).
  Position Append(const std::string& stream, const std::string& type,
                  const nlohmann::json& data = nlohmann::json::object()) {
    NewEvent event{.type = type, .data = data.dump()};
    auto r = store_->Append(stream, ExpectedVersion::Any(), {&event, 1});
    EXPECT_OK(r);
    return r.ok() ? r->last_position : 0;
  }

  Position Head() {
    auto head = store_->HeadPosition();
    EXPECT_OK(head);
    return head.ok() ? *head : -1;
  }

  // Every event of the log.
  std::vector<RecordedEvent> Log() {
    auto events = store_->ReadAll(ReadAllOptions{.from_position = 1, .limit = 1'000'000});
    EXPECT_OK(events);
    return events.ok() ? *events : std::vector<RecordedEvent>{};
  }

  // The body of a served document as JSON (null when missing).
  nlohmann::json Body(const std::string& collection, const std::string& id) {
    auto read = engine_->Get(collection, id);
    EXPECT_OK(read);
    if (!read.ok() || !read->document) return nullptr;
    return nlohmann::json::parse(read->document->body);
  }

  // Every document of a collection in id order, as served.
  std::vector<Document> AllDocs(const std::string& collection) {
    Query query;
    query.limit = 10000;
    auto page = engine_->Find(collection, query);
    EXPECT_OK(page);
    return page.ok() ? page->documents : std::vector<Document>{};
  }

  // Every served counter document equals the fold of the log up to `up_to`, _meta included.
  void ExpectCountersMatchFold(Position up_to, const std::string& projection = "counter@1") {
    const auto fold = FoldCounters(Log(), up_to);
    const auto docs = AllDocs("counters");
    ASSERT_EQ(docs.size(), fold.size());
    for (const Document& doc : docs) {
      auto it = fold.find(doc.id);
      ASSERT_NE(it, fold.end()) << doc.id;
      const auto body = nlohmann::json::parse(doc.body);
      EXPECT_EQ(body["count"], it->second.count) << doc.id;
      EXPECT_EQ(body["sum"], it->second.sum) << doc.id;
      EXPECT_FALSE(body.contains("_meta")) << doc.id;
      EXPECT_EQ(doc.meta.position, it->second.last_position) << doc.id;
      EXPECT_EQ(doc.meta.projection, projection) << doc.id;
      ASSERT_EQ(doc.meta.sources.size(), 1u) << doc.id;
      EXPECT_EQ(doc.meta.sources.at(doc.id), it->second.last_version) << doc.id;
    }
  }

  bool real_clock_ = false;
  bool sqlite_store_ = false;
  bool sqlite_read_model_ = false;
  // Set from TRIAD_TEST_STORE in SetUp: this test's fresh PostgreSQL schema (empty: none), and
  // whether the event store lives there too.
  std::string pg_uri_;
  bool pg_store_ = false;
  SimulatedClock sim_;
  triad::testing::TempDir dir_{"triad-proj"};
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ProjectionEngine> engine_;
};

}  // namespace triad::testing
