// The backends every conformance suite runs against. A new backend adds one entry to
// AllBackends() and must then pass every suite unchanged.
#pragma once

#include "testing/pg_test_env.h"
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <unistd.h>
#include <vector>

namespace triad::testing {

struct BackendParam {
  std::string name;  // "memory", "sqlite" or "postgres"
  bool durable;      // whether data survives reopening
};

// Keeps test names readable: "... # GetParam() = sqlite".
inline void PrintTo(const BackendParam& param, std::ostream* os) { *os << param.name; }

// PostgreSQL joins when TRIAD_TEST_POSTGRES names a server (testing/pg_test_env.h).
inline std::vector<BackendParam> AllBackends() {
  std::vector<BackendParam> all = {{"memory", false}, {"sqlite", true}};
  if (PostgresTestUrl()) all.push_back({"postgres", true});
  return all;
}

inline std::string BackendName(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
}

// A fixture that opens a fresh store of the parameter's kind, in its own temp directory.
class StoreTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) c = (c == '/') ? '_' : c;
    if (GetParam().name == "postgres") pg_uri_ = FreshPostgresUri(name);
    ASSERT_OK(Reopen());
  }

  void TearDown() override {
    store_.reset();
    if (!pg_uri_.empty()) DropPostgresSchema(pg_uri_);
  }

  // The URI of this test's store.
  std::string Uri() const {
    if (GetParam().name == "postgres") return pg_uri_;
    return GetParam().name == "memory" ? "memory:"
                                       : "sqlite:" + (dir_.path() / "store.db").string();
  }

  // Closes and opens the store again (a memory store starts empty again).
  Status Reopen() {
    store_.reset();
    auto opened = EventStore::Open(options_, Uri());
    if (!opened.ok()) return opened.status();
    store_ = std::move(*opened);
    return Status::OK();
  }

  EventStore& store() { return *store_; }

  Options options_;
  triad::testing::TempDir dir_{"triad-test"};
  std::string pg_uri_;  // this test's schema on the PostgreSQL test server
  std::unique_ptr<EventStore> store_;
};

}  // namespace triad::testing
