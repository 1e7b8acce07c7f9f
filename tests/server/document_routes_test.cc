// The document routes (GET one, query, client batch) and the projection routes, in-process.
#include "server/routes/document_routes.h"

#include "triad/event_store.h"
#include "triad/projection_engine.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "../projections/engine_fixture.h"
#include "route_harness.h"
#include "server/routes/projection_routes.h"
#include "server/server_context.h"

namespace triad::server {
namespace {

using nlohmann::json;
using testing::BodyOf;
using testing::Dispatch;
using testing::ErrorCode;
using testing::RouteCall;

class DocumentRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = EventStore::Open(Options{}, "memory:");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = *std::move(store);
    auto engine = ProjectionEngine::Open(store_.get(), EngineOptions{.read_model_uri = "memory:"});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = *std::move(engine);
    ASSERT_TRUE(engine_->Register(triad::testing::CounterProjection()).ok());
    context_.store = store_.get();
    context_.engine = engine_.get();
    RegisterDocumentRoutes(router_, context_);
    RegisterProjectionRoutes(router_, context_);
  }

  Position Deposit(const std::string& stream, int amount) {
    NewEvent e{.type = "Deposited", .data = json{{"amount", amount}}.dump()};
    auto r = store_->Append(stream, ExpectedVersion::Any(), {&e, 1});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->last_position : 0;
  }

  void CatchUp() {
    auto done = engine_->RunOnce("counter", std::nullopt);
    ASSERT_TRUE(done.ok()) << done.status().ToString();
  }

  HttpResponse Call(const RouteCall& call) { return Dispatch(router_, call); }

  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ProjectionEngine> engine_;
  ServerContext context_;
  Router router_;
};

TEST_F(DocumentRoutesTest, GetsOneDocumentWithMetaAndAsOf) {
  Deposit("acct-1", 5);
  Deposit("acct-1", 7);
  CatchUp();
  const HttpResponse r = Call({.path = "/collections/counters/docs/acct-1"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(BodyOf(r), json::parse(R"({"document":{"count":2,"sum":12,"_meta":{"id":"acct-1",
      "projection":"counter@1","position":2,"sources":{"acct-1":1}}},"as_of":2})"));
}

TEST_F(DocumentRoutesTest, MissingDocumentIs404WithAsOf) {
  Deposit("acct-1", 5);
  CatchUp();
  const HttpResponse r = Call({.path = "/collections/counters/docs/acct-9"});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "not_found");
  EXPECT_EQ(BodyOf(r)["error"]["as_of"], 1);
  EXPECT_EQ(ErrorCode(Call({.path = "/collections/nope/docs/x"})), "not_found");
}

TEST_F(DocumentRoutesTest, MinPositionTimesOutWith408WhenTheProjectionDoesNotMove) {
  const Position p = Deposit("acct-1", 5);
  // The engine is not started: nothing moves the checkpoint.
  const HttpResponse r = Call({.path = "/collections/counters/docs/acct-1",
                               .query = {{"min_position", std::to_string(p)}, {"wait_ms", "20"}}});
  EXPECT_EQ(r.status, 408) << r.body;
  EXPECT_EQ(ErrorCode(r), "deadline_exceeded");
  CatchUp();
  const HttpResponse later = Call({.path = "/collections/counters/docs/acct-1",
                                   .query = {{"min_position", std::to_string(p)}}});
  EXPECT_EQ(later.status, 200) << later.body;
  EXPECT_EQ(
      ErrorCode(Call({.path = "/collections/counters/docs/acct-1", .query = {{"wait_ms", "-1"}}})),
      "invalid_argument");
}

