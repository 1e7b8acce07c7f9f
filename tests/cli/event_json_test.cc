// triad/event_json.h: the envelope encodings shared by the CLI and the HTTP server.
#include "triad/event_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace triad {
namespace {

using Json = nlohmann::json;

RecordedEvent SampleEvent() {
  return RecordedEvent{.id = "0190e2a0-1234-7000-8000-00000000000a",
                       .stream = "account-42",
                       .version = 3,
                       .position = 17,
                       .type = "Deposited",
                       .data = R"({"amount": 12.50, "note":"caf\u00e9"})",
                       .metadata = R"({"correlation_id":"c-1"})",
                       .correlation_id = "c-1",
                       .causation_id = "",
                       .recorded_at_us = 1'700'000'000'123'456};
}

TEST(EventToJsonTest, WritesTheEnvelopeInOrderWithDataVerbatim) {
  EXPECT_EQ(EventToJson(SampleEvent()),
            R"({"id":"0190e2a0-1234-7000-8000-00000000000a","stream":"account-42","version":3,)"
            R"("position":17,"type":"Deposited","data":{"amount": 12.50, "note":"caf\u00e9"},)"
            R"("metadata":{"correlation_id":"c-1"},"correlation_id":"c-1",)"
            R"("recorded_at":"2023-11-14T22:13:20.123456Z"})");
}

TEST(EventToJsonTest, OptionalFieldsAppearOnlyWhenSet) {
  RecordedEvent e = SampleEvent();
  e.correlation_id.clear();
  e.causation_id = "k-9";
  const Json json = Json::parse(EventToJson(e));
  EXPECT_FALSE(json.contains("correlation_id"));
  EXPECT_EQ(json["causation_id"], "k-9");
  e.data.clear();
  e.metadata.clear();
  const Json empty = Json::parse(EventToJson(e));
  EXPECT_EQ(empty["data"], Json::object());
  EXPECT_EQ(empty["metadata"], Json::object());
}

TEST(EventToJsonTest, StaysOneValidLine) {
  RecordedEvent e = SampleEvent();
  e.data = "{\n  \"a\": \"x\\ny\",\r\n  \"b\": 1\n}";
  e.causation_id = "quote\" back\\slash \x01 tab\t nl\n";
  const std::string line = EventToJson(e);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  const Json json = Json::parse(line);
  EXPECT_EQ(json["data"]["a"], "x\ny");
  EXPECT_EQ(json["data"]["b"], 1);
  EXPECT_EQ(json["causation_id"], "quote\" back\\slash \x01 tab\t nl\n");
  EXPECT_NE(line.find(R"(\u0001)"), std::string::npos);
}

TEST(AppendJsonStringTest, ReplacesInvalidUtf8) {
  std::string out;
  AppendJsonString(out, "ok \xC3\xA9 \xF0\x9F\x98\x80 bad \xFF \xC3 \xED\xA0\x80 end");
  EXPECT_EQ(out, "\"ok \xC3\xA9 \xF0\x9F\x98\x80 bad \\ufffd \\ufffd \\ufffd\\ufffd\\ufffd end\"");
  Json parsed;  // assigned: gcc ignores a (void) cast of a [[nodiscard]] result
  EXPECT_NO_THROW(parsed = Json::parse(out));
}

TEST(AppendResultToJsonTest, WritesAllFields) {
  const AppendResult r{.first_version = 2,
                       .last_version = 4,
                       .first_position = 10,
                       .last_position = 12,
                       .already_stored = true};
  EXPECT_EQ(AppendResultToJson("cart-\"1", r),
            R"({"stream":"cart-\"1","first_version":2,"last_version":4,"first_position":10,)"
            R"("last_position":12,"already_stored":true})");
}

TEST(StreamInfoToJsonTest, WritesAllFields) {
  const StreamInfo info{.name = "account-42",
                        .category = "account",
                        .version = 3,
                        .first_position = 5,
                        .last_position = 17,
                        .event_count = 4,
                        .last_recorded_at_us = 0};
  EXPECT_EQ(
      StreamInfoToJson(info),
      R"({"stream":"account-42","category":"account","version":3,"event_count":4,)"
      R"("first_position":5,"last_position":17,"last_recorded_at":"1970-01-01T00:00:00.000000Z"})");
}

}  // namespace
}  // namespace triad
