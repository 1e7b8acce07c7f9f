// The append rules every backend keeps: versions and positions, expected versions (promise 3),
// idempotency (promise 4), the envelope, and refusal of bad input (promise 7).
#include "testing/simulated_clock.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conformance/store_factory.h"

namespace triad::testing {
namespace {

NewEvent Ev(std::string type, std::string data = "{}", std::string id = "") {
  NewEvent e;
  e.id = std::move(id);
  e.type = std::move(type);
  e.data = std::move(data);
  return e;
}

Result<AppendResult> Append(EventStore& store, std::string_view stream, ExpectedVersion expected,
                            const std::vector<NewEvent>& events) {
  return store.Append(stream, expected, events);
}

class AppendContractTest : public StoreTest {};

TEST_P(AppendContractTest, NewStreamGetsVersionsFromZeroAndPositionsFromOne) {
  auto r = Append(store(), "account-1", ExpectedVersion::NoStream(),
                  {Ev("Opened"), Ev("Deposited"), Ev("Deposited")});
  ASSERT_OK(r);
  EXPECT_EQ(r->first_version, 0);
  EXPECT_EQ(r->last_version, 2);
  EXPECT_EQ(r->first_position, 1);
  EXPECT_EQ(r->last_position, 3);
  EXPECT_FALSE(r->already_stored);

  auto r2 = Append(store(), "account-2", ExpectedVersion::Any(), {Ev("Opened")});
  ASSERT_OK(r2);
  EXPECT_EQ(r2->first_version, 0);
  EXPECT_EQ(r2->first_position, 4);

  auto r3 = Append(store(), "account-1", ExpectedVersion::Exact(2), {Ev("Withdrawn")});
  ASSERT_OK(r3);
  EXPECT_EQ(r3->first_version, 3);
  EXPECT_EQ(r3->first_position, 5);
  auto head = store().HeadPosition();
  ASSERT_OK(head);
  EXPECT_EQ(*head, 5);
}

TEST_P(AppendContractTest, ExpectedVersionChecksCarryTheCurrentVersion) {
  // Exists on a missing stream.
  auto missing = Append(store(), "s-1", ExpectedVersion::Exists(), {Ev("A")});
  ASSERT_ERROR_CODE(missing, kAborted);
  EXPECT_EQ(missing.status().current_version(), kNoStreamVersion);

  // Exact on a missing stream.
  auto exact_missing = Append(store(), "s-1", ExpectedVersion::Exact(0), {Ev("A")});
  ASSERT_ERROR_CODE(exact_missing, kAborted);
  EXPECT_EQ(exact_missing.status().current_version(), kNoStreamVersion);

  ASSERT_OK(Append(store(), "s-1", ExpectedVersion::NoStream(), {Ev("A"), Ev("B")}));

  auto again = Append(store(), "s-1", ExpectedVersion::NoStream(), {Ev("C")});
  ASSERT_ERROR_CODE(again, kAborted);
  EXPECT_EQ(again.status().current_version(), 1);
  EXPECT_NE(again.status().message().find("s-1"), std::string::npos);

  auto stale = Append(store(), "s-1", ExpectedVersion::Exact(0), {Ev("C")});
  ASSERT_ERROR_CODE(stale, kAborted);
  EXPECT_EQ(stale.status().current_version(), 1);

  auto ahead = Append(store(), "s-1", ExpectedVersion::Exact(5), {Ev("C")});
  ASSERT_ERROR_CODE(ahead, kAborted);
  EXPECT_EQ(ahead.status().current_version(), 1);

  auto exists = Append(store(), "s-1", ExpectedVersion::Exists(), {Ev("C")});
  ASSERT_OK(exists);
  EXPECT_EQ(exists->first_version, 2);
  auto any = Append(store(), "s-1", ExpectedVersion::Any(), {Ev("D")});
  ASSERT_OK(any);
  EXPECT_EQ(any->first_version, 3);

  // Failed checks wrote nothing.
  auto head = store().HeadPosition();
  ASSERT_OK(head);
  EXPECT_EQ(*head, 4);
}

TEST_P(AppendContractTest, ExactMinusOneMeansNoStream) {
  ASSERT_OK(Append(store(), "s-1", ExpectedVersion::Exact(-1), {Ev("A")}));
  ASSERT_ERROR_CODE(Append(store(), "s-1", ExpectedVersion::Exact(-1), {Ev("A")}), kAborted);
}

constexpr const char* kId1 = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a51";
constexpr const char* kId2 = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a52";
constexpr const char* kId3 = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a53";

TEST_P(AppendContractTest, ResendingTheSameIdsReturnsTheFirstResultAndWritesNothing) {
  ASSERT_OK(Append(store(), "other-1", ExpectedVersion::Any(), {Ev("X")}));
  const std::vector<NewEvent> batch = {Ev("A", R"({"n":1})", kId1), Ev("B", R"({"n":2})", kId2)};
  auto first = Append(store(), "order-7", ExpectedVersion::NoStream(), batch);
  ASSERT_OK(first);
  EXPECT_FALSE(first->already_stored);
  ASSERT_OK(Append(store(), "other-1", ExpectedVersion::Any(), {Ev("Y")}));

  auto retry = Append(store(), "order-7", ExpectedVersion::NoStream(), batch);
  ASSERT_OK(retry);
  EXPECT_TRUE(retry->already_stored);
  EXPECT_EQ(retry->first_version, 0);
  EXPECT_EQ(retry->last_version, 1);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->last_position, first->last_position);

