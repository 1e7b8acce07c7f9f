// Wakes what waits for commits without a thread: parked requests (http_server.cc) and SSE
// subscribers (sse_session.h) each register a `wake` callback, which a commit through the store
// (or a shutdown) calls; it typically cancels an Asio timer on the waiter's strand
// (TimerWake). A capacity bounds how many may be registered.
//
// Thread-safety: every method is safe from any thread.
#pragma once

#include "triad/event_store.h"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace triad::server {

class CommitWakers {
 public:
  // Registers a commit listener on `store` (non-owning; must outlive this object).
  CommitWakers(EventStore* store, size_t capacity);
  CommitWakers(const CommitWakers&) = delete;
  CommitWakers& operator=(const CommitWakers&) = delete;
  ~CommitWakers();

  // Admits a waiter whose `wake` is called (from any thread; it must be quick and must not call
  // back into this object) after commits and at shutdown. Returns its id, or nullopt when
  // `capacity` waiters are already registered.
  std::optional<uint64_t> Add(std::function<void()> wake);
  // Removes a waiter; `wake` is not called after this returns.
  void Remove(uint64_t id);
  // Sets shutting_down() and wakes every waiter.
  void Shutdown();
  bool shutting_down() const { return shutting_down_.load(); }
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  void WakeAll();

  EventStore* store_;
  size_t capacity_;
  uint64_t listener_id_ = 0;
  std::atomic<bool> shutting_down_{false};
  mutable std::mutex mutex_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::function<void()>> wakers_;
};

// A timer that a wake-up cancels: the waiter sleeps on `timer` until its next deadline, and a
// commit cuts the sleep short. `notified` tells a wake-up from the deadline, and stays set when
// the wake-up comes while the waiter is not sleeping (so it is not lost).
struct WakeableTimer {
  explicit WakeableTimer(const boost::asio::any_io_executor& executor) : timer(executor) {}
  boost::asio::steady_timer timer;
  std::atomic<bool> notified{false};
};

// The `wake` callback for CommitWakers::Add: sets `notified` and cancels the timer on
// `executor` (the waiter's strand). Holds `state` weakly: a wake-up after the waiter left is a
// no-op.
std::function<void()> TimerWake(const std::shared_ptr<WakeableTimer>& state,
                                const boost::asio::any_io_executor& executor);

}  // namespace triad::server
