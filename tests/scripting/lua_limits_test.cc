// Limits of Lua handlers: a runaway loop and a memory bomb fail the call with
// kResourceExhausted naming the limit, the projection's policy applies, the state is usable for
// the next event, other projections are unaffected, and a script cannot catch the limit error.
#include "triad/lua_projection.h"

#include <atomic>
#include <chrono>
#include <string>

#include "projections/engine_fixture.h"

namespace triad::testing {
namespace {

// Counts Deposited events per stream; an event with data.spin runs `BAD` first.
std::string Script(const std::string& policy, const std::string& bad) {
  return R"(
return {
  event_types = {"Deposited"},
  key = "stream",
  error_policy = ")" +
         policy + R"(",
  collections = {COLLECTION = {}},
  on_event = function(e, ctx)
    if e.data.spin then
)" + bad +
         R"(
    end
    ctx:update("COLLECTION", e.stream, function(d) d.count = (d.count or 0) + 1 return d end)
  end,
}
)";
}

std::string For(std::string source, const std::string& collection) {
  for (size_t at = source.find("COLLECTION"); at != std::string::npos;
       at = source.find("COLLECTION")) {
    source.replace(at, 10, collection);
  }
  return source;
}

constexpr const char* kSpin = "while true do end";
constexpr const char* kCaughtSpin = "for i = 1, 100 do pcall(function() while true do end end) end";
constexpr const char* kMemoryBomb =
    "local t = {} while true do t[#t + 1] = string.rep('x', 1000) .. #t end";

class LuaLimitsTest : public EngineTest {
 protected:
  Status RegisterLua(const std::string& name, const std::string& source, const LuaLimits& limits) {
    auto def = CompileLuaProjection(name, 1, source, limits);
    if (!def.ok()) return def.status();
    return engine_->Register(*std::move(def));
  }

  // Every counted stream of `collection` has `count` events.
  void ExpectCounts(const std::string& collection, const std::map<std::string, int>& counts) {
    const auto docs = AllDocs(collection);
    ASSERT_EQ(docs.size(), counts.size());
    for (const Document& doc : docs) {
      EXPECT_EQ(nlohmann::json::parse(doc.body), nlohmann::json({{"count", counts.at(doc.id)}}))
          << doc.id;
    }
  }

  LuaLimits limits_ = {.max_instructions_per_call = 1'000'000, .max_memory_bytes = 8 << 20};
};

TEST_F(LuaLimitsTest, RunawayLoopFaultsOnlyItsProjection) {
  ASSERT_OK(RegisterLua("spinner", For(Script("stop", kSpin), "spun"), limits_));
  ASSERT_OK(RegisterLua("steady", For(Script("stop", ""), "steadied"), limits_));
  Append("acct-1", "Deposited");
  const Position spin = Append("acct-2", "Deposited", {{"spin", true}});
  Append("acct-1", "Deposited");

  auto run = engine_->RunOnce("spinner");
  ASSERT_ERROR_CODE(run, kResourceExhausted);
  EXPECT_EQ(run.status().message(), "projection spinner@1 faulted at position " +
                                        std::to_string(spin) +
                                        ": instruction limit of 1000000 exceeded in on_event");
  auto status = engine_->GetStatus("spinner");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kFaulted);
  EXPECT_EQ(status->checkpoint, spin - 1);
  EXPECT_EQ(status->last_error_position, spin);
  EXPECT_EQ(status->last_error, "instruction limit of 1000000 exceeded in on_event");
  ExpectCounts("spun", {{"acct-1", 1}});

  auto steady = engine_->RunOnce("steady");
  ASSERT_OK(steady);
  EXPECT_EQ(*steady, Head());
  ExpectCounts("steadied", {{"acct-1", 2}, {"acct-2", 1}});
}

