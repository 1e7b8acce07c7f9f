// Lua projections run by the engine: exact documents with _meta (the C++ counter's fold), the
// ctx API, the three error policies exactly as for C++ handlers, fresh reads, and globals.
#include "triad/lua_projection.h"

#include <string>

#include "projections/engine_fixture.h"

namespace triad::testing {
namespace {

// The Lua twin of CounterProjection(): counts Deposited events and sums their amounts per
// account stream. A "bad" event fails after a write, so the failure must be rolled back.
constexpr const char* kCounter = R"(
return {
  event_types = {"Deposited"},
  categories = {"acct"},
  key = "stream",
  error_policy = POLICY,
  collections = {counters = {indexes = {{path = "count", type = "number"}}}},
  on_event = function(e, ctx)
    ctx:update("counters", e.stream, function(doc)
      doc.touched = true
      return doc
    end)
    if e.data.bad then error("bad event at " .. e.position) end
    ctx:update("counters", e.stream, function(doc)
      doc.touched = nil
      doc.count = (doc.count or 0) + 1
      doc.sum = (doc.sum or 0) + (e.data.amount or 0)
      return doc
    end)
  end,
}
)";

std::string Counter(const std::string& policy) {
  std::string source = kCounter;
  source.replace(source.find("POLICY"), 6, "\"" + policy + "\"");
  return source;
}

class LuaEngineTest : public EngineTest {
 protected:
  Status RegisterLua(const std::string& name, const std::string& source,
                     const LuaLimits& limits = {}) {
    auto def = CompileLuaProjection(name, 1, source, limits);
    if (!def.ok()) return def.status();
    return engine_->Register(*std::move(def));
  }

  // 20 deposits with the 11th bad, in acct-0 and acct-1 alternately (as policies_test.cc).
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

  void ExpectFoldWithout(Position skipped) {
    auto log = Log();
    std::erase_if(log, [&](const RecordedEvent& e) { return e.position == skipped; });
    const auto fold = FoldCounters(log, Head());
    ASSERT_EQ(fold.size(), 2u);
    for (const auto& [stream, f] : fold) {
      const auto body = Body("counters", stream);
      EXPECT_EQ(body, nlohmann::json({{"count", f.count}, {"sum", f.sum}})) << stream;
    }
  }
};

TEST_F(LuaEngineTest, WritesTheSameDocumentsAsTheCppCounter) {
  ASSERT_OK(RegisterLua("counter", Counter("stop")));
  for (int i = 0; i < 12; ++i) {
    Append("acct-" + std::to_string(i % 3), "Deposited", {{"amount", i}});
    Append("other-1", "Deposited", {{"amount", 1000}});  // another category
    Append("acct-0", "Withdrawn", {{"amount", 5}});      // another type
  }
  auto reached = engine_->RunOnce("counter");
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, Head());
  ExpectCountersMatchFold(Head(), "counter@1");
  // Exact bodies: integers stay integers, the temporary member is gone.
  EXPECT_EQ(Body("counters", "acct-1"), nlohmann::json({{"count", 4}, {"sum", 1 + 4 + 7 + 10}}));
  EXPECT_EQ(Body("counters", "acct-1").dump(), R"({"count":4,"sum":22})");
}

TEST_F(LuaEngineTest, StopFaultsBeforeTheFailingEventWithTheLuaMessage) {
  const Position bad = AppendWithBadEvent();
  ASSERT_OK(RegisterLua("counter", Counter("stop")));
  auto run = engine_->RunOnce("counter");
  ASSERT_ERROR_CODE(run, kInvalidArgument);
  const std::string expected = "on_event: counter:13: bad event at " + std::to_string(bad);
  EXPECT_NE(run.status().message().find(expected), std::string::npos) << run.status().ToString();
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kFaulted);
  EXPECT_EQ(status->checkpoint, bad - 1);
  EXPECT_EQ(status->last_error_position, bad);
  EXPECT_EQ(status->last_error, expected);
  ExpectCountersMatchFold(bad - 1);
  // Resume retries the same event: still bad.
  ASSERT_OK(engine_->Resume("counter"));
  ASSERT_ERROR_CODE(engine_->RunOnce("counter"), kInvalidArgument);
  ExpectCountersMatchFold(bad - 1);
}

