// cli/ndjson_events: parsing `triad append STREAM -` input.
#include "cli/ndjson_events.h"

#include "testing/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace triad::cli {
namespace {

using ::testing::HasSubstr;

TEST(ParseEventLineTest, KeepsDataAndMetadataBytesAsWritten) {
  auto event = ParseEventLine(
      R"( {"metadata": {"correlation_id" : "c"}, "type":"A", "id":"x", "data":{ "b":[1, 2.50], "s":"\u00e9\"" }} )");
  ASSERT_OK(event);
  EXPECT_EQ(event->type, "A");
  EXPECT_EQ(event->id, "x");  // validated by the store, not here
  EXPECT_EQ(event->data, R"({ "b":[1, 2.50], "s":"\u00e9\"" })");
  EXPECT_EQ(event->metadata, R"({"correlation_id" : "c"})");
}

TEST(ParseEventLineTest, DefaultsToEmptyObjects) {
  auto event = ParseEventLine(R"({"type":"A"})");
  ASSERT_OK(event);
  EXPECT_EQ(event->data, "{}");
  EXPECT_EQ(event->metadata, "{}");
  EXPECT_EQ(event->id, "");
}

TEST(ParseEventLineTest, NestedObjectsNamedLikeFieldsDoNotConfuseIt) {
  auto event = ParseEventLine(R"({"type":"A","metadata":{"data":{"x":1}},"data":{"data":2}})");
  ASSERT_OK(event);
  EXPECT_EQ(event->data, R"({"data":2})");
  EXPECT_EQ(event->metadata, R"({"data":{"x":1}})");
}

TEST(ParseEventLineTest, RefusesWhatIsNotAnEvent) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {R"({"type":"A"}{})", "not valid JSON"},
      {R"("A")", "not a JSON object"},
      {R"({})", "type is missing"},
      {R"({"type":null})", "type is not a JSON string"},
      {R"({"type":"A","id":5})", "id is not a JSON string"},
      {R"({"type":"A","data":"{}"})", "data is not a JSON object"},
      {R"({"type":"A","data":null})", "data is not a JSON object"},
      {R"({"type":"A","metadata":[]})", "metadata is not a JSON object"},
      {R"({"type":"A","stream":"s"})", "unknown field 'stream'"},
      {R"({"type":"A","data":{},"data":{}})", "key 'data' appears twice at the top level"},
      {R"({"type":"A","metadata":{"k":[{"a":1,"\u0061":2}]}})",
       "key 'a' appears twice in 'metadata.k[0]'"},
  };
  for (const auto& [line, error] : cases) {
    auto event = ParseEventLine(line);
    ASSERT_ERROR_CODE(event, kInvalidArgument) << line;
    EXPECT_THAT(event.status().message(), HasSubstr(error)) << line;
  }
}

TEST(ReadNdjsonEventsTest, NumbersEventsAndLines) {
  std::istringstream in(
      "{\"type\":\"A\"}\r\n\n   \n{\"type\":\"B\",\"data\":{\"n\":1}}\n{\"type\":\"C\"}");
  auto events = ReadNdjsonEvents(in);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1].type, "B");
  EXPECT_EQ((*events)[1].data, R"({"n":1})");
  EXPECT_EQ((*events)[2].type, "C");  // no newline at the end

  std::istringstream bad("{\"type\":\"A\"}\n\n{\"type\":\"B\",\"data\":1}\n");
  auto error = ReadNdjsonEvents(bad);
  ASSERT_ERROR_CODE(error, kInvalidArgument);
  EXPECT_EQ(error.status().message(), "event 1 (line 3): data is not a JSON object");

  std::istringstream empty("\n\n");
  ASSERT_ERROR_CODE(ReadNdjsonEvents(empty), kInvalidArgument);
}

}  // namespace
}  // namespace triad::cli
