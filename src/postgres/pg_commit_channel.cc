#include "postgres/pg_commit_channel.h"

#include <charconv>
#include <chrono>
#include <cstring>
#include <libpq-fe.h>
#include <memory>
#include <poll.h>
#include <utility>

#include "postgres/pg_connection.h"
#include "postgres/pg_retry.h"

namespace triad::internal::pg {
namespace {

// How often the threads look at the stop flag while idle.
constexpr int kIdleMillis = 100;

}  // namespace

PgCommitChannel::PgCommitChannel(PgTarget target, std::function<void(Position)> on_commit,
                                 std::string_view topic)
    : target_(std::move(target)),
      heads_(topic.empty()),
      // NAMEDATALEN - 1. A topic goes first: "triad:" + a long schema could not be told apart
      // from a topic's channel once cut.
      channel_((heads_ ? "triad:" + target_.schema
                       : "triad-" + std::string(topic) + ":" + target_.schema)
                   .substr(0, 63)),
      on_commit_(std::move(on_commit)) {
  sender_ = std::thread([this] { SendLoop(); });
  listener_ = std::thread([this] { ListenLoop(); });
}

PgCommitChannel::~PgCommitChannel() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  sender_.join();
  listener_.join();
}

void PgCommitChannel::Notify(Position head) {
  {
    std::lock_guard lock(mu_);
    if (head <= to_send_) return;
    to_send_ = head;
  }
  cv_.notify_all();
}

void PgCommitChannel::SendLoop() {
  std::unique_ptr<PgConnection> conn;
  Position sent = 0;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (to_send_ <= sent) {
      cv_.wait_for(lock, std::chrono::milliseconds(kIdleMillis));
      continue;
    }
    const Position head = to_send_;
    lock.unlock();
    if (conn == nullptr || !conn->Healthy()) {
      // A short budget: a notify that cannot be sent now is replaced by the next one, and
      // other nodes poll anyway.
      auto opened = ConnectWithBackoff(
          [this] { return PgConnection::Open(target_, /*create_schema=*/false); },
          std::chrono::milliseconds(500));
      conn = opened.ok() ? std::move(*opened) : nullptr;
      if (conn != nullptr) {
        lock.lock();
        sender_pid_ = PQbackendPID(conn->raw());
        lock.unlock();
      }
    }
    if (conn != nullptr && conn->QueryPrepared("notify", "SELECT pg_notify($1, $2)",
                                               PgParams().Text(channel_).Text(std::to_string(head)))
                               .ok()) {
      sent = head;
    }
    lock.lock();
    if (sent < head) cv_.wait_for(lock, std::chrono::milliseconds(kIdleMillis));  // back off
  }
}

void PgCommitChannel::ListenLoop() {
  std::unique_ptr<PgConnection> conn;
  auto stopping = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  while (!stopping()) {
    if (conn == nullptr || PQstatus(conn->raw()) != CONNECTION_OK) {
      const bool reconnect = conn != nullptr;
      conn.reset();
      auto opened = PgConnection::Open(target_, /*create_schema=*/false);
      if (!opened.ok() || !(*opened)->Exec("LISTEN " + QuoteIdentifier(channel_)).ok()) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
        continue;
      }
      conn = std::move(*opened);
      if (reconnect && heads_) {
        // Notifies sent while we were away are lost: report the head as it is now.
        auto head = conn->Query("SELECT position FROM log_head WHERE id = 1");
        if (head.ok() && head->rows() == 1) on_commit_(head->Int(0, 0));
      } else if (reconnect) {
        on_commit_(0);  // anything may have changed meanwhile
      }
    }
    pollfd fd{.fd = PQsocket(conn->raw()), .events = POLLIN, .revents = 0};
    if (::poll(&fd, 1, kIdleMillis) <= 0) continue;
    if (PQconsumeInput(conn->raw()) == 0) continue;  // the status check above reconnects
    int sender_pid;
    {
      std::lock_guard lock(mu_);
      sender_pid = sender_pid_;
    }
    Position latest = 0;
    while (PGnotify* n = PQnotifies(conn->raw())) {
      Position head = 0;
      const char* payload = n->extra;
      std::from_chars(payload, payload + std::strlen(payload), head);
      if (n->be_pid != sender_pid && head > latest) latest = head;
      PQfreemem(n);
    }
    if (latest > 0) on_commit_(latest);
  }
}

}  // namespace triad::internal::pg