TEST_F(LuaEngineTest, SkipRecordsTheEventAndGoesOn) {
  const Position bad = AppendWithBadEvent();
  ASSERT_OK(RegisterLua("counter", Counter("skip")));
  auto reached = engine_->RunOnce("counter");
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, Head());
  ExpectFoldWithout(bad);
  auto letters = engine_->ListDeadLetters("counter");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].kind, DeadLetterKind::kSkipped);
  EXPECT_EQ((*letters)[0].position, bad);
  EXPECT_EQ((*letters)[0].error, "on_event: counter:13: bad event at " + std::to_string(bad));
  auto status = engine_->GetStatus("counter");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kCaughtUp);
  EXPECT_EQ(status->dead_letters, 1);
}

TEST_F(LuaEngineTest, DeadLetterParksTheEventAndGoesOn) {
  const Position bad = AppendWithBadEvent();
  ASSERT_OK(RegisterLua("counter", Counter("dead_letter")));
  ASSERT_OK(engine_->RunOnce("counter"));
  ExpectFoldWithout(bad);
  auto letters = engine_->ListDeadLetters("counter");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].kind, DeadLetterKind::kParked);
  EXPECT_EQ((*letters)[0].position, bad);
  // A replay fails again the same way: kept, one more attempt.
  auto replayed = engine_->ReplayDeadLetters("counter");
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, 0);
  letters = engine_->ListDeadLetters("counter");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].attempts, 2);
}

TEST_F(LuaEngineTest, FreshReadRunsTheLuaHandler) {
  ASSERT_OK(RegisterLua("counter", Counter("stop")));
  for (int i = 0; i < 6; ++i) Append("acct-" + std::to_string(i % 2), "Deposited", {{"amount", i}});
  ASSERT_OK(engine_->RunOnce("counter"));
  Append("acct-1", "Deposited", {{"amount", 100}});
  Append("acct-1", "Deposited", {{"amount", 200}});
  GetOptions fresh;
  fresh.fresh = true;
  auto read = engine_->Get("counters", "acct-1", fresh);
  ASSERT_OK(read);
  ASSERT_TRUE(read->document);
  EXPECT_EQ(nlohmann::json::parse(read->document->body),
            nlohmann::json({{"count", 5}, {"sum", 1 + 3 + 5 + 100 + 200}}));
  // Nothing was written: the served document is still at the checkpoint.
  EXPECT_EQ(Body("counters", "acct-1"), nlohmann::json({{"count", 3}, {"sum", 9}}));
}

