// AppendBehindGate: lines concurrent appends up behind a held commit, so that they share the next
// group commit. Used by the fault tests that need a failure inside a group of several writers.
#pragma once

#include "testing/fault_injection_backend.h"
#include "testing/test_util.h"

#include "triad/event_store.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace triad::testing {

// One append to run on its own thread.
struct PendingAppend {
  std::string stream;
  std::vector<NewEvent> events;
};

// Appends each of `pending` (with ExpectedVersion::Any()) on its own thread while a one-event
// append to `gate` holds its commit in `fault`'s BeforeCommit hook, so that they queue behind it
// and normally form the next group commit together. The store's queue cannot be observed from
// outside, so once every thread has started, the gate is released after a short pause; callers
// check with InOneTransaction() whether the group formed, and retry when it did not. Returns the
// results in the order of `pending`; the gate append must succeed.
// REQUIRES: `store` was opened with Options::backend = &fault; no hook is set.
inline std::vector<Result<AppendResult>> AppendBehindGate(
    EventStore& store, FaultInjectionBackend& fault, const std::string& gate,
    const std::vector<PendingAppend>& pending) {
  std::mutex mu;
  std::condition_variable cv;
  bool first = true, held = false, released = false;
  size_t started = 0;
  fault.SetBeforeCommitHook([&] {
    std::unique_lock lock(mu);
    if (!first) return;
    first = false;
    held = true;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
  });

  Result<AppendResult> gate_result = InternalError("not run");
  std::thread gate_thread([&] {
    const NewEvent event{.type = "GateOpened"};
    gate_result = store.Append(gate, ExpectedVersion::Any(), {&event, 1});
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return held; });
  }
  std::vector<Result<AppendResult>> results(pending.size(), InternalError("not run"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < pending.size(); ++i) {
    threads.emplace_back([&, i] {
      {
        std::lock_guard lock(mu);
        ++started;
      }
      cv.notify_all();
      results[i] = store.Append(pending[i].stream, ExpectedVersion::Any(), pending[i].events);
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return started == pending.size(); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // see the comment above
  {
    std::lock_guard lock(mu);
    released = true;
  }
  cv.notify_all();
  gate_thread.join();
  for (std::thread& t : threads) t.join();
  fault.SetBeforeCommitHook(nullptr);
  EXPECT_OK(gate_result) << "the gate append";
  return results;
}

// True iff `record` inserted into every stream of `pending`: they shared one group commit.
inline bool InOneTransaction(const FaultInjectionBackend::TransactionRecord& record,
                             const std::vector<PendingAppend>& pending) {
  return std::all_of(pending.begin(), pending.end(), [&](const PendingAppend& p) {
    return std::find(record.inserts.begin(), record.inserts.end(), p.stream) !=
           record.inserts.end();
  });
}

// True iff some transaction `fault` has seen inserted into every stream of `pending`.
inline bool InOneTransaction(const FaultInjectionBackend& fault,
                             const std::vector<PendingAppend>& pending) {
  const auto records = fault.transactions();
  return std::any_of(records.begin(), records.end(),
                     [&](const auto& record) { return InOneTransaction(record, pending); });
}

}  // namespace triad::testing
