// Worker against an in-process fake API (a small synchronous Beast WebSocket
// server on port 0): registration, events with their snapshots, acks
// draining the spool, reconnect and re-send, clean shutdown with goodbye,
// and the authentication failure that must not retry.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <future>
#include <set>
#include <thread>

#include "core/json_util.h"
#include "protocol/codec.h"
#include "worker/test_env_helpers.h"

namespace vigil::worker {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// A clock running `speed` times faster than real time, so the synthetic
// camera's visitors come and go quickly.
class FastClock final : public Clock {
 public:
  explicit FastClock(int speed) : speed_(speed), start_(std::chrono::steady_clock::now()) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000 + Elapsed()));
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(Elapsed()));
  }

 private:
  int64_t Elapsed() const {
    auto d = std::chrono::steady_clock::now() - start_;
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count() * speed_;
  }
  int speed_;
  std::chrono::steady_clock::time_point start_;
};

// Minimal API: checks the key, answers hello with welcome, acks events when
// told to, records what it got. One connection at a time.
class FakeApi {
 public:
  std::atomic<bool> ack{true};
  std::atomic<bool> drop_next_connection_after_event{false};
  // When set, start_stream for this camera follows the welcome.
  void StreamCamera(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    stream_camera = id;
  }

  FakeApi() : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeApi() {
    stop_ = true;
    // Wake the blocking accept() with a connection that closes at once.
    {
      net::io_context ioc;
      tcp::socket s(ioc);
      beast::error_code ec;
      s.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }

  struct Record {
    std::vector<std::string> types;           // in arrival order ("snapshot" for binary)
    std::vector<std::string> event_ids;       // every event received (with repeats)
    std::set<std::string> snapshot_before;    // events whose snapshot came first
    int stream_frames = 0;
    bool frame_headers_ok = true;
    int hellos = 0;
    int goodbyes = 0;
    int refused = 0;
    std::optional<protocol::WorkerStats> goodbye_stats;
  };
  Record record() {
    std::lock_guard<std::mutex> lock(mu_);
    return rec_;
  }

 private:
  void Loop() {
    while (!stop_) {
      tcp::socket sock(ioc_);
      beast::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      Serve(std::move(sock));
    }
  }

  void Serve(tcp::socket sock) {
    beast::error_code ec;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(sock, buf, req, ec);
    if (ec) return;
    if (req[http::field::authorization] != "Bearer good-key") {
      http::response<http::string_body> res{http::status::unauthorized, req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"error":{"code":"unauthorized","message":"bad key"}})";
      res.prepare_payload();
      {
        // Counted before the reply: the worker may finish (and the test
        // read the record) as soon as the 401 arrives.
        std::lock_guard<std::mutex> lock(mu_);
        ++rec_.refused;
      }
      http::write(sock, res, ec);
      return;
    }
    websocket::stream<tcp::socket> ws(std::move(sock));
    ws.accept(req, ec);
    if (ec) return;
    std::string pending_snapshot;
    while (!stop_) {
      beast::flat_buffer in;
      ws.read(in, ec);
      if (ec) return;
      std::string msg = beast::buffers_to_string(in.data());
      if (!ws.got_text()) {
        auto bin = protocol::DecodeBinary(msg);
        if (bin.ok() && bin->type == "snapshot") {
          pending_snapshot = bin->header.value("event_id", "");
          std::lock_guard<std::mutex> lock(mu_);
          rec_.types.push_back("snapshot");
        } else if (bin.ok() && bin->type == "frame") {
          auto h = protocol::ParseStreamFrameHeader(bin->header);
          std::lock_guard<std::mutex> lock(mu_);
          ++rec_.stream_frames;
          bool jpeg = bin->payload.size() > 2 && static_cast<unsigned char>(bin->payload[0]) == 0xFF;
          if (!h.ok() || h->camera_id != stream_camera || h->width != 320 || !jpeg) rec_.frame_headers_ok = false;
        }
        continue;
      }
      auto m = protocol::DecodeText(msg);
      if (!m.ok()) continue;
      std::string type(protocol::TypeName(*m));
      std::vector<std::string> replies;
      bool drop = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        rec_.types.push_back(type);
        if (std::holds_alternative<protocol::Hello>(*m)) {
          ++rec_.hellos;
          protocol::Welcome w;
          w.session_id = "00000000-0000-4000-8000-000000000001";
          w.heartbeat_interval_ms = 200;
          replies.push_back(protocol::Encode(w));
          if (!stream_camera.empty()) {
            protocol::Command c;
            c.command = std::string(protocol::kCommandStartStream);
            c.camera_id = stream_camera;
            c.fps = 10;
            c.max_width = 320;
            replies.push_back(protocol::Encode(c));
          }
        } else if (auto* e = std::get_if<protocol::Event>(&*m)) {
          rec_.event_ids.push_back(e->event_id);
          if (pending_snapshot == e->event_id) rec_.snapshot_before.insert(e->event_id);
          if (ack) replies.push_back(protocol::Encode(protocol::Ack{{e->event_id}}));
          if (drop_next_connection_after_event.exchange(false)) drop = true;
        } else if (auto* g = std::get_if<protocol::Goodbye>(&*m)) {
          ++rec_.goodbyes;
          rec_.goodbye_stats = g->stats;
        }
      }
      if (drop) {
        ws.next_layer().close(ec);
        return;
      }
      for (auto& r : replies) {
        ws.text(true);
        ws.write(net::buffer(r), ec);
        if (ec) return;
      }
    }
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  Record rec_;
  std::string stream_camera;  // guarded by mu_
};

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);  // poll interval
  }
  return true;
}

