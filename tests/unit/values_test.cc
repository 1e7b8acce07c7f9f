// Value types of the public API: Status, ExpectedVersion, categories, timestamps, UUIDs.
#include "testing/simulated_clock.h"
#include "testing/test_util.h"
#include "util/uuid.h"

#include "triad/event.h"
#include "triad/expected_version.h"
#include "triad/status.h"

#include <gtest/gtest.h>

#include <set>

namespace triad {
namespace {

TEST(StatusTest, CarriesCodeMessageAndCurrentVersion) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
  Status s = AbortedError("stream 'a' is at version 3").WithCurrentVersion(3);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_EQ(s.current_version(), 3);
  EXPECT_EQ(s.ToString(), "wrong_expected_version: stream 'a' is at version 3");
  EXPECT_EQ(InvalidArgumentError("x").Annotate("event 2").message(), "event 2: x");
  EXPECT_FALSE(NotFoundError("x").current_version().has_value());
  EXPECT_EQ(StatusCodeName(StatusCode::kDeadlineExceeded), "deadline_exceeded");
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = NotFoundError("gone");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bad.value_or(3), 3);
}

TEST(ExpectedVersionTest, ParsesAndMatches) {
  EXPECT_EQ(*ExpectedVersion::Parse("any"), ExpectedVersion::Any());
  EXPECT_EQ(*ExpectedVersion::Parse("no_stream"), ExpectedVersion::NoStream());
  EXPECT_EQ(*ExpectedVersion::Parse("exists"), ExpectedVersion::Exists());
  EXPECT_EQ(*ExpectedVersion::Parse("12"), ExpectedVersion::Exact(12));
  EXPECT_EQ(*ExpectedVersion::Parse("-1"), ExpectedVersion::NoStream());
  for (const char* bad : {"", "-2", "1.5", "12x", "anything", " 1"}) {
    auto r = ExpectedVersion::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ExpectedVersion::Any().Matches(kNoStreamVersion));
  EXPECT_TRUE(ExpectedVersion::NoStream().Matches(kNoStreamVersion));
  EXPECT_FALSE(ExpectedVersion::NoStream().Matches(0));
  EXPECT_TRUE(ExpectedVersion::Exists().Matches(0));
  EXPECT_FALSE(ExpectedVersion::Exists().Matches(kNoStreamVersion));
  EXPECT_TRUE(ExpectedVersion::Exact(4).Matches(4));
  EXPECT_FALSE(ExpectedVersion::Exact(4).Matches(5));
  EXPECT_EQ(ExpectedVersion::Exact(4).ToString(), "4");
}

TEST(EventTest, CategoryIsTheTextBeforeTheFirstDash) {
  EXPECT_EQ(CategoryOf("account-42"), "account");
  EXPECT_EQ(CategoryOf("account-42-x"), "account");
  EXPECT_EQ(CategoryOf("settings"), "settings");
}

TEST(EventTest, TimestampsAreRfc3339UtcWithMicroseconds) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(1'767'225'600'000'001), "2026-01-01T00:00:00.000001Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(UuidTest, GeneratesVersion7AndCanonicalizes) {
  testing::SimulatedClock clock(1'767'225'600'000'000);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = internal::GenerateUuidV7(clock);
    ASSERT_EQ(internal::CanonicalUuid(id), id);
    EXPECT_EQ(id[14], '7');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
  // The first 48 bits are the clock's milliseconds: 1767225600000 = 0x019b76da_a800.
  EXPECT_EQ(internal::GenerateUuidV7(clock).substr(0, 13), "019b76da-a800");
  EXPECT_EQ(internal::CanonicalUuid("0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A51"),
            "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a51");
  EXPECT_FALSE(internal::CanonicalUuid("0190a1b2c3d47e5f8a9b0c1d2e3f4a51"));
  EXPECT_FALSE(internal::CanonicalUuid("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g"));
  EXPECT_FALSE(internal::CanonicalUuid(""));
}

TEST(SimulatedClockTest, AdvanceWakesWaiters) {
  testing::SimulatedClock clock(1000);
  std::mutex mu;
  std::condition_variable cv;
  bool timed_out = false;
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    while (clock.WaitUntil(lock, cv, 5000)) {
    }
    timed_out = true;
  });
  while (clock.waiters() == 0) std::this_thread::yield();
  clock.Advance(1000);  // 2000: still before the deadline
  clock.Advance(3000);  // 5000: the deadline
  waiter.join();
  EXPECT_TRUE(timed_out);
  EXPECT_EQ(clock.NowMicros(), 5000);
}

}  // namespace
}  // namespace triad