TEST_F(LuaLimitsTest, StateIsUsableAfterALimitUnderSkip) {
  ASSERT_OK(RegisterLua("spinner", For(Script("skip", kSpin), "spun"), limits_));
  Append("acct-1", "Deposited");
  const Position spin = Append("acct-2", "Deposited", {{"spin", true}});
  Append("acct-1", "Deposited");
  Append("acct-2", "Deposited");
  auto run = engine_->RunOnce("spinner");
  ASSERT_OK(run);
  EXPECT_EQ(*run, Head());
  ExpectCounts("spun", {{"acct-1", 2}, {"acct-2", 1}});
  auto letters = engine_->ListDeadLetters("spinner");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].position, spin);
  EXPECT_EQ((*letters)[0].error, "instruction limit of 1000000 exceeded in on_event");
}

TEST_F(LuaLimitsTest, PcallCannotCatchTheLimit) {
  ASSERT_OK(RegisterLua("spinner", For(Script("stop", kCaughtSpin), "spun"), limits_));
  const Position spin = Append("acct-2", "Deposited", {{"spin", true}});
  auto run = engine_->RunOnce("spinner");
  ASSERT_ERROR_CODE(run, kResourceExhausted);
  EXPECT_EQ(run.status().message(), "projection spinner@1 faulted at position " +
                                        std::to_string(spin) +
                                        ": instruction limit of 1000000 exceeded in on_event");
}

TEST_F(LuaLimitsTest, MemoryBombFailsCleanlyAndTheNextEventWorks) {
  ASSERT_OK(RegisterLua("bomb", For(Script("dead_letter", kMemoryBomb), "bombed"),
                        {.max_instructions_per_call = 100'000'000, .max_memory_bytes = 4 << 20}));
  const Position bomb = Append("acct-2", "Deposited", {{"spin", true}});
  Append("acct-1", "Deposited");
  Append("acct-1", "Deposited");
  auto run = engine_->RunOnce("bomb");
  ASSERT_OK(run);
  EXPECT_EQ(*run, Head());
  ExpectCounts("bombed", {{"acct-1", 2}});
  auto letters = engine_->ListDeadLetters("bomb");
  ASSERT_OK(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].position, bomb);
  EXPECT_EQ((*letters)[0].error, "memory limit of 4194304 bytes exceeded in on_event");
}

TEST_F(LuaLimitsTest, WorkUnderTheLimitIsNotStopped) {
  // 10,000 loop iterations are about 40,000 instructions: far under the limit, over one step.
  ASSERT_OK(RegisterLua(
      "busy", For(Script("stop", "local x = 0 for i = 1, 10000 do x = x + i end"), "busied"),
      limits_));
  for (int i = 0; i < 30; ++i) Append("acct-1", "Deposited", {{"spin", true}});
  ASSERT_OK(engine_->RunOnce("busy"));
  ExpectCounts("busied", {{"acct-1", 30}});
}

// Finalizers run with hooks off, outside the instruction limit: a script cannot set a metatable
// with __gc by any path, and __gc added to a metatable afterwards is never called.
TEST_F(LuaLimitsTest, ScriptsCannotInstallFinalizers) {
  ASSERT_OK(RegisterLua("finalizers", R"(
local function spin() while true do end end
return {
  event_types = {"Deposited"},
  key = "stream",
  collections = {probes = {}},
  on_event = function(e, ctx)
    local direct_ok, direct_error = pcall(setmetatable, {}, {__gc = function() end})
    local false_ok = pcall(setmetatable, {}, {__gc = false})
    -- The metatable of arrays is shared and set from C: scripts must not reach it.
    local array_ok = pcall(function() getmetatable(triad.array()).__gc = function() end end)
    -- Added after setmetatable: Lua does not mark the table for finalization.
    local mt = {}
    local t = setmetatable({}, mt)
    rawset(mt, "__gc", spin)
    mt.__gc = spin
    t = nil
    local garbage = 0
    for i = 1, 20000 do garbage = garbage + #{i, i, i} end
    ctx:put("probes", e.stream, {
      direct_ok = direct_ok, direct_error = direct_error, false_ok = false_ok,
      array_ok = array_ok, array_metatable = getmetatable(triad.array()), garbage = garbage})
  end,
})",
                        limits_));
  Append("acct-1", "Deposited");
  Append("acct-2", "Deposited");
  auto run = engine_->RunOnce("finalizers");
  ASSERT_OK(run);
  EXPECT_EQ(*run, Head());
  const nlohmann::json probe = Body("probes", "acct-2");
  EXPECT_EQ(probe["direct_ok"], false);
  EXPECT_EQ(probe["direct_error"],
            "setmetatable: __gc metamethods are not allowed (finalizers would run outside the "
            "instruction limit)");
  EXPECT_EQ(probe["false_ok"], false);
  EXPECT_EQ(probe["array_ok"], false);
  EXPECT_EQ(probe["array_metatable"], false);
  EXPECT_EQ(probe["garbage"], 60000);
  // Closing the state (lua_close runs pending finalizers) does not hang either.
  engine_.reset();
}