  // With `any` too, and with upper-case ids (ids are canonicalized).
  std::vector<NewEvent> upper = batch;
  for (NewEvent& e : upper) {
    for (char& c : e.id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  auto retry_any = Append(store(), "order-7", ExpectedVersion::Any(), upper);
  ASSERT_OK(retry_any);
  EXPECT_TRUE(retry_any->already_stored);
  EXPECT_EQ(retry_any->first_position, first->first_position);

  auto head = store().HeadPosition();
  ASSERT_OK(head);
  EXPECT_EQ(*head, 4);
  auto info = store().GetStreamInfo("order-7");
  ASSERT_OK(info);
  EXPECT_EQ(info->event_count, 2);
}

TEST_P(AppendContractTest, ResendAtAnIncompatibleExpectedVersionIsAConflict) {
  const std::vector<NewEvent> batch = {Ev("A", "{}", kId1)};
  ASSERT_OK(Append(store(), "order-7", ExpectedVersion::NoStream(), batch));
  ASSERT_OK(Append(store(), "order-7", ExpectedVersion::Exact(0), {Ev("B")}));
  auto r = Append(store(), "order-7", ExpectedVersion::Exact(1), batch);
  ASSERT_ERROR_CODE(r, kAborted);
  EXPECT_EQ(r.status().current_version(), 1);
  EXPECT_NE(r.status().message().find("already appended to 'order-7' at versions 0..0"),
            std::string::npos)
      << r.status().message();
}

TEST_P(AppendContractTest, SameIdWithOtherContentIsRefused) {
  ASSERT_OK(Append(store(), "order-7", ExpectedVersion::NoStream(), {Ev("A", R"({"n":1})", kId1)}));
  auto other_data =
      Append(store(), "order-7", ExpectedVersion::NoStream(), {Ev("A", R"({"n":2})", kId1)});
  ASSERT_ERROR_CODE(other_data, kAlreadyExists);
  EXPECT_NE(other_data.status().message().find(kId1), std::string::npos);
  auto other_type =
      Append(store(), "order-7", ExpectedVersion::NoStream(), {Ev("Z", R"({"n":1})", kId1)});
  ASSERT_ERROR_CODE(other_type, kAlreadyExists);
  auto other_stream =
      Append(store(), "order-8", ExpectedVersion::Any(), {Ev("A", R"({"n":1})", kId1)});
  ASSERT_ERROR_CODE(other_stream, kAlreadyExists);
  EXPECT_NE(other_stream.status().message().find("order-7"), std::string::npos);

  // A batch whose first id is new but a later id is stored: refused, nothing from it stored.
  auto partial = Append(store(), "order-9", ExpectedVersion::Any(),
                        {Ev("A", "{}", kId2), Ev("A", R"({"n":1})", kId1)});
  ASSERT_ERROR_CODE(partial, kAlreadyExists);
  ASSERT_ERROR_CODE(store().GetStreamInfo("order-9"), kNotFound);
  // A retry that only partly matches the stored batch.
  auto mismatch = Append(store(), "order-7", ExpectedVersion::Any(),
                         {Ev("A", R"({"n":1})", kId1), Ev("B", "{}", kId3)});
  ASSERT_ERROR_CODE(mismatch, kAlreadyExists);

  auto head = store().HeadPosition();
  ASSERT_OK(head);
  EXPECT_EQ(*head, 1);
}

TEST_P(AppendContractTest, EnvelopeIsStoredAsGiven) {
  SimulatedClock clock(1'767'225'600'123'456);
  options_.clock = &clock;
  ASSERT_OK(Reopen());
  NewEvent e = Ev("Deposited", "{ \"amount\" : 10,\n \"note\": \"caf\xc3\xa9\" }", kId1);
  e.metadata = R"({"correlation_id":"corr-1","causation_id":"cause-9","user":"ada"})";
  ASSERT_OK(store().Append("account-5", ExpectedVersion::Any(), {&e, 1}));
  NewEvent generated = Ev("Noted");
  ASSERT_OK(store().Append("account-5", ExpectedVersion::Any(), {&generated, 1}));

  auto events = store().ReadStream("account-5", {});
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  const RecordedEvent& got = (*events)[0];
  EXPECT_EQ(got.id, kId1);
  EXPECT_EQ(got.stream, "account-5");
  EXPECT_EQ(got.version, 0);
  EXPECT_EQ(got.position, 1);
  EXPECT_EQ(got.type, "Deposited");
  EXPECT_EQ(got.data, e.data);  // byte for byte, whitespace included
  EXPECT_EQ(got.metadata, e.metadata);
  EXPECT_EQ(got.correlation_id, "corr-1");
  EXPECT_EQ(got.causation_id, "cause-9");
  EXPECT_EQ(got.recorded_at_us, 1'767'225'600'123'456);
  EXPECT_EQ(FormatTimestamp(got.recorded_at_us), "2026-01-01T00:00:00.123456Z");

  const RecordedEvent& gen = (*events)[1];
  EXPECT_EQ(gen.id.size(), 36u);
  EXPECT_EQ(gen.id[14], '7') << "generated ids are UUIDv7: " << gen.id;
  EXPECT_EQ(gen.metadata, "{}");
  EXPECT_TRUE(gen.correlation_id.empty());
}

TEST_P(AppendContractTest, GeneratedIdsAreUnique) {
  std::vector<NewEvent> batch(500, Ev("T"));
  auto r = store().Append("bulk-1", ExpectedVersion::Any(), batch);
  ASSERT_OK(r);
  auto events = store().ReadStream("bulk-1", {});
  ASSERT_OK(events);
  std::set<std::string> ids;
  for (const RecordedEvent& e : *events) ids.insert(e.id);
  EXPECT_EQ(ids.size(), 500u);
}

// Bad input of every kind: refused with kInvalidArgument naming the problem; nothing stored.
struct BadAppend {
  std::string label;
  std::string stream;
  std::vector<NewEvent> events;
  std::string message_part;
};

TEST_P(AppendContractTest, BadInputIsRefusedAndNothingIsStored) {
  ASSERT_OK(Append(store(), "good-1", ExpectedVersion::Any(), {Ev("A")}));
  NewEvent bad_meta = Ev("A");
  bad_meta.metadata = R"({"correlation_id": 42})";
  NewEvent meta_array = Ev("A");
  meta_array.metadata = "[]";
  NewEvent meta_repeated = Ev("A");
  meta_repeated.metadata = R"({"trace":{"k":1,"k":2}})";
  const std::vector<BadAppend> cases = {
      {"empty stream", "", {Ev("A")}, "stream name is empty"},
      {"space in stream", "a b", {Ev("A")}, "may contain only"},
      {"slash in stream", "a/b", {Ev("A")}, "may contain only"},
      {"leading dash", "-a", {Ev("A")}, "must start with"},
      {"long stream", std::string(201, 'a'), {Ev("A")}, "limit is 200"},
      {"no events", "good-2", {}, "at least one event"},
      {"empty type", "good-2", {Ev("")}, "event type is empty"},
      {"type with space", "good-2", {Ev("A B")}, "may contain only"},
      {"type starting with digit", "good-2", {Ev("1A")}, "must start with a letter"},
      {"long type", "good-2", {Ev(std::string(101, 'A'))}, "limit is 100"},
      {"data not json", "good-2", {Ev("A", "{nope")}, "data is not valid JSON"},
      {"data array", "good-2", {Ev("A", "[1,2]")}, "data is not a JSON object"},
      {"data string", "good-2", {Ev("A", "\"x\"")}, "data is not a JSON object"},
      {"data empty", "good-2", {Ev("A", "")}, "data is not valid JSON"},
      {"data trailing garbage", "good-2", {Ev("A", "{} x")}, "data is not valid JSON"},
      {"data invalid utf8", "good-2", {Ev("A", "{\"a\":\"\xff\xfe\"}")}, "data is not valid JSON"},
      {"metadata id not string", "good-2", {bad_meta}, "correlation_id must be a string"},
      {"metadata array", "good-2", {meta_array}, "metadata is not a JSON object"},
      {"data repeats a key",
       "good-2",
       {Ev("A", R"({"a":1,"a":2})")},
       "data: key 'a' appears twice at the top level"},
      {"nested data repeats an escaped key",
       "good-2",
       {Ev("A", R"({"l":[{"b":1,"\u0062":2}]})")},
       "data: key 'b' appears twice in 'l[0]'"},
      {"metadata repeats a key",
       "good-2",
       {meta_repeated},
       "metadata: key 'k' appears twice in 'trace'"},
      {"bad uuid", "good-2", {Ev("A", "{}", "not-a-uuid")}, "is not a UUID"},
      {"duplicate id", "good-2", {Ev("A", "{}", kId1), Ev("B", "{}", kId1)}, "appears twice"},
      {"second event bad", "good-2", {Ev("A"), Ev("B", "[]")}, "event 1: data"},
      {"event too big",
       "good-2",
       {Ev("A", "{\"x\":\"" + std::string(1 << 20, 'x') + "\"}")},
       "limit is"},
  };
  for (const BadAppend& c : cases) {
    SCOPED_TRACE(c.label);
    auto r = Append(store(), c.stream, ExpectedVersion::Any(), c.events);
    ASSERT_ERROR_CODE(r, kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos) << r.status().message();
  }
  std::vector<NewEvent> too_many(10001, Ev("A"));
  ASSERT_ERROR_CODE(Append(store(), "good-2", ExpectedVersion::Any(), too_many), kInvalidArgument);

  auto head = store().HeadPosition();
  ASSERT_OK(head);
  EXPECT_EQ(*head, 1);
  ASSERT_ERROR_CODE(store().GetStreamInfo("good-2"), kNotFound);
  auto check = store().Check();
  ASSERT_OK(check);
  EXPECT_TRUE(check->ok());
}

TEST_P(AppendContractTest, LimitsComeFromOptions) {
  options_.max_events_per_append = 2;
  options_.max_event_bytes = 64;
  ASSERT_OK(Reopen());
  ASSERT_ERROR_CODE(Append(store(), "s-1", ExpectedVersion::Any(), {Ev("A"), Ev("A"), Ev("A")}),
                    kInvalidArgument);
  ASSERT_ERROR_CODE(Append(store(), "s-1", ExpectedVersion::Any(),
                           {Ev("A", R"({"x":")" + std::string(64, 'x') + "\"}")}),
                    kInvalidArgument);
  ASSERT_OK(Append(store(), "s-1", ExpectedVersion::Any(), {Ev("A"), Ev("A")}));
}

INSTANTIATE_TEST_SUITE_P(Backends, AppendContractTest, ::testing::ValuesIn(AllBackends()),
                         BackendName);

}  // namespace
}  // namespace triad::testing
