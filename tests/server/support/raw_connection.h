// A plain loopback TCP connection for tests that must send bytes no HTTP client would (a bad
// Transfer-Encoding), hold connections open without reading (stalled subscribers, idle
// connections), or close mid-request.
//
// Thread-safety: one thread uses a RawConnection.
#pragma once

#include "triad/result.h"
#include "triad/status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace triad::server::testing {

class RawConnection {
 public:
  // Connects to 127.0.0.1:`port`. `receive_buffer_bytes` > 0 sets SO_RCVBUF before connecting
  // (a small window makes a client that never reads stall the server's writes sooner).
  // Errors: kUnavailable naming the port.
  static Result<std::unique_ptr<RawConnection>> Open(uint16_t port, int receive_buffer_bytes = 0);

  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  // Closes the socket.
  ~RawConnection();

  // Writes every byte of `bytes`. Errors: kUnavailable.
  Status Send(std::string_view bytes);
  // Reads until the peer closes the connection (or resets it) or `timeout_ms` passes; returns
  // what was read. Errors: kDeadlineExceeded when the time passed with nothing read.
  Result<std::string> ReadUntilClose(int64_t timeout_ms);
  // Reads until `needle` was received (returns everything read), the peer closes, or
  // `timeout_ms` passes. Errors: kDeadlineExceeded, kUnavailable when it never came.
  Result<std::string> ReadUntil(std::string_view needle, int64_t timeout_ms);
  // True when the peer has closed the connection (a read would return end of file or a reset),
  // without consuming data; false while it is open (even with unread data).
  bool PeerClosed();
  // Closes the socket now.
  void Close();
  int fd() const { return fd_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace triad::server::testing