TEST_F(LuaLimitsTest, LoopingFinalizerIsRefusedAndTheProjectionFaults) {
  const std::string spin_gc =
      "setmetatable({}, {__gc = function() while true do end end}) "
      "local t = {} for i = 1, 100000 do t[i % 100 + 1] = {i} end";
  auto at_load = CompileLuaProjection("loader", 1,
                                      "local t = {} " + spin_gc +
                                          " return {collections = {c = {}}, on_event = "
                                          "function() end}",
                                      limits_);
  ASSERT_ERROR_CODE(at_load, kInvalidArgument);
  EXPECT_NE(at_load.status().message().find("__gc metamethods are not allowed"), std::string::npos)
      << at_load.status().message();

  ASSERT_OK(RegisterLua("gc_spinner", For(Script("stop", spin_gc), "gc_spun"), limits_));
  Append("acct-1", "Deposited");
  const Position spin = Append("acct-2", "Deposited", {{"spin", true}});
  auto run = engine_->RunOnce("gc_spinner");
  ASSERT_ERROR_CODE(run, kInvalidArgument);
  auto status = engine_->GetStatus("gc_spinner");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kFaulted);
  EXPECT_EQ(status->last_error_position, spin);
  EXPECT_NE(status->last_error.find("__gc metamethods are not allowed"), std::string::npos)
      << status->last_error;
  ExpectCounts("gc_spun", {{"acct-1", 1}});
}

// Each Fill event puts data.docs documents of about 2 KB; the batch may hold 100,000 bytes.
constexpr const char* kFiller = R"(
return {
  event_types = {"Fill"},
  key = "handler",
  max_batch_bytes = 100000,
  collections = {blobs = {}},
  on_event = function(e, ctx)
    local blob = string.rep("x", 2000)
    for i = 1, e.data.docs do ctx:put("blobs", e.stream .. "-" .. i, {blob = blob}) end
  end,
})";

// Events that together pass the batch memory limit commit in several batches, all of them; an
// event that passes it alone fails naming the limit (here: the projection faults before it).
TEST_F(LuaLimitsTest, BatchMemoryLimitSplitsBatchesAndFaultsAnEventOverItAlone) {
  ASSERT_OK(RegisterLua("filler", kFiller, limits_));
  // 12 events of 20 KB: 240 KB, in one batch of 1,000 events without the limit.
  for (int i = 0; i < 12; ++i) Append("fill" + std::to_string(i), "Fill", {{"docs", 10}});
  auto run = engine_->RunOnce("filler");
  ASSERT_OK(run);
  EXPECT_EQ(*run, Head());
  EXPECT_EQ(AllDocs("blobs").size(), 120u);

  const Position big = Append("big", "Fill", {{"docs", 60}});  // 120 KB alone
  Append("fill-after", "Fill", {{"docs", 1}});
  run = engine_->RunOnce("filler");
  ASSERT_ERROR_CODE(run, kResourceExhausted);
  auto status = engine_->GetStatus("filler");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kFaulted);
  EXPECT_EQ(status->checkpoint, big - 1);
  EXPECT_EQ(status->last_error_position, big);
  EXPECT_EQ(status->last_error.rfind("batch memory limit of 100000 bytes (max_batch_bytes) "
                                     "exceeded: the documents of this batch take about ",
                                     0),
            0u)
      << status->last_error;
  EXPECT_EQ(AllDocs("blobs").size(), 120u);
  EXPECT_TRUE(Body("blobs", "big-1").is_null());
}

