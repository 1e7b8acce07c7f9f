// A loopback TCP server that answers each connection with fixed bytes, for testing the HTTP
// client without the real server: it reads one request head, records it, writes the reply, and
// closes the connection unless `keep_open` (then it waits for the client to close first).
//
// Thread-safety: construct and destroy on one thread; requests() is safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace triad::server::testing {

class CannedServer {
 public:
  // Listens on 127.0.0.1 (a free port) and serves up to `connections` connections, the i-th
  // with replies[i] (the last reply repeats).
  CannedServer(std::vector<std::string> replies, int connections, bool keep_open = false);
  CannedServer(const CannedServer&) = delete;
  CannedServer& operator=(const CannedServer&) = delete;
  ~CannedServer();

  uint16_t port() const { return port_; }
  // The request heads received so far, in order.
  std::vector<std::string> requests() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace triad::server::testing
