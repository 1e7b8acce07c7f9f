#include "server/commit_wakers.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace triad::server {

CommitWakers::CommitWakers(EventStore* store, size_t capacity)
    : store_(store), capacity_(capacity) {
  listener_id_ = store_->AddCommitListener([this](Position) { WakeAll(); });
}

CommitWakers::~CommitWakers() { store_->RemoveCommitListener(listener_id_); }

std::optional<uint64_t> CommitWakers::Add(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  if (wakers_.size() >= capacity_) return std::nullopt;
  const uint64_t id = next_id_++;
  wakers_.emplace(id, std::move(wake));
  return id;
}

void CommitWakers::Remove(uint64_t id) {
  std::lock_guard lock(mutex_);
  wakers_.erase(id);
}

void CommitWakers::Shutdown() {
  shutting_down_.store(true);
  WakeAll();
}

size_t CommitWakers::size() const {
  std::lock_guard lock(mutex_);
  return wakers_.size();
}

void CommitWakers::WakeAll() {
  std::lock_guard lock(mutex_);
  for (auto& [id, wake] : wakers_) wake();
}

std::function<void()> TimerWake(const std::shared_ptr<WakeableTimer>& state,
                                const boost::asio::any_io_executor& executor) {
  std::weak_ptr<WakeableTimer> weak = state;
  return [weak, executor] {
    auto locked = weak.lock();
    if (!locked || locked->notified.exchange(true)) return;
    boost::asio::post(executor, [locked] { locked->timer.cancel(); });
  };
}

}  // namespace triad::server
