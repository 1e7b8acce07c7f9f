#include "support/canned_server.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <utility>

namespace triad::server::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct CannedServer::State {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  mutable std::mutex mutex;
  std::vector<std::string> requests;
  std::atomic<bool> stopping{false};
};

CannedServer::CannedServer(std::vector<std::string> replies, int connections, bool keep_open)
    : state_(std::make_unique<State>()) {
  port_ = state_->acceptor.local_endpoint().port();
  thread_ = std::thread([this, replies = std::move(replies), connections, keep_open] {
    for (int i = 0; i < connections; ++i) {
      boost::system::error_code ec;
      tcp::socket socket(state_->ioc);
      state_->acceptor.accept(socket, ec);
      if (ec || state_->stopping) return;
      std::string buffer;
      const size_t head_end =
          asio::read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n", ec);
      if (ec) continue;
      {
        std::lock_guard lock(state_->mutex);
        state_->requests.push_back(buffer.substr(0, head_end));
      }
      const std::string& reply = replies[std::min<size_t>(i, replies.size() - 1)];
      asio::write(socket, asio::buffer(reply), ec);
      if (keep_open) {
        char byte = 0;
        asio::read(socket, asio::buffer(&byte, 1), ec);  // until the client closes
      }
    }
  });
}

CannedServer::~CannedServer() {
  // A blocked accept() is not woken by close() on Linux: wake it with a connection of our own.
  state_->stopping = true;
  boost::system::error_code ec;
  asio::io_context ioc;
  tcp::socket waker(ioc);
  waker.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  thread_.join();
}

std::vector<std::string> CannedServer::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

}  // namespace triad::server::testing
