// How the EventStore behaves when its storage fails, on the memory and SQLite backends, through
// FaultInjectionBackend: a failed BeginWrite, a failed Insert inside a group commit, a failed
// commit, and a commit whose acknowledgement is lost. Promises 2 (dense positions), 4 (idempotent
// retries) and 7 (failures never leave half-written data) must hold in each case, before and after
// the store is reopened on the same storage.
#include "testing/fault_injection_backend.h"
#include "testing/simulated_clock.h"
#include "testing/test_util.h"

#include "triad/backend.h"
#include "triad/event_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <unistd.h>
#include <vector>

#include "append_behind_gate.h"

namespace triad::testing {
namespace {

using InsertFault = FaultInjectionBackend::InsertFault;
using Outcome = FaultInjectionBackend::Outcome;

enum class BackendKind { kMemory, kSqlite };
void PrintTo(BackendKind kind, std::ostream* os) {
  *os << (kind == BackendKind::kMemory ? "memory" : "sqlite");
}

// A client-given event id, distinct per `n`.
std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-000000000000", n);
  return buf;
}

NewEvent Event(std::string data, std::string id = "") {
  return NewEvent{.id = std::move(id), .type = "Deposited", .data = std::move(data)};
}

// `count` events whose data names `tag`, so each append's events are recognizable.
std::vector<NewEvent> Events(const std::string& tag, int count) {
  std::vector<NewEvent> events;
  for (int i = 0; i < count; ++i) {
    events.push_back(Event(R"({"tag":")" + tag + R"(","i":)" + std::to_string(i) + "}"));
  }
  return events;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class FaultInjectionTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    if (sqlite()) {
      std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      std::replace(name.begin(), name.end(), '/', '_');
      path_ =
          ::testing::TempDir() + "triad_fault_" + name + "_" + std::to_string(::getpid()) + ".db";
      RemoveFiles();
    }
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  void TearDown() override {
    Close();
    base_.reset();
    if (sqlite()) RemoveFiles();
  }

  bool sqlite() const { return GetParam() == BackendKind::kSqlite; }
  std::string uri() const { return sqlite() ? "sqlite:" + path_ : "memory:"; }

  // Opens the store over the storage, through a fresh FaultInjectionBackend.
  void Open() {
    if (!base_) {
      auto backend = OpenBackend(options_, uri());
      ASSERT_OK(backend);
      base_ = std::move(*backend);
    }
    fault_ = std::make_unique<FaultInjectionBackend>(*base_, options_.clock);
    Options options = options_;
    options.backend = fault_.get();
    auto store = EventStore::Open(options, uri());
    ASSERT_OK(store);
    store_ = std::move(*store);
  }

  // Closes the store. SQLite closes its file; the memory backend stays, as the storage that
  // outlives the store.
  void Close() {
    store_.reset();
    fault_.reset();
    if (sqlite()) base_.reset();
  }

  void Reopen() {
    Close();
    Open();
  }

  void RemoveFiles() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  Result<AppendResult> Append(const std::string& stream, ExpectedVersion expected,
                              const std::vector<NewEvent>& events) {
    return store_->Append(stream, expected, events);
  }

  std::vector<RecordedEvent> ReadLog() {
    std::vector<RecordedEvent> log;
    ReadAllOptions page;
    while (true) {
      page.from_position = static_cast<Position>(log.size()) + 1;
      auto events = store_->ReadAll(page);
      EXPECT_OK(events);
      if (!events.ok() || events->empty()) return log;
      log.insert(log.end(), events->begin(), events->end());
    }
  }

  // The head is `head`, positions are dense up to it, and Check() finds nothing.
  void ExpectHealthy(Position head) {
    auto got = store_->HeadPosition();
    ASSERT_OK(got);
    EXPECT_EQ(*got, head);
    const std::vector<RecordedEvent> log = ReadLog();
    ASSERT_EQ(log.size(), static_cast<size_t>(head));
    for (size_t i = 0; i < log.size(); ++i)
      EXPECT_EQ(log[i].position, static_cast<Position>(i + 1));
    auto report = store_->Check();
    ASSERT_OK(report);
    for (const std::string& problem : report->problems) ADD_FAILURE() << "Check(): " << problem;
    EXPECT_EQ(report->head_position, head);
  }

  void ExpectNoStream(const std::string& stream) {
    EXPECT_ERROR_CODE(store_->GetStreamInfo(stream), kNotFound) << stream;
  }

  std::vector<Result<AppendResult>> AppendBehindGate(const std::string& gate,
                                                     const std::vector<PendingAppend>& pending) {
    return testing::AppendBehindGate(*store_, *fault_, gate, pending);
  }

  static constexpr int kAttempts = 5;

  Options options_;
  std::string path_;
  std::unique_ptr<Backend> base_;
  std::unique_ptr<FaultInjectionBackend> fault_;
  std::unique_ptr<EventStore> store_;
};

TEST_P(FaultInjectionTest, FailedBeginWriteFailsTheAppendWithoutPoisoning) {
  ASSERT_OK(Append("acct-1", ExpectedVersion::NoStream(), Events("first", 1)));
  fault_->FailNthBeginWrite(1, UnavailableError("injected: storage busy"));

  auto failed = Append("acct-1", ExpectedVersion::Exact(0), Events("second", 2));
  EXPECT_ERROR_CODE(failed, kUnavailable);
  EXPECT_NE(failed.status().message().find("injected: storage busy"), std::string::npos)
      << failed.status().ToString();
  EXPECT_EQ(fault_->faults_injected(), 1);

  // Nothing started, so nothing is unknown: the same append now succeeds at the next positions.
  auto retried = Append("acct-1", ExpectedVersion::Exact(0), Events("second", 2));
  ASSERT_OK(retried);
  EXPECT_FALSE(retried->already_stored);
  EXPECT_EQ(retried->first_version, 1);
  EXPECT_EQ(retried->first_position, 2);
  EXPECT_EQ(retried->last_position, 3);
  ExpectHealthy(3);
}

TEST_P(FaultInjectionTest, FailedCommitFailsItsGroupLeavesNothingBehindAndTheStoreGoesOn) {
  ASSERT_OK(Append("acct-0", ExpectedVersion::NoStream(), Events("seed", 1)));
  bool grouped = false;
  for (int attempt = 0; attempt < kAttempts && !grouped && !HasFailure(); ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    const std::string n = std::to_string(attempt);
    const std::vector<PendingAppend> pending = {{"acct-a" + n, Events("a" + n, 1)},
                                                {"acct-b" + n, Events("b" + n, 3)},
                                                {"acct-c" + n, Events("c" + n, 2)}};
    // Commit 1 is the gate's; commit 2 is the group queued behind it.
    fault_->FailNthCommit(2, UnavailableError("injected: commit failed"));
    const auto results = AppendBehindGate("gate-" + n, pending);

    const auto records = fault_->transactions();
    const auto failed = std::find_if(records.begin(), records.end(), [](const auto& r) {
      return r.outcome == Outcome::kCommitFailed;
    });
    ASSERT_NE(failed, records.end()) << "no commit failed";
    grouped = InOneTransaction(*failed, pending);
    std::vector<std::string> lost;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (Contains(failed->inserts, pending[i].stream)) {
        // In the failed group: the store re-read its head, so the writer learns it was not
        // stored, and may retry.
        EXPECT_ERROR_CODE(results[i], kUnavailable) << pending[i].stream;
        EXPECT_NE(results[i].status().message().find("commit failed"), std::string::npos)
            << results[i].status().ToString();
        EXPECT_NE(results[i].status().message().find("not stored"), std::string::npos)
            << results[i].status().ToString();
        lost.push_back(pending[i].stream);
      } else {
        // Queued after the failure: committed by a later group (the store is not poisoned).
        EXPECT_OK(results[i]) << pending[i].stream;
      }
    }
    // Later appends reach storage and succeed; the store is healthy again.
    const int64_t begins = fault_->begin_write_calls();
    ASSERT_OK(Append("acct-later" + n, ExpectedVersion::Any(), Events("later" + n, 1)));
    EXPECT_GT(fault_->begin_write_calls(), begins);
    ASSERT_OK(store_->WriteHealth());

    // Nothing of the failed group is visible, before or after reopening; positions stay dense.
    auto head = store_->HeadPosition();
    ASSERT_OK(head);
    ASSERT_NO_FATAL_FAILURE(ExpectHealthy(*head));
    ASSERT_NO_FATAL_FAILURE(Reopen());
    ASSERT_NO_FATAL_FAILURE(ExpectHealthy(*head));
    for (const std::string& stream : lost) ExpectNoStream(stream);

    // A retry of a lost append is written once, at the next dense position.
    for (const PendingAppend& p : pending) {
      if (std::find(lost.begin(), lost.end(), p.stream) == lost.end()) continue;
      auto next = Append(p.stream, ExpectedVersion::NoStream(), p.events);
      ASSERT_OK(next);
      EXPECT_EQ(next->first_version, 0);
      EXPECT_EQ(next->first_position, *head + 1);
      *head = next->last_position;
    }
    ASSERT_NO_FATAL_FAILURE(ExpectHealthy(*head));
  }
  EXPECT_TRUE(grouped) << "the three appends never shared one group commit in " << kAttempts
                       << " attempts";
}

