// PgCommitChannel: live push of commits between processes sharing one PostgreSQL store
// (LISTEN/NOTIFY), so that a subscriber or a waiting query on one node learns of another node's
// append in milliseconds rather than at its next poll.
//
// NOTIFY takes a cluster-wide lock at commit in every transaction that issued it, so it is never
// sent from the append transaction: after each commit the writer hands the new head to Notify(),
// and a sender thread issues pg_notify() on a connection of its own, coalescing heads that arrive
// while it is busy (one notify carries the latest head). A listener thread holds a LISTEN
// connection and calls `on_commit(head)` for every notify from another process. After its
// connection is lost it reconnects with backoff and reports the current head, since notifies sent
// meanwhile are gone; polling by the store stays the fallback for anything missed.
//
// The event store's channel carries heads. Another component (consumer groups) opens a channel
// of its own topic, whose payload is only a counter that grows: a notify says "something
// changed", and after a reconnect the listener is called with 0 (anything may have changed).
//
// Thread-safety: Notify() may be called from any thread; `on_commit` runs on the listener thread.
#pragma once

#include "triad/event.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "postgres/pg_uri.h"

namespace triad::internal::pg {

class PgCommitChannel {
 public:
  // Starts the sender and listener threads for the store at `target`; the channel is named after
  // its schema, so stores in other schemas of the database do not wake each other. An empty
  // `topic` is the event store's channel (heads); another topic names a channel of its own.
  PgCommitChannel(PgTarget target, std::function<void(Position head)> on_commit,
                  std::string_view topic = {});
  PgCommitChannel(const PgCommitChannel&) = delete;
  PgCommitChannel& operator=(const PgCommitChannel&) = delete;
  // Stops both threads (within about 100 ms).
  ~PgCommitChannel();

  // Announces that this process committed up to `head`. Never blocks on the network.
  void Notify(Position head);

 private:
  void SendLoop();
  void ListenLoop();

  const PgTarget target_;
  const bool heads_;  // the event store's channel: the payload is the head
  const std::string channel_;
  const std::function<void(Position)> on_commit_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  Position to_send_ = 0;   // guarded by mu_: the latest head not yet notified
  int sender_pid_ = 0;     // guarded by mu_: the backend PID of the sender's connection

  std::thread sender_;
  std::thread listener_;
};

}  // namespace triad::internal::pg