class WorkerTest : public ::testing::Test {
 protected:
  WorkerSetup Setup(const std::string& key, int port) {
    WorkerSetup s;
    s.config.api_url = "http://127.0.0.1:" + std::to_string(port);
    s.config.worker_api_key = key;
    s.config.mock_mode = true;
    s.config.fps = 25;
    s.config.event_cooldown = 1ms;
    s.config.track_max_age = 60s;
    s.config.shutdown_deadline = 3s;
    s.config.spool_max_bytes = 8 << 20;
    s.config.state_dir = dir_.path();
    s.worker_id = "worker-under-test";
    s.worker_dir = dir_.path() + "/worker-under-test";
    s.version = "test";
    return s;
  }

  testing::TempDir dir_;
  FastClock clock_{5};
};

TEST_F(WorkerTest, WrongKeyFailsOnceWithoutRetrying) {
  FakeApi api;
  auto w = Worker::Create(Setup("bad-key", api.port()), clock_);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto done = std::async(std::launch::async, [&] { return (*w)->Run(); });
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(done.get(), kExitRefused);
  EXPECT_EQ((*w)->state(), WorkerState::kFailed);
  EXPECT_EQ((*w)->failure(), "API refused the worker key (401): check WORKER_API_KEY");
  EXPECT_EQ(api.record().refused, 1);
}

TEST_F(WorkerTest, RegistersSendsEventsWithSnapshotsAndDrainsOnShutdown) {
  FakeApi api;
  auto setup = Setup("good-key", api.port());
  // The drain turns live tracks into events that must all be acked before
  // the goodbye; give a sanitized build room to do that.
  setup.config.shutdown_deadline = 10s;
  auto w = Worker::Create(setup, clock_);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto done = std::async(std::launch::async, [&] { return (*w)->Run(); });
  ASSERT_TRUE(WaitFor([&] { return api.record().event_ids.size() >= 2; }, 30s));
  auto rec = api.record();
  EXPECT_EQ(rec.types.front(), "hello");
  EXPECT_GE(std::count(rec.types.begin(), rec.types.end(), "heartbeat"), 1);
  for (const auto& id : rec.event_ids) EXPECT_TRUE(rec.snapshot_before.count(id)) << id;
  (*w)->RequestShutdown();
  ASSERT_EQ(done.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(done.get(), kExitOk);
  EXPECT_EQ((*w)->state(), WorkerState::kStopped);
  // The goodbye is in the socket when Run() returns, but the fake API reads
  // it on its own thread: wait for it rather than race it (TSan on CI lost).
  ASSERT_TRUE(WaitFor([&] { return api.record().goodbyes >= 1; }, 10s));
  rec = api.record();
  EXPECT_EQ(rec.goodbyes, 1);
  ASSERT_TRUE(rec.goodbye_stats.has_value());
  auto c = (*w)->counters();
  EXPECT_EQ(c.spooled, 0);
  EXPECT_EQ(c.created, c.acked);
  EXPECT_EQ(rec.goodbye_stats->events_created, c.created);
  std::set<std::string> unique(rec.event_ids.begin(), rec.event_ids.end());
  EXPECT_EQ(static_cast<int64_t>(unique.size()), c.created);
}

TEST_F(WorkerTest, UnackedEventsAreResentAfterAReconnect) {
  FakeApi api;
  api.ack = false;
  api.drop_next_connection_after_event = true;
  auto w = Worker::Create(Setup("good-key", api.port()), clock_);
  ASSERT_TRUE(w.ok());
  auto done = std::async(std::launch::async, [&] { return (*w)->Run(); });
  // The first connection drops right after the first event; the worker
  // reconnects (a second hello) and sends that event again.
  ASSERT_TRUE(WaitFor([&] { return api.record().hellos >= 2; }, 30s));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto ids = api.record().event_ids;
        return ids.size() >= 2 && std::count(ids.begin(), ids.end(), ids.front()) >= 2;
      },
      30s));
  EXPECT_GT((*w)->counters().spooled, 0);
  api.ack = true;
  (*w)->RequestShutdown();
  ASSERT_EQ(done.wait_for(15s), std::future_status::ready);
  EXPECT_EQ(done.get(), kExitOk);
}

TEST_F(WorkerTest, ApiUnreachableKeepsSpoolingAndShutdownStillExitsCleanly) {
  // A port with nothing listening: bind and close a socket to find one.
  int port;
  {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  auto w = Worker::Create(Setup("good-key", port), clock_);
  ASSERT_TRUE(w.ok());
  auto done = std::async(std::launch::async, [&] { return (*w)->Run(); });
  ASSERT_TRUE(WaitFor([&] { return (*w)->counters().created >= 1; }, 30s));
  // The refused connect reaches the state machine through the client's I/O
  // thread; under a sanitizer the first event may come before it.
  EXPECT_TRUE(WaitFor([&] { return (*w)->state() == WorkerState::kReconnecting; }, 10s))
      << WorkerStateName((*w)->state());
  (*w)->RequestShutdown();
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(done.get(), kExitOk);
  auto c = (*w)->counters();
  EXPECT_GE(c.spooled, 1);
  EXPECT_EQ(c.created, c.spooled + c.acked + c.dropped);
}

TEST_F(WorkerTest, StartStreamSendsLiveFramesOverTheSameSocket) {
  FakeApi api;
  api.StreamCamera("worker-under-test-local");
  auto w = Worker::Create(Setup("good-key", api.port()), clock_);
  ASSERT_TRUE(w.ok());
  auto done = std::async(std::launch::async, [&] { return (*w)->Run(); });
  ASSERT_TRUE(WaitFor([&] { return api.record().stream_frames >= 10; }, 20s));
  EXPECT_TRUE(api.record().frame_headers_ok);
  (*w)->RequestShutdown();
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(done.get(), kExitOk);
}

}  // namespace
}  // namespace vigil::worker