TEST_P(FaultInjectionTest, FailedInsertFailsOnlyThatWriterOfTheGroup) {
  ASSERT_OK(Append("acct-0", ExpectedVersion::NoStream(), Events("seed", 1)));
  Position head = 1;
  bool grouped = false;
  for (int attempt = 0; attempt < kAttempts && !grouped && !HasFailure(); ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    const std::string n = std::to_string(attempt);
    const std::vector<PendingAppend> pending = {{"acct-a" + n, Events("a" + n, 2)},
                                                {"acct-b" + n, Events("b" + n, 3)},
                                                {"acct-c" + n, Events("c" + n, 1)}};
    // The insert into b reaches the transaction and then fails: only b's savepoint may undo it.
    fault_->FailNthInsert(1, UnavailableError("injected: insert failed"), InsertFault::kAfterApply,
                          pending[1].stream);
    const auto results = AppendBehindGate("gate-" + n, pending);
    grouped = InOneTransaction(*fault_, pending);

    EXPECT_OK(results[0]);
    EXPECT_ERROR_CODE(results[1], kUnavailable);
    EXPECT_OK(results[2]);
    ExpectNoStream(pending[1].stream);
    // The gate, a (2 events) and c (1 event) committed at dense positions.
    head += 1 + 2 + 1;
    ASSERT_NO_FATAL_FAILURE(ExpectHealthy(head));
    for (size_t i : {size_t{0}, size_t{2}}) {
      if (!results[i].ok()) continue;
      auto stored = store_->ReadStream(pending[i].stream, ReadStreamOptions{});
      ASSERT_OK(stored);
      ASSERT_EQ(stored->size(), pending[i].events.size());
      for (size_t k = 0; k < stored->size(); ++k) {
        EXPECT_EQ((*stored)[k].data, pending[i].events[k].data);
        EXPECT_EQ((*stored)[k].position, results[i]->first_position + static_cast<Position>(k));
      }
    }

    // Not poisoned: b can be appended now, from version 0, at the next position.
    auto retried = Append(pending[1].stream, ExpectedVersion::NoStream(), pending[1].events);
    ASSERT_OK(retried);
    EXPECT_EQ(retried->first_version, 0);
    EXPECT_EQ(retried->first_position, head + 1);
    head = retried->last_position;
    ASSERT_NO_FATAL_FAILURE(Reopen());
    ASSERT_NO_FATAL_FAILURE(ExpectHealthy(head));
  }
  EXPECT_TRUE(grouped) << "the three appends never shared one group commit in " << kAttempts
                       << " attempts";
}

