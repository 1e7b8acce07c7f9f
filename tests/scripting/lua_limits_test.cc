// Limits of Lua handlers: a runaway loop and a memory bomb fail the call with
// kResourceExhausted naming the limit, the projection's policy applies, the state is usable for
// the next event, other projections are unaffected, and a script cannot catch the limit error.
#include "triad/lua_projection.h"

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

}  // namespace
}  // namespace triad::testing