TEST_F(DocumentRoutesTest, FreshReadAppliesNewerEventsWithoutWaiting) {
  Deposit("acct-1", 5);
  CatchUp();
  Deposit("acct-1", 10);  // not applied by the engine yet
  const HttpResponse r =
      Call({.path = "/collections/counters/docs/acct-1", .query = {{"fresh", "true"}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(BodyOf(r)["document"]["sum"], 15);
  EXPECT_EQ(
      ErrorCode(Call({.path = "/collections/counters/docs/acct-1", .query = {{"fresh", "maybe"}}})),
      "invalid_argument");
}

TEST_F(DocumentRoutesTest, QueriesFilterOrderPageAndCount) {
  for (int i = 1; i <= 5; ++i) {
    for (int k = 0; k < i; ++k) Deposit("acct-" + std::to_string(i), 1);
  }
  CatchUp();
  const HttpResponse page1 =
      Call({.path = "/collections/counters/docs",
            .query = {{"where", "count:ge:2"}, {"order_by", "count:desc"}, {"limit", "2"}}});
  ASSERT_EQ(page1.status, 200) << page1.body;
  const json body1 = BodyOf(page1);
  ASSERT_EQ(body1["documents"].size(), 2u);
  EXPECT_EQ(body1["documents"][0]["count"], 5);
  EXPECT_EQ(body1["documents"][1]["count"], 4);
  EXPECT_EQ(body1["as_of"], 15);
  ASSERT_TRUE(body1["next_after"].is_string());
  const json body2 = BodyOf(Call({.path = "/collections/counters/docs",
                                  .query = {{"where", "count:ge:2"},
                                            {"order_by", "count:desc"},
                                            {"limit", "2"},
                                            {"after", body1["next_after"].get<std::string>()}}}));
  ASSERT_EQ(body2["documents"].size(), 2u);
  EXPECT_EQ(body2["documents"][0]["count"], 3);
  EXPECT_EQ(body2["documents"][1]["count"], 2);
  const json in = BodyOf(Call({.path = "/collections/counters/docs",
                               .query = {{"where", "count:in:1|3"}, {"count", "true"}}}));
  EXPECT_EQ(in, json::parse(R"({"count":2,"as_of":15})"));
}

TEST_F(DocumentRoutesTest, BadQueriesAre400NamingTheProblem) {
  Deposit("acct-1", 1);
  CatchUp();
  const HttpResponse no_op =
      Call({.path = "/collections/counters/docs", .query = {{"where", "count:is:1"}}});
  EXPECT_EQ(no_op.status, 400);
  EXPECT_NE(no_op.body.find("unknown op 'is'"), std::string::npos) << no_op.body;
  const HttpResponse unindexed =
      Call({.path = "/collections/counters/docs", .query = {{"where", "sum:eq:1"}}});
  EXPECT_EQ(unindexed.status, 400);
  EXPECT_NE(unindexed.body.find("sum"), std::string::npos);
  const HttpResponse scanned = Call({.path = "/collections/counters/docs",
                                     .query = {{"where", "sum:eq:1"}, {"allow_scan", "true"}}});
  EXPECT_EQ(BodyOf(scanned)["documents"].size(), 1u);
  EXPECT_EQ(Call({.path = "/collections/counters/docs", .query = {{"limit", "0"}}}).status, 400);
  EXPECT_EQ(
      Call({.path = "/collections/counters/docs", .query = {{"order_by", "count:up"}}}).status,
      400);
}

TEST_F(DocumentRoutesTest, ClientBatchCommitsDocumentsWithItsCheckpoint) {
  Deposit("acct-1", 1);
  Deposit("acct-2", 1);
  const json batch = {{"projection", "loyalty"},
                      {"expected_checkpoint", 0},
                      {"checkpoint", 2},
                      {"indexes", {{{"path", "tier"}, {"type", "string"}}}},
                      {"upserts",
                       {{{"id", "acct-1"},
                         {"document", {{"tier", "gold"}}},
                         {"position", 1},
                         {"sources", {{"acct-1", 0}}}},
                        {{"id", "acct-2"}, {"document", {{"tier", "silver"}}}}}}};
  const HttpResponse r =
      Call({.method = "POST", .path = "/collections/tiers/batch", .body = batch.dump()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(BodyOf(r), json::parse(R"({"projection":"loyalty","version":1,"checkpoint":2,
                                      "upserts":2,"deletes":0})"));
  EXPECT_EQ(
      BodyOf(Call({.path = "/collections/tiers/docs/acct-1"})),
      json::parse(R"({"document":{"tier":"gold","_meta":{"id":"acct-1","projection":"loyalty@1",
                "position":1,"sources":{"acct-1":0}}},"as_of":2})"));
  EXPECT_EQ(BodyOf(Call({.path = "/collections/tiers/docs",
                         .query = {{"where", "tier:eq:silver"}, {"count", "true"}}})),
            json::parse(R"({"count":1,"as_of":2})"));

  // A retry of the same batch (the client crashed before it saw the answer): refused, nothing
  // written twice, and the answer says where to resume.
  const HttpResponse retry =
      Call({.method = "POST", .path = "/collections/tiers/batch", .body = batch.dump()});
  EXPECT_EQ(retry.status, 409);
  EXPECT_EQ(ErrorCode(retry), "failed_precondition");
  EXPECT_EQ(BodyOf(retry)["error"]["checkpoint"], 2);

  const json next = {{"projection", "loyalty"},
                     {"expected_checkpoint", 2},
                     {"checkpoint", 2},
                     {"deletes", {"acct-2"}}};
  ASSERT_EQ(
      Call({.method = "POST", .path = "/collections/tiers/batch", .body = next.dump()}).status,
      200);
  EXPECT_EQ(Call({.path = "/collections/tiers/docs/acct-2"}).status, 404);
  const HttpResponse listed = Call({.path = "/projections/loyalty"});
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(BodyOf(listed)["projections"][0]["checkpoint"], 2);
  EXPECT_EQ(BodyOf(listed)["projections"][0]["registered"], false);
  EXPECT_EQ(BodyOf(listed)["projections"][0]["leased"], false);
}

TEST_F(DocumentRoutesTest, BadClientBatchesAreRefusedAndWriteNothing) {
  Deposit("acct-1", 1);
  CatchUp();
  const auto post = [&](const std::string& collection, const std::string& body) {
    return Call({.method = "POST", .path = "/collections/" + collection + "/batch", .body = body});
  };
  EXPECT_EQ(ErrorCode(post("tiers", "{not json")), "invalid_json");
  EXPECT_EQ(ErrorCode(post("tiers", "[1]")), "invalid_json");
  EXPECT_EQ(ErrorCode(post("tiers", "{\"projection\":\"p\",\"x\":\"\xff\"}")), "invalid_json");
  const HttpResponse unknown =
      post("tiers", R"({"projection":"p","expected_checkpoint":0,"checkpoint":1,"colour":"red"})");
  EXPECT_EQ(ErrorCode(unknown), "invalid_argument");
  EXPECT_NE(unknown.body.find("colour"), std::string::npos);
  EXPECT_EQ(ErrorCode(post("tiers", R"({"projection":"p","expected_checkpoint":"0",
                                       "checkpoint":1})")),
            "invalid_argument");
  // Beyond the head.
  EXPECT_EQ(ErrorCode(post("tiers", R"({"projection":"p","expected_checkpoint":0,
                                       "checkpoint":99})")),
            "invalid_argument");
  // Another projection's collection.
  const HttpResponse owned = post("counters", R"({"projection":"p","expected_checkpoint":0,
      "checkpoint":1,"upserts":[{"id":"acct-1","document":{"count":100}}]})");
  EXPECT_EQ(ErrorCode(owned), "invalid_argument");
  EXPECT_NE(owned.body.find("belongs to projection counter"), std::string::npos) << owned.body;
  // A document that is not an object, and a reserved _meta.
  EXPECT_EQ(ErrorCode(post("tiers", R"({"projection":"p","expected_checkpoint":0,"checkpoint":1,
                                       "upserts":[{"id":"a","document":[1]}]})")),
            "invalid_argument");
  EXPECT_EQ(ErrorCode(post("tiers", R"({"projection":"p","expected_checkpoint":0,"checkpoint":1,
                                       "upserts":[{"id":"a","document":{"_meta":1}}]})")),
            "invalid_argument");
  // A server-run projection takes no client batches.
  EXPECT_EQ(ErrorCode(post("counters", R"({"projection":"counter","expected_checkpoint":1,
                                          "checkpoint":1})")),
            "failed_precondition");
  // Nothing was stored: no projection "p", the counter document unchanged.
  EXPECT_EQ(Call({.path = "/projections/p"}).status, 404);
  EXPECT_EQ(BodyOf(Call({.path = "/collections/counters/docs/acct-1"}))["document"]["count"], 1);
}

TEST_F(DocumentRoutesTest, ProjectionRoutesListAndOperate) {
  Deposit("acct-1", 1);
  CatchUp();
  const json listed = BodyOf(Call({.path = "/projections"}));
  ASSERT_EQ(listed["projections"].size(), 1u);
  const json& status = listed["projections"][0];
  EXPECT_EQ(status["name"], "counter");
  EXPECT_EQ(status["version"], 1);
  EXPECT_EQ(status["checkpoint"], 1);
  EXPECT_EQ(status["head_position"], 1);
  EXPECT_EQ(status["serving"], true);
  EXPECT_EQ(status["registered"], true);
  EXPECT_EQ(status["leased"], true);  // one process: it runs the projection
  EXPECT_EQ(status["scripted"], false);
  EXPECT_EQ(status["collections"], json::array({"counters"}));

  const HttpResponse paused = Call({.method = "POST", .path = "/projections/counter/pause"});
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(BodyOf(paused)["state"], "paused");
  const HttpResponse resumed = Call({.method = "POST", .path = "/projections/counter/resume"});
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_NE(BodyOf(resumed)["state"], "paused");
  const HttpResponse reset = Call({.method = "POST", .path = "/projections/counter/reset"});
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_EQ(BodyOf(reset)["checkpoint"], 0);

  EXPECT_EQ(Call({.path = "/projections/nope"}).status, 404);
  EXPECT_EQ(Call({.method = "POST", .path = "/projections/counter/explode"}).status, 404);
  EXPECT_EQ(ErrorCode(Call({.method = "POST",
                            .path = "/projections/counter/trigger",
                            .body = R"({"up_to":"soon"})"})),
            "invalid_argument");
  // No script support in this context.
  EXPECT_EQ(
      Call({.method = "PUT", .path = "/projections/counter", .body = R"({"source":""})"}).status,
      503);
}

}  // namespace
}  // namespace triad::server
