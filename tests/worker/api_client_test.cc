// ApiClient against a tiny synchronous WebSocket server: what the worker
// queued before Close() reaches the peer before the close frame. (A close
// started while a large write was in flight used to make the queued goodbye
// fail, so the API never saw the worker's last statistics.)
#include "worker/api_client.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace vigil::worker {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Accepts one connection, reads messages until the client closes, and
// returns them with the close code it saw.
struct Received {
  std::vector<std::pair<bool, size_t>> messages;  // (text, size)
  std::string last_text;
  int close_code = 0;
};

class OneShotServer {
 public:
  OneShotServer() : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    result_ = std::async(std::launch::async, [this] { return Serve(); });
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  Received Wait() { return result_.get(); }

 private:
  Received Serve() {
    Received r;
    tcp::socket sock(ioc_);
    acceptor_.accept(sock);
    websocket::stream<tcp::socket> ws(std::move(sock));
    ws.read_message_max(64 << 20);
    ws.accept();
    for (;;) {
      beast::flat_buffer buf;
      beast::error_code ec;
      ws.read(buf, ec);
      if (ec) {
        r.close_code = ws.reason().code;
        return r;
      }
      r.messages.emplace_back(ws.got_text(), buf.size());
      if (ws.got_text()) r.last_text = beast::buffers_to_string(buf.data());
    }
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::future<Received> result_;
};

TEST(ApiClientTest, MessagesQueuedBeforeCloseAreSentBeforeTheCloseFrame) {
  OneShotServer server;
  std::mutex mu;
  std::condition_variable cv;
  bool opened = false;
  bool closed = false;
  ApiClient::Handlers h;
  h.on_open = [&] {
    std::lock_guard<std::mutex> lock(mu);
    opened = true;
    cv.notify_all();
  };
  h.on_close = [&](const CloseInfo&) {
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
    cv.notify_all();
  };
  ApiClientOptions o;
  o.api_url = "http://127.0.0.1:" + std::to_string(server.port());
  o.api_key = "k";
  auto client = ApiClient::Create(o, h);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  (*client)->Connect();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return opened; }));
  }
  // 16 MiB cannot leave in one go over loopback, so the text and the close
  // are requested while that write is still in flight.
  ASSERT_TRUE((*client)->SendBinary(std::string(16 << 20, 'x')));
  ASSERT_TRUE((*client)->SendText("{\"type\":\"goodbye\"}"));
  (*client)->Close(1000, "shutdown");
  (*client)->SendText("after close");  // dropped: the close has begun (the count of 2 below checks it)
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return closed; }));
  }
  Received r = server.Wait();
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_FALSE(r.messages[0].first);
  EXPECT_EQ(r.messages[0].second, size_t{16} << 20);
  EXPECT_TRUE(r.messages[1].first);
  EXPECT_EQ(r.last_text, "{\"type\":\"goodbye\"}");
  EXPECT_EQ(r.close_code, 1000);
}

}  // namespace
}  // namespace vigil::worker
