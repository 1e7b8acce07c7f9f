// triad_crash_child: appends to a Triad SQLite store from several threads until it is killed, and
// reports every acknowledged append on stdout. crash_test.cc runs it, kills it with SIGKILL at a
// random moment and checks that every reported append survived (promises 1 and 2).
//
// Usage: triad_crash_child PATH full|relaxed CYCLE SEED
//
// Output, one line per write(2) so lines from different threads never interleave (a pipe write of
// at most PIPE_BUF bytes is atomic), written after the append is acknowledged and before that
// thread starts its next append:
//   READY                       the store is open; appends start
//   ACK <stream> <first_version> <last_version> <first_position> <last_position>
//       <writer> <seq> <ids>    one acknowledged append; <ids> is "-" when the store generated
//                               the ids, else the client-given ids joined by ','
//   FAIL <message>              an unexpected error; the child exits with status 1
//
// Event i of a batch of k, in the append numbered <seq> by <writer> in cycle CYCLE, has type
// kCrashEventType and data CrashEventData(CYCLE, writer, seq, i, k) (crash_protocol.h), so the
// parent can recompute every byte it should find.
#include "triad/event_store.h"
#include "triad/options.h"

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "crash_protocol.h"

namespace {

using triad::testing::CrashEventData;

constexpr int kWriters = 4;
constexpr int kStreams = 6;
// The child stops by itself after this long, so a test that dies before killing it leaks nothing
// for long.
constexpr auto kMaxLifetime = std::chrono::seconds(30);

// Writes `line` with one write(2). Exits if stdout is gone: the parent has stopped listening.
void WriteLine(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void Fail(const std::string& message) {
  WriteLine("FAIL " + message + "\n");
  std::_Exit(1);
}

std::string RandomUuid(std::mt19937_64& rng) {
  const uint64_t hi = (rng() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  const uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012" PRIx64, static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<uint64_t>(lo & 0xffffffffffffULL));
  return buf;
}

void RunWriter(triad::EventStore& store, int cycle, int writer, uint64_t seed) {
  std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(writer));
  const auto stop_at = std::chrono::steady_clock::now() + kMaxLifetime;
  for (int64_t seq = 0; std::chrono::steady_clock::now() < stop_at; ++seq) {
    const std::string stream = "crash-" + std::to_string(rng() % kStreams);
    // Half single events, half batches of 2..4: batches must survive whole or not at all.
    const int count = rng() % 2 == 0 ? 1 : 2 + static_cast<int>(rng() % 3);
    const bool client_ids = rng() % 2 == 0;
    std::vector<triad::NewEvent> events(count);
    std::string ids;
    for (int i = 0; i < count; ++i) {
      events[i].type = triad::testing::kCrashEventType;
      events[i].data = CrashEventData(cycle, writer, seq, i, count);
      if (client_ids) {
        events[i].id = RandomUuid(rng);
        ids += (i > 0 ? "," : "") + events[i].id;
      }
    }
    if (!client_ids) ids = "-";

    // Mostly unconditional appends; a quarter check the version just read, which races with the
    // other writers and so also exercises conflicts (refused, never acknowledged).
    triad::ExpectedVersion expected = triad::ExpectedVersion::Any();
    if (rng() % 4 == 0) {
      auto info = store.GetStreamInfo(stream);
      if (info.ok()) {
        expected = triad::ExpectedVersion::Exact(info->version);
      } else if (info.status().code() == triad::StatusCode::kNotFound) {
        expected = triad::ExpectedVersion::NoStream();
      } else {
        Fail("GetStreamInfo: " + info.status().ToString());
      }
    }

    auto r = store.Append(stream, expected, events);
    if (!r.ok()) {
      if (r.status().code() == triad::StatusCode::kAborted) continue;
      Fail("Append to " + stream + ": " + r.status().ToString());
    }
    if (r->already_stored) Fail("fresh ids reported as already stored in " + stream);
    WriteLine("ACK " + stream + " " + std::to_string(r->first_version) + " " +
              std::to_string(r->last_version) + " " + std::to_string(r->first_position) + " " +
              std::to_string(r->last_position) + " " + std::to_string(writer) + " " +
              std::to_string(seq) + " " + ids + "\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s PATH full|relaxed CYCLE SEED\n", argv[0]);
    return 2;
  }
  triad::Options options;
  options.durability =
      std::strcmp(argv[2], "relaxed") == 0 ? triad::Durability::kRelaxed : triad::Durability::kFull;
  const int cycle = std::atoi(argv[3]);
  const uint64_t seed = std::strtoull(argv[4], nullptr, 10);

  auto store = triad::EventStore::Open(options, std::string("sqlite:") + argv[1]);
  if (!store.ok()) Fail("Open: " + store.status().ToString());
  WriteLine("READY\n");

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back(RunWriter, std::ref(**store), cycle, w, seed);
  }
  for (std::thread& t : writers) t.join();
  return 0;
}
