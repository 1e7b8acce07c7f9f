// The read-model backends every read-model suite runs against. A new backend (PostgreSQL) adds
// one entry to AllReadModelBackends() and must then pass every suite unchanged.
#pragma once

#include "testing/pg_test_env.h"
#include "testing/temp_dir.h"
#include "testing/test_util.h"

#include "triad/read_model_backend.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <unistd.h>
#include <vector>

namespace triad::testing {

struct ReadModelParam {
  std::string name;  // "memory", "sqlite" or "postgres"
  bool durable;      // whether data survives reopening
  bool sqlite;       // whether the store is an SQLite file (EXPLAIN QUERY PLAN applies)
};

inline void PrintTo(const ReadModelParam& param, std::ostream* os) { *os << param.name; }

// PostgreSQL joins when TRIAD_TEST_POSTGRES names a server (testing/pg_test_env.h).
inline std::vector<ReadModelParam> AllReadModelBackends() {
  std::vector<ReadModelParam> out = {{"memory", false, false}, {"sqlite", true, true}};
  if (PostgresTestUrl()) out.push_back({"postgres", true, false});
  return out;
}

inline std::string ReadModelName(const ::testing::TestParamInfo<ReadModelParam>& info) {
  return info.param.name;
}

// A fixture that opens a fresh read-model store of the parameter's kind in its own temp dir (for
// PostgreSQL: in its own fresh schema, kept across Reopen() and dropped at the end).
class ReadModelTest : public ::testing::TestWithParam<ReadModelParam> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) c = (c == '/') ? '_' : c;
    if (GetParam().name == "postgres") pg_uri_ = FreshPostgresUri(name);
    ASSERT_OK(Reopen());
  }

  void TearDown() override {
    rm_.reset();
    if (!pg_uri_.empty()) DropPostgresSchema(pg_uri_);
  }

  std::string Path() const { return (dir_.path() / "store.readmodel").string(); }

  // The URI of this test's store.
  std::string Uri() const {
    if (!pg_uri_.empty()) return pg_uri_;
    return GetParam().name == "memory" ? "memory:" : "sqlite:" + Path();
  }

  // What Describe() of this test's store says.
  std::string ExpectedDescribe() const {
    if (!pg_uri_.empty()) return pg_uri_;
    return GetParam().sqlite ? "sqlite:" + Path() : "memory:";
  }

  // Closes and opens the store again (a memory store starts empty again).
  Status Reopen() {
    rm_.reset();
    auto opened = OpenReadModelBackend(options_, Uri());
    if (!opened.ok()) return opened.status();
    rm_ = std::move(*opened);
    return Status::OK();
  }

  ReadModelBackend& rm() { return *rm_; }

  ReadModelOptions options_;
  triad::testing::TempDir dir_{"triad-rm"};
  std::string pg_uri_;  // postgres only
  std::unique_ptr<ReadModelBackend> rm_;
};

}  // namespace triad::testing
