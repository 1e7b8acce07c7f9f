// triad_projection_crash_child: runs the bank example's `accounts` projection over an existing
// SQLite store until it reaches the head or is killed. projection_crash_test.cc kills it with
// SIGKILL at random moments and checks the read model after each kill (promise 5).
//
// Usage: triad_projection_crash_child PATH BATCH run_once|workers
//   PATH     the event store ("sqlite:PATH"); the read model is DefaultReadModelUri's
//   PATH.readmodel BATCH    events per projection batch (one read-model transaction each) run_once
//   drives the projection with ProjectionEngine::RunOnce on the main thread; workers  with Start()
//   and the engine's worker thread (push trigger).
//
// Output, one write(2) per line:
//   READY            the engine is open and the projection registered; batches start
//   DONE <position>  the projection reached the head; the child exits with status 0
//   FAIL <message>   an unexpected error; the child exits with status 1
#include "bank/accounts_projection.h"

#include "triad/event_store.h"
#include "triad/projection_engine.h"
#include "triad/read_model_backend.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

namespace {

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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s PATH BATCH run_once|workers\n", argv[0]);
    return 2;
  }
  const std::string uri = std::string("sqlite:") + argv[1];
  const size_t batch = std::strtoull(argv[2], nullptr, 10);
  const bool workers = std::strcmp(argv[3], "workers") == 0;

  auto store = triad::EventStore::Open(triad::Options{}, uri);
  if (!store.ok()) Fail("EventStore::Open: " + store.status().ToString());
  triad::EngineOptions options;
  options.read_model_uri = triad::DefaultReadModelUri(uri);
  options.batch_size = batch;  // durability: the default, kFull
  auto engine = triad::ProjectionEngine::Open(store->get(), options);
  if (!engine.ok()) Fail("ProjectionEngine::Open: " + engine.status().ToString());
  if (triad::Status s = (*engine)->Register(bank::AccountsProjection()); !s.ok()) {
    Fail("Register: " + s.ToString());
  }
  auto head = (*store)->HeadPosition();
  if (!head.ok()) Fail("HeadPosition: " + head.status().ToString());
  WriteLine("READY\n");

  triad::Result<triad::Position> reached = triad::Position{0};
  if (workers) {
    if (triad::Status s = (*engine)->Start(); !s.ok()) Fail("Start: " + s.ToString());
    reached = (*engine)->WaitForCheckpoint("accounts", *head, 60'000'000);
  } else {
    reached = (*engine)->RunOnce("accounts");
  }
  if (!reached.ok()) Fail("catching up: " + reached.status().ToString());
  if (*reached < *head) Fail("stopped at " + std::to_string(*reached));
  WriteLine("DONE " + std::to_string(*reached) + "\n");
  (*engine)->Stop();
  return 0;
}