// The engine's default limit, for a C++ handler too: it fails the event even when the handler
// ignores the error of the write that passed the limit.
TEST_F(LuaLimitsTest, EngineDefaultBatchMemoryLimitHoldsForCppHandlers) {
  EngineOptions options;
  options.clock = clock();
  options.read_model_uri = "memory:";
  options.max_batch_bytes = 50'000;
  engine_.reset();
  auto engine = ProjectionEngine::Open(store_.get(), options);
  ASSERT_OK(engine);
  engine_ = std::move(*engine);
  ProjectionDefinition def;
  def.name = "cpp_filler";
  def.event_types = {"Fill"};
  def.collections = {{"cpp_blobs", {}}};
  def.on_event = [](const EventView& e, ProjectionContext& ctx) -> Status {
    const int docs = nlohmann::json::parse(e.data)["docs"].get<int>();
    for (int i = 1; i <= docs; ++i) {
      auto doc = ctx.Upsert("cpp_blobs", std::string(e.stream) + "-" + std::to_string(i));
      if (doc.ok()) (**doc)["blob"] = std::string(2000, 'x');
    }
    return Status::OK();
  };
  ASSERT_OK(engine_->Register(def));
  for (int i = 0; i < 6; ++i) Append("fill" + std::to_string(i), "Fill", {{"docs", 5}});
  ASSERT_OK(engine_->RunOnce("cpp_filler"));
  EXPECT_EQ(AllDocs("cpp_blobs").size(), 30u);
  const Position big = Append("big", "Fill", {{"docs", 40}});
  auto run = engine_->RunOnce("cpp_filler");
  ASSERT_ERROR_CODE(run, kResourceExhausted);
  EXPECT_NE(run.status().message().find("batch memory limit of 50000 bytes (max_batch_bytes)"),
            std::string::npos)
      << run.status().message();
  auto status = engine_->GetStatus("cpp_filler");
  ASSERT_OK(status);
  EXPECT_EQ(status->checkpoint, big - 1);
  EXPECT_EQ(AllDocs("cpp_blobs").size(), 30u);
}

// Stop interrupts a handler that runs long while staying under its instruction budget: it
// returns within a bound, nothing of the batch is committed, and the projection is not faulted.
TEST_F(LuaLimitsTest, StopInterruptsALongHandlerAndCommitsNothing) {
  auto def = CompileLuaProjection(
      "long", 1,
      For(Script("stop", "local x = 0 for i = 1, 20000000000 do x = x + 1 end"), "longs"),
      {.max_instructions_per_call = int64_t{1} << 50, .max_memory_bytes = 8 << 20});
  ASSERT_OK(def);
  std::atomic<bool> spinning{false};
  def->on_event = [inner = def->on_event, &spinning](const EventView& e, ProjectionContext& ctx) {
    if (e.data.find("spin") != std::string_view::npos) spinning = true;
    return inner(e, ctx);
  };
  ASSERT_OK(engine_->Register(*std::move(def)));
  Append("acct-1", "Deposited");
  Append("acct-2", "Deposited", {{"spin", true}});
  ASSERT_OK(engine_->Start());
  ASSERT_TRUE(Eventually([&] { return spinning.load(); }));
  const auto begin = std::chrono::steady_clock::now();
  engine_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  auto status = engine_->GetStatus("long");
  ASSERT_OK(status);
  EXPECT_EQ(status->checkpoint, 0);
  EXPECT_NE(status->state, ProjectionState::kFaulted);
  EXPECT_EQ(status->last_error, "");
  EXPECT_TRUE(AllDocs("longs").empty());
}