TEST_F(LuaEngineTest, CtxApiReadsWritesDeletesAndFinds) {
  ASSERT_OK(RegisterLua("owners", R"(
return {
  collections = {people = {indexes = {{path = "age", type = "number"},
                                      {path = "name", type = "string"}}},
                 log = {}},
  on_event = function(e, ctx)
    if e.type == "Born" then
      ctx:put("people", e.data.name, {name = e.data.name, age = e.data.age, tags = triad.array()})
    elseif e.type == "Died" then
      ctx:delete("people", e.data.name)
    elseif e.type == "Census" then
      local adults = ctx:find("people", {where = {{"age", ">=", 18}}, order_by = "age",
                                         desc = true})
      local names = triad.array()
      for _, found in ipairs(adults) do names[#names + 1] = found.id .. ":" .. found.doc.age end
      local few = ctx:find("people", {where = {{"name", "in", {"bo", "cy"}}}})
      ctx:put("log", "census", {adults = names, in_count = #few, now = ctx:now_us(),
                                missing = ctx:get("people", "nobody") == nil,
                                event = {stream = e.stream, version = e.version,
                                         type = e.type, position = e.position,
                                         recorded_at_us = e.recorded_at_us}})
    end
  end,
}
)"));
  Append("town-1", "Born", {{"name", "al"}, {"age", 40}});
  Append("town-1", "Born", {{"name", "bo"}, {"age", 12}});
  Append("town-1", "Born", {{"name", "cy"}, {"age", 30}});
  Append("town-1", "Born", {{"name", "di"}, {"age", 70}});
  Append("town-1", "Died", {{"name", "di"}});
  const Position census = Append("town-1", "Census");
  ASSERT_OK(engine_->RunOnce("owners"));
  EXPECT_EQ(Body("people", "bo"),
            nlohmann::json({{"name", "bo"}, {"age", 12}, {"tags", nlohmann::json::array()}}));
  EXPECT_EQ(Body("people", "di"), nullptr);
  const auto log = Log();
  const nlohmann::json expected = {{"adults", {"al:40", "cy:30"}},
                                   {"in_count", 2},
                                   {"now", sim_.NowMicros()},
                                   {"missing", true},
                                   {"event",
                                    {{"stream", "town-1"},
                                     {"version", 5},
                                     {"type", "Census"},
                                     {"position", census},
                                     {"recorded_at_us", log.back().recorded_at_us}}}};
  EXPECT_EQ(Body("log", "census"), expected);
}

TEST_F(LuaEngineTest, HandlersCannotKeepStateInGlobals) {
  ASSERT_OK(RegisterLua("counter", R"(
total = 0  -- allowed while loading
return {
  collections = {counters = {}},
  on_event = function(e, ctx) total = total + 1 end,
}
)"));
  Append("acct-1", "Deposited");
  auto run = engine_->RunOnce("counter");
  ASSERT_ERROR_CODE(run, kInvalidArgument);
  EXPECT_NE(run.status().message().find("cannot assign global 'total'"), std::string::npos)
      << run.status().ToString();
}

TEST_F(LuaEngineTest, BadCtxArgumentsAndDocumentsAreHandlerErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {R"(ctx:put("nope", "x", {}))", "counter:5: "},
      {R"(ctx:put("counters", "x", {1, 2, x = 3}))",
       "counter:5: ctx:put document: a table mixes string keys with a number key"},
      {R"(ctx:put("counters", "x", {v = {0/0}}))",
       "counter:5: ctx:put document: at v[1]: NaN or infinite number"},
      {R"(ctx.get("counters", "x"))", "call it as ctx:get(...), with a colon"},
      {R"(ctx.put = function() end)", "counter:5: ctx is read-only"},
      {R"(ctx:find("counters", {where = {{"count", "between", 1}}}))",
       "counter:5: unknown operator 'between'"},
  };
  for (const auto& [body, expected] : cases) {
    SCOPED_TRACE(body);
    TearDown();
    SetUp();
    ASSERT_OK(RegisterLua("counter", std::string(R"(
return {
  collections = {counters = {}},
  on_event = function(e, ctx)
)") + body + "\nend }"));
    Append("acct-1", "Deposited");
    auto run = engine_->RunOnce("counter");
    ASSERT_ERROR_CODE(run, kInvalidArgument);
    EXPECT_NE(run.status().message().find(expected), std::string::npos) << run.status().ToString();
  }
}

// ctx:find sees the running handler's own writes (they go into the batch's transaction first);
// when that handler then fails, its writes are rolled back and the batch's other events commit.
TEST_F(LuaEngineTest, FindSeesTheCallsOwnWritesAndAFailedCallLeavesNoTrace) {
  ASSERT_OK(RegisterLua("seen", R"(
return {
  event_types = {"Item"},
  key = "stream",
  error_policy = "skip",
  collections = {items = {indexes = {{path = "n", type = "number"}}}},
  on_event = function(e, ctx)
    ctx:put("items", e.stream, {n = e.data.n})
    local found = ctx:find("items", {where = {{"n", "ge", 0}}})
    ctx:update("items", e.stream, function(d) d.seen = #found return d end)
    if e.data.bad then error("bad item") end
  end,
})"));
  Append("item-a", "Item", {{"n", 1}});
  const Position bad = Append("item-b", "Item", {{"n", 2}, {"bad", true}});
  Append("item-c", "Item", {{"n", 3}});
  auto run = engine_->RunOnce("seen");
  ASSERT_OK(run);
  EXPECT_EQ(*run, Head());
  EXPECT_EQ(Body("items", "item-a"), nlohmann::json({{"n", 1}, {"seen", 1}}));
  EXPECT_TRUE(Body("items", "item-b").is_null());
  EXPECT_EQ(Body("items", "item-c"), nlohmann::json({{"n", 3}, {"seen", 2}}));
  auto letters = engine_->ListDeadLetters("seen");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].position, bad);
}

}  // namespace
}  // namespace triad::testing
