// Decoding the server's answers: events keep their data byte for byte, timestamps round-trip.
#include "cli/client/wire_json.h"

#include "triad/event_json.h"

#include <gtest/gtest.h>

namespace triad::cli {
namespace {

TEST(WireJsonTest, TimestampsRoundTrip) {
  for (const int64_t micros : {int64_t{0}, int64_t{1'796'029'200'000'001}, int64_t{999'999}}) {
    auto parsed = ParseTimestamp(FormatTimestamp(micros));
    ASSERT_TRUE(parsed.ok()) << FormatTimestamp(micros);
    EXPECT_EQ(*parsed, micros);
  }
  auto millis = ParseTimestamp("2026-11-28T09:00:00.5Z");
  ASSERT_TRUE(millis.ok());
  EXPECT_EQ(*millis % 1'000'000, 500'000);
  EXPECT_EQ(ParseTimestamp("yesterday").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTimestamp("2026-11-28T09:00:00+01:00").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(WireJsonTest, EventsKeepTheirDataAsSent) {
  RecordedEvent event{.id = "0193",
                      .stream = "account-1",
                      .version = 2,
                      .position = 7,
                      .type = "Deposited",
                      .data = R"({"amount": 1.50, "z":1,"a":[1 ,2]})",
                      .metadata = R"({"correlation_id":"c-1"})",
                      .correlation_id = "c-1",
                      .causation_id = "",
                      .recorded_at_us = 1'796'029'200'000'001};
  const std::string envelope = EventToJson(event);
  auto decoded = DecodeEvent(envelope);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(EventToJson(*decoded), envelope);
  EXPECT_EQ(decoded->data, event.data);

  auto page = DecodeEvents(R"({"events":[)" + envelope + "," + envelope +
                           R"(],"next_position":8,"head_position":9})");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->size(), 2U);
  EXPECT_EQ(EventToJson((*page)[1]), envelope);
  auto head = DecodeHeadPosition(R"({"events":[],"next_position":8,"head_position":9})");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, 9);
}

TEST(WireJsonTest, MissingFieldsAreInternalErrorsNamingThem) {
  auto result = DecodeAppendResult(R"({"stream":"a","first_version":0})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("last_version"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(DecodeEvents("[]").status().code(), StatusCode::kInternal);
}

TEST(WireJsonTest, DocumentsSplitBodyAndMeta) {
  auto read = DecodeDocumentRead(
      R"({"document":{"balance":5,"owner":"ada","_meta":{"id":"account-1","projection":"accounts@1",)"
      R"("position":3,"sources":{"account-1":1}}},"as_of":4})",
      "account-1");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(read->document.has_value());
  EXPECT_EQ(read->as_of, 4);
  EXPECT_EQ(read->document->id, "account-1");
  EXPECT_EQ(read->document->body, R"({"balance":5,"owner":"ada"})");
  EXPECT_EQ(read->document->meta.projection, "accounts@1");
  EXPECT_EQ(read->document->meta.position, 3);
  EXPECT_EQ(read->document->meta.sources.at("account-1"), 1);
}

}  // namespace
}  // namespace triad::cli