// Pause and Reset do not wait for a long handler either: the batch is abandoned uncommitted.
TEST_F(LuaLimitsTest, PauseAndResetInterruptALongHandler) {
  auto def = CompileLuaProjection(
      "long", 1,
      For(Script("stop", "local x = 0 for i = 1, 20000000000 do x = x + 1 end"), "longs"),
      {.max_instructions_per_call = int64_t{1} << 50, .max_memory_bytes = 8 << 20});
  ASSERT_OK(def);
  std::atomic<int> spins{0};
  def->on_event = [inner = def->on_event, &spins](const EventView& e, ProjectionContext& ctx) {
    if (e.data.find("spin") != std::string_view::npos) ++spins;
    return inner(e, ctx);
  };
  ASSERT_OK(engine_->Register(*std::move(def)));
  Append("acct-1", "Deposited");
  Append("acct-2", "Deposited", {{"spin", true}});
  ASSERT_OK(engine_->Start());
  ASSERT_TRUE(Eventually([&] { return spins.load() == 1; }));
  auto begin = std::chrono::steady_clock::now();
  ASSERT_OK(engine_->Pause("long"));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  auto status = engine_->GetStatus("long");
  ASSERT_OK(status);
  EXPECT_EQ(status->state, ProjectionState::kPaused);
  EXPECT_EQ(status->checkpoint, 0);
  EXPECT_TRUE(AllDocs("longs").empty());

  ASSERT_OK(engine_->Resume("long"));
  ASSERT_TRUE(Eventually([&] { return spins.load() == 2; }));
  begin = std::chrono::steady_clock::now();
  ASSERT_OK(engine_->Reset("long"));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  begin = std::chrono::steady_clock::now();
  engine_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  status = engine_->GetStatus("long");
  ASSERT_OK(status);
  EXPECT_EQ(status->checkpoint, 0);
  EXPECT_EQ(status->last_error, "");
}

// `levels` nested objects: {"a":{"a":{}}} is 3 levels.
std::string Nested(int levels) {
  std::string text;
  for (int i = 1; i < levels; ++i) text += R"({"a":)";
  text += "{}";
  text.append(static_cast<size_t>(levels - 1), '}');
  return text;
}

// One depth limit for the store and the Lua mapping: an event deeper than it is refused at
// append (so no writer can stop every Lua projection with one event), and an event exactly at
// it is projected.
TEST_F(LuaLimitsTest, DepthLimitRefusesDeepAppendsAndLuaReadsEventsAtTheLimit) {
  ASSERT_OK(RegisterLua("depth", R"(
return {
  event_types = {"Deep"},
  key = "stream",
  collections = {depths = {}},
  on_event = function(e, ctx)
    local function levels(t)
      local n = 1
      while type(t.a) == "table" do n = n + 1 t = t.a end
      return n
    end
    ctx:put("depths", e.stream, {data = levels(e.data), metadata = levels(e.metadata)})
  end,
})",
                        limits_));
  for (int levels : {kMaxJsonDepth + 1, 1000, 5000}) {
    SCOPED_TRACE(levels);
    NewEvent deep_data{.type = "Deep", .data = Nested(levels)};
    auto refused = store_->Append("deep-1", ExpectedVersion::Any(), {&deep_data, 1});
    ASSERT_ERROR_CODE(refused, kInvalidArgument);
    EXPECT_EQ(refused.status().message(),
              "event 0: data nests objects and arrays deeper than 128 levels; the limit is 128");
    NewEvent deep_metadata{.type = "Deep", .data = "{}", .metadata = Nested(levels)};
    refused = store_->Append("deep-1", ExpectedVersion::Any(), {&deep_metadata, 1});
    ASSERT_ERROR_CODE(refused, kInvalidArgument);
    EXPECT_EQ(refused.status().message(),
              "event 0: metadata nests objects and arrays deeper than 128 levels; the limit is "
              "128");
  }
  // Brackets inside strings do not count.
  NewEvent brackets{.type = "Deep", .data = R"({"s":")" + std::string(500, '[') + R"("})"};
  ASSERT_OK(store_->Append("flat-1", ExpectedVersion::Any(), {&brackets, 1}));
  NewEvent at_limit{
      .type = "Deep", .data = Nested(kMaxJsonDepth), .metadata = Nested(kMaxJsonDepth)};
  ASSERT_OK(store_->Append("deep-1", ExpectedVersion::Any(), {&at_limit, 1}));
  auto run = engine_->RunOnce("depth");
  ASSERT_OK(run);
  EXPECT_EQ(*run, Head());
  EXPECT_EQ(Body("depths", "deep-1"),
            nlohmann::json({{"data", kMaxJsonDepth}, {"metadata", kMaxJsonDepth}}));
  EXPECT_EQ(Body("depths", "flat-1"), nlohmann::json({{"data", 1}, {"metadata", 1}}));
}

}  // namespace
}  // namespace triad::testing
