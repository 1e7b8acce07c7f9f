// Shared pieces of triad_bench: fatal checks, timing, statistics, workloads and scratch
// directories.
//
// A benchmark is a tool, not a library: any unexpected error ends the process with a message
// (Die), so that a broken store can never be reported as a fast one.
//
// Thread-safety: EventFactory and ScratchDir are used by one thread; everything else is stateless.
#pragma once

#include "triad/event.h"
#include "triad/result.h"
#include "triad/status.h"

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triad::bench {

// Prints "triad_bench: <what>" to stderr and exits with status 1.
[[noreturn]] void Die(std::string_view what);

// The text of an errno value (thread-safe, unlike strerror).
std::string ErrnoText(int error);

// Dies unless `s` is OK.
void CheckOk(const Status& s, std::string_view what);

// Dies unless `r` holds a value; returns the value.
template <typename T>
T CheckOk(Result<T> r, std::string_view what) {
  if (!r.ok()) CheckOk(r.status(), what);
  return std::move(r).value();
}

// Seconds on the monotonic clock since an arbitrary origin.
inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The median of `values`. REQUIRES: !values.empty().
double Median(std::vector<double> values);

// The nearest-rank percentile `p` (0 < p <= 100) of `values`. REQUIRES: !values.empty().
double Percentile(std::vector<double> values, double p);

// One event's content, identical on the Triad side and on the raw side of a benchmark.
struct BenchEvent {
  // UUIDv7 text. The raw baselines insert it; Triad appends leave NewEvent::id empty and let the
  // store generate the same kind of id, which is what production callers without retries do.
  std::string id;
  std::string type;
  std::string data;      // about 200 bytes of JSON
  std::string metadata;  // a small JSON object with a correlation_id
  std::string correlation_id;
};

// The event types of the workload; every fourth event has each type, so a type filter keeps 25%.
inline constexpr std::string_view kEventTypes[] = {"FundsDeposited", "FundsWithdrawn",
                                                   "TransferInitiated", "AddressChanged"};
// The type the filtered read_all row asks for.
inline constexpr std::string_view kFilterType = "AddressChanged";

// Builds realistic, varied events deterministically from a seed (ids aside, which carry the
// current time like the store's own UUIDv7s).
class EventFactory {
 public:
  explicit EventFactory(uint64_t seed) : rng_(seed) {}

  // The i-th event of a workload.
  BenchEvent Make(uint64_t i);
  // `n` events starting at index `first`.
  std::vector<BenchEvent> MakeMany(uint64_t first, size_t n);

  // A UUIDv7 in canonical text form, as Triad generates them (time-ordered, so the id index
  // grows at its end on both sides of a comparison).
  std::string NewUuidV7();

 private:
  std::mt19937_64 rng_;
};

// The NewEvent that appends `e` through the public API (store-generated id).
NewEvent ToNewEvent(const BenchEvent& e);

// `e` as one self-describing log record (length-prefixed fields), the unit the raw group-commit
// probe writes: what a minimal durable event log would have to put on disk for the same event.
std::string ToLogRecord(std::string_view stream, int64_t version, const BenchEvent& e);

// A fresh directory under `parent` (empty: the system temp directory), removed with its contents
// on destruction unless keep is set.
class ScratchDir {
 public:
  ScratchDir(const std::string& parent, bool keep);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // `path()/name`.
  std::string File(std::string_view name) const;
  // Removes `name` and the SQLite side files (-wal, -shm, -journal) next to it.
  void RemoveDb(std::string_view name) const;

 private:
  std::string path_;
  bool keep_;
};

// "12,345,678" for humans.
std::string WithCommas(double value);

}  // namespace triad::bench
