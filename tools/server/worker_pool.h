// The transport's worker pool: blocking work (route handlers, log reads for SSE) runs here, never
// on an io thread, and the coroutine that asked resumes on its own executor afterwards.
//
//   HttpResponse response = co_await pool.Run([&] { return handler(request); });
//
// Included only by the transport's .cc files (it pulls in Asio).
//
// Thread-safety: Run() may be called from any coroutine on any executor; Stop() from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

namespace triad::server {

class WorkerPool {
 public:
  // Starts `threads` threads (REQUIRES: threads >= 1).
  explicit WorkerPool(size_t threads) : pool_(threads) {}
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool() { Join(); }

  // Runs `work` on a pool thread and resumes the caller on its executor with the result.
  // An exception thrown by `work` is rethrown in the caller. `work` is taken by reference: the
  // temporary of `co_await pool.Run(...)` lives until the full expression ends, after the
  // resumption.
  template <typename Work>
  boost::asio::awaitable<std::invoke_result_t<Work&>> Run(Work&& work) {
    using Value = std::invoke_result_t<Work&>;
    // co_spawn needs a default-constructible result and Result<T> is not one; and GCC 12
    // mishandles non-trivial lambda captures copied into coroutine frames, so only pointers
    // cross into the pool's coroutine.
    std::optional<Value> value;
    co_await boost::asio::co_spawn(pool_, Invoke(&work, &value), boost::asio::use_awaitable);
    co_return std::move(*value);
  }

  // Waits for the work already running or queued, then joins the threads. Idempotent.
  void Join() { pool_.join(); }

 private:
  template <typename Work, typename Value>
  static boost::asio::awaitable<void> Invoke(Work* work, std::optional<Value>* value) {
    value->emplace((*work)());
    co_return;
  }

  boost::asio::thread_pool pool_;
};

}  // namespace triad::server