TEST_P(FaultInjectionTest, FailedInsertIntoANewStreamLeavesNoTrace) {
  ASSERT_OK(Append("acct-0", ExpectedVersion::NoStream(), Events("seed", 1)));
  Position head = 1;
  size_t streams_before = 1;
  for (InsertFault when : {InsertFault::kBeforeApply, InsertFault::kAfterApply}) {
    const std::string stream = when == InsertFault::kBeforeApply ? "acct-before" : "acct-after";
    SCOPED_TRACE(stream);
    fault_->FailNthInsert(1, InternalError("injected: insert failed"), when);
    EXPECT_ERROR_CODE(Append(stream, ExpectedVersion::NoStream(), Events(stream, 3)), kInternal);
    ExpectNoStream(stream);
    auto streams = store_->ListStreams(ListStreamsOptions{});
    ASSERT_OK(streams);
    EXPECT_EQ(streams->size(), streams_before) << "the failed append created a stream";
    ASSERT_NO_FATAL_FAILURE(ExpectHealthy(head));

    // The stream can be created now, and the next positions are the ones the failure did not use.
    auto created = Append(stream, ExpectedVersion::NoStream(), Events(stream, 3));
    ASSERT_OK(created);
    EXPECT_EQ(created->first_version, 0);
    EXPECT_EQ(created->last_version, 2);
    EXPECT_EQ(created->first_position, head + 1);
    head = created->last_position;
    ++streams_before;
    ASSERT_NO_FATAL_FAILURE(ExpectHealthy(head));
  }
}

