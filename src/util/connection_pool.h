// ConnectionPool: idle connections kept for reuse, shared by the SQLite and PostgreSQL backends.
// A connection is leased for one read and returned when the lease ends; a connection the
// `reusable` predicate rejects (e.g. a PostgreSQL connection whose server went away) is closed
// instead of kept.
//
// Thread-safety: Acquire() and lease destruction may run concurrently from any thread. The pool
// must outlive its leases.
#pragma once

#include "triad/result.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace triad::internal {

template <typename Conn>
class ConnectionPool {
 public:
  // Opens a new connection when none is idle.
  using Opener = std::function<Result<std::unique_ptr<Conn>>()>;

  // A connection checked out of the pool; returned to it on destruction.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    Conn* operator->() { return conn_.get(); }
    Conn& operator*() { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  // Whether a returned connection may be kept for reuse.
  using Reusable = std::function<bool(const Conn&)>;

  // Keeps at most `max_idle` idle connections; opens new ones with `open`.
  ConnectionPool(size_t max_idle, Opener open, Reusable reusable = nullptr)
      : max_idle_(max_idle), open_(std::move(open)), reusable_(std::move(reusable)) {}

  // An idle connection, or a new one. Errors: those of the opener.
  Result<Lease> Acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(conn));
      }
    }
    auto conn = open_();
    if (!conn.ok()) return conn.status();
    return Lease(this, std::move(*conn));
  }

  // Closes every idle connection.
  void Clear() {
    std::lock_guard lock(mu_);
    idle_.clear();
  }

 private:
  void Release(std::unique_ptr<Conn> conn) {
    if (reusable_ && !reusable_(*conn)) return;
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
  }

  const size_t max_idle_;
  const Opener open_;
  const Reusable reusable_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
};

}  // namespace triad::internal
