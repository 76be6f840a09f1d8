// ApiServer on a real socket (port 0): HTTP framing, body limit, keep-alive,
// upgrade refusal, graceful stop. Plain POSIX sockets keep this test light.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "api/server.h"
#include "api_test_helpers.h"

namespace vigil::api {
namespace {

class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads one response (headers + Content-Length body). Returns status or -1.
  int Read(std::string* body = nullptr, std::string* headers = nullptr) {
    while (buf_.find("\r\n\r\n") == std::string::npos) {
      if (!Fill()) return -1;
    }
    size_t end = buf_.find("\r\n\r\n");
    std::string head = buf_.substr(0, end);
    size_t len = 0;
    size_t cl = head.find("Content-Length: ");
    if (cl != std::string::npos) len = std::stoul(head.substr(cl + 16));
    while (buf_.size() < end + 4 + len) {
      if (!Fill()) return -1;
    }
    if (body) *body = buf_.substr(end + 4, len);
    if (headers) *headers = head;
    buf_.erase(0, end + 4 + len);
    return std::stoi(head.substr(9, 3));
  }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
  std::string buf_;
};

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

TEST(ApiServer, ServesHttpWithLimitsAndStopsGracefully) {
  testing::TempDir dir;
  SystemClock clock;
  auto server = ApiServer::Create(testing::TestConfig(dir.path()), clock, nullptr);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_TRUE((*server)->Start().ok());
  int port = (*server)->port();
  ASSERT_GT(port, 0);

  {
    RawClient c(port);
    ASSERT_TRUE(c.connected());
    std::string body;
    // Keep-alive: several requests on one connection.
    c.Send(Get("/healthz"));
    EXPECT_EQ(c.Read(&body), 200);
    EXPECT_NE(body.find("ok"), std::string::npos);
    c.Send(Get("/api/v1/sites"));
    EXPECT_EQ(c.Read(&body), 401);
    c.Send(Get("/api/v1/sites", std::string("Authorization: Bearer ") + testing::kAdminToken + "\r\n"));
    EXPECT_EQ(c.Read(&body), 200);
    EXPECT_NE(body.find("\"items\""), std::string::npos);
    c.Send(Get("/readyz"));
    EXPECT_EQ(c.Read(&body), 200);
  }
  {
    // Over API_MAX_BODY_BYTES (1 MiB in the test config): 413 before the body is read.
    RawClient c(port);
    std::string req = "POST /api/v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                      std::string(testing::kAdminToken) + "\r\nContent-Length: " + std::to_string(2 << 20) + "\r\n\r\n";
    c.Send(req);
    std::string body;
    EXPECT_EQ(c.Read(&body), 413);
    EXPECT_NE(body.find("payload_too_large"), std::string::npos);
  }
  {
    // Garbage is a 400, and the server stays up.
    RawClient c(port);
    c.Send("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_EQ(c.Read(), 400);
  }
  {
    // WebSocket upgrade without the worker key: 401 before the upgrade.
    RawClient c(port);
    c.Send(Get("/ws/worker",
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n"));
    EXPECT_EQ(c.Read(), 401);
  }
  {
    RawClient c(port);
    c.Send(Get("/ws/worker",
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer " + std::string(testing::kWorkerKey) + "\r\n"));
    EXPECT_EQ(c.Read(), 101);
  }
  {
    RawClient c(port);
    c.Send(Get("/healthz"));
    EXPECT_EQ(c.Read(), 200);
  }
  (*server)->RequestStop();
  (*server)->Wait();
}

}  // namespace
}  // namespace vigil::api