TEST_P(FaultInjectionTest, LostCommitAckThenRetryAfterReopenReturnsTheOriginalResult) {
  ASSERT_OK(Append("acct-1", ExpectedVersion::NoStream(), {Event(R"({"n":0})", Uuid(1))}));
  const std::vector<NewEvent> events = {Event(R"({"n":1})", Uuid(2)), Event(R"({"n":2})", Uuid(3))};
  fault_->LoseNthCommitAck(1, UnavailableError("injected: connection lost after COMMIT"));

  auto lost = Append("acct-1", ExpectedVersion::Exact(0), events);
  EXPECT_ERROR_CODE(lost, kUnavailable);
  EXPECT_NE(lost.status().message().find("unknown"), std::string::npos)
      << "the error should say the outcome is unknown: " << lost.status().ToString();
  // Not poisoned: the store re-reads its head before writing again, so an immediate retry finds
  // the events the lost commit stored and returns their result (promise 4), writing nothing.
  auto at_once = Append("acct-1", ExpectedVersion::Exact(0), events);
  ASSERT_OK(at_once);
  EXPECT_TRUE(at_once->already_stored);
  EXPECT_EQ(at_once->first_position, 2);

  ASSERT_NO_FATAL_FAILURE(Reopen());
  // The commit did reach storage.
  ASSERT_NO_FATAL_FAILURE(ExpectHealthy(3));
  auto stored = store_->ReadStream("acct-1", ReadStreamOptions{});
  ASSERT_OK(stored);
  ASSERT_EQ(stored->size(), 3u);
  EXPECT_EQ((*stored)[1].id, Uuid(2));
  EXPECT_EQ((*stored)[2].id, Uuid(3));

  // Promise 4: the retry with the same ids returns the first result and writes nothing, with the
  // exact expected version the lost append used and with `any`.
  for (ExpectedVersion expected : {ExpectedVersion::Exact(0), ExpectedVersion::Any()}) {
    SCOPED_TRACE(expected.ToString());
    auto retried = Append("acct-1", expected, events);
    ASSERT_OK(retried);
    EXPECT_TRUE(retried->already_stored);
    EXPECT_EQ(retried->first_version, 1);
    EXPECT_EQ(retried->last_version, 2);
    EXPECT_EQ(retried->first_position, 2);
    EXPECT_EQ(retried->last_position, 3);
  }

  // The same ids with other content, or in another stream, are refused; nothing is stored.
  const std::vector<NewEvent> changed = {Event(R"({"n":1,"x":1})", Uuid(2)),
                                         Event(R"({"n":2})", Uuid(3))};
  EXPECT_ERROR_CODE(Append("acct-1", ExpectedVersion::Exact(0), changed), kAlreadyExists);
  EXPECT_ERROR_CODE(Append("acct-2", ExpectedVersion::NoStream(), events), kAlreadyExists);
  ExpectNoStream("acct-2");
  ASSERT_NO_FATAL_FAILURE(ExpectHealthy(3));
}

TEST_P(FaultInjectionTest, CommitLatencyRunsOnTheInjectedClock) {
  SimulatedClock clock;
  Close();
  options_.clock = &clock;
  ASSERT_NO_FATAL_FAILURE(Open());
  constexpr int64_t kLatency = 5000;
  fault_->SetCommitLatency(kLatency);

  const int64_t t0 = clock.NowMicros();
  ASSERT_OK(Append("acct-1", ExpectedVersion::NoStream(), Events("one", 1)));
  // The commit slept on the simulated clock, which moved it forward instead of blocking.
  EXPECT_EQ(clock.NowMicros(), t0 + kLatency);
  ASSERT_OK(Append("acct-1", ExpectedVersion::Exact(0), Events("two", 1)));
  EXPECT_EQ(clock.NowMicros(), t0 + 2 * kLatency);

  // recorded_at is taken before the commit, so each append carries the time its group started.
  const std::vector<RecordedEvent> log = ReadLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].recorded_at_us, t0);
  EXPECT_EQ(log[1].recorded_at_us, t0 + kLatency);
  EXPECT_EQ(fault_->commit_calls(), 2);
  EXPECT_EQ(fault_->faults_injected(), 0);

  Close();  // before `clock` goes out of scope
  options_.clock = nullptr;
}

INSTANTIATE_TEST_SUITE_P(fault, FaultInjectionTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kSqlite),
                         [](const ::testing::TestParamInfo<BackendKind>& info) {
                           return info.param == BackendKind::kMemory ? "memory" : "sqlite";
                         });

}  // namespace
}  // namespace triad::testing
