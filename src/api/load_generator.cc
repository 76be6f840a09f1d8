#include "api/load_generator.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "api/beast.h"
#include "core/clock.h"
#include "core/uuid.h"
#include "protocol/codec.h"

namespace vigil::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

Status ParseApiUrl(const std::string& url, std::string* host, int* port) {
  std::string rest = url;
  for (const char* scheme : {"http://", "ws://"}) {
    if (rest.rfind(scheme, 0) == 0) rest = rest.substr(std::string(scheme).size());
  }
  if (rest.rfind("https://", 0) == 0 || rest.rfind("wss://", 0) == 0) {
    return Unimplemented("loadgen speaks plain http/ws only");
  }
  rest = rest.substr(0, rest.find('/'));
  size_t colon = rest.rfind(':');
  *host = rest.substr(0, colon);
  *port = 80;
  if (colon != std::string::npos) {
    try {
      *port = std::stoi(rest.substr(colon + 1));
    } catch (...) {
      return InvalidArgument("--api: bad port in '" + url + "'");
    }
  }
  if (host->empty()) return InvalidArgument("--api: expected http://host:port, got '" + url + "'");
  return Status::Ok();
}

namespace {

struct Shared {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> acked{0};
  std::atomic<int> connected{0};
  std::atomic<int> finished{0};
  SteadyTime first_send{};
  SteadyTime last_ack{};
  std::vector<std::vector<float>> people;
};

class SimWorker : public std::enable_shared_from_this<SimWorker> {
 public:
  SimWorker(asio::io_context& ioc, const LoadOptions& o, Shared& shared, int index, SteadyTime stop_at)
      : resolver_(asio::make_strand(ioc)),
        ws_(resolver_.get_executor()),
        timer_(resolver_.get_executor()),
        o_(o),
        shared_(shared),
        stop_at_(stop_at),
        rng_(static_cast<uint32_t>(index) * 7919u + 17u) {
    worker_id_ = "loadgen-" + std::to_string(index);
    camera_id_ = worker_id_ + "-cam";
    rate_ = o.rate / std::max(1, o.workers);
  }

  void Start() {
    resolver_.async_resolve(o_.host, std::to_string(o_.port),
                            beast::bind_front_handler(&SimWorker::OnResolve, shared_from_this()));
  }

 private:
  void Fail() {
    if (done_) return;
    done_ = true;
    ++shared_.finished;
  }
  void OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return Fail();
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(ws_).async_connect(results,
                                               beast::bind_front_handler(&SimWorker::OnConnect, shared_from_this()));
  }
  void OnConnect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ec) return Fail();
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.set_option(websocket::stream_base::decorator([key = o_.worker_key](websocket::request_type& req) {
      req.set(http::field::authorization, "Bearer " + key);
    }));
    ws_.read_message_max(16 << 20);
    ws_.async_handshake(o_.host + ":" + std::to_string(o_.port), "/ws/worker",
                        beast::bind_front_handler(&SimWorker::OnHandshake, shared_from_this()));
  }
  void OnHandshake(beast::error_code ec) {
    if (ec) return Fail();
    protocol::Hello h;
    h.worker_id = worker_id_;
    h.host = "loadgen";
    h.pid = 0;
    h.version = "loadgen";
    h.capabilities = {"mock", "mock", {"loadgen-128"}, 1};
    h.cameras = {{camera_id_, "loadgen camera", "mock://" + worker_id_}};
    Write(protocol::Encode(h));
    DoRead();
  }
  void DoRead() { ws_.async_read(buffer_, beast::bind_front_handler(&SimWorker::OnRead, shared_from_this())); }
  void OnRead(beast::error_code ec, size_t) {
    if (ec) return Fail();
    auto j = ParseJson(beast::buffers_to_string(buffer_.data()));
    buffer_.consume(buffer_.size());
    if (j.ok()) {
      std::string type = j->value("type", "");
      if (type == "welcome" && !welcomed_) {
        welcomed_ = true;
        ++shared_.connected;
        last_tick_ = std::chrono::steady_clock::now();
        Tick();
      } else if (type == "ack" && j->contains("event_ids")) {
        auto now = std::chrono::steady_clock::now();
        std::vector<double> lat;
        for (const auto& id : (*j)["event_ids"]) {
          auto it = pending_.find(id.get<std::string>());
          if (it == pending_.end()) continue;
          lat.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
          pending_.erase(it);
        }
        shared_.acked += static_cast<int64_t>(lat.size());
        std::lock_guard lock(shared_.mu);
        shared_.latencies_ms.insert(shared_.latencies_ms.end(), lat.begin(), lat.end());
        shared_.last_ack = std::max(shared_.last_ack, now);
      } else if (type == "error") {
        // Counted by the caller through the missing acks.
      }
    }
    if (sending_done_ && pending_.empty()) return Finish();
    DoRead();
  }
  void Tick() {
    auto now = std::chrono::steady_clock::now();
    if (now >= stop_at_) {
      sending_done_ = true;
      if (pending_.empty()) Finish();
      return;
    }
    credit_ += rate_ * std::chrono::duration<double>(now - last_tick_).count();
    last_tick_ = now;
    while (credit_ >= 1) {
      credit_ -= 1;
      SendEvent(now);
    }
    timer_.expires_after(std::chrono::milliseconds(5));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Tick();
    });
  }
  void SendEvent(SteadyTime now) {
    protocol::Event e;
    e.event_id = NewUuid();
    e.worker_id = worker_id_;
    e.camera_id = camera_id_;
    e.captured_at_ms = SystemClock::Instance().NowUnixMs();
    e.track_id = ++track_;
    e.bbox = {100, 80, 120, 120};
    e.det_score = 0.95;
    e.quality = 0.5 + 0.5 * std::uniform_real_distribution<double>(0, 1)(rng_);
    e.model = "loadgen-128";
    const auto& base = shared_.people[std::uniform_int_distribution<size_t>(0, shared_.people.size() - 1)(rng_)];
    e.embedding = base;
    pending_[e.event_id] = now;
    {
      std::lock_guard lock(shared_.mu);
      if (shared_.first_send == SteadyTime{}) shared_.first_send = now;
    }
    ++shared_.sent;
    Write(protocol::Encode(e));
  }
  void Write(std::string text) {
    queue_.push_back(std::make_shared<std::string>(std::move(text)));
    if (queue_.size() == 1) DoWrite();
  }
  void DoWrite() {
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Fail();
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->DoWrite();
    });
  }
  void Finish() {
    if (done_) return;
    done_ = true;
    ++shared_.finished;
    timer_.cancel();
    ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
  }

  tcp::resolver resolver_;
  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  const LoadOptions& o_;
  Shared& shared_;
  SteadyTime stop_at_;
  std::mt19937 rng_;
  std::string worker_id_, camera_id_;
  double rate_ = 0, credit_ = 0;
  SteadyTime last_tick_{};
  int64_t track_ = 0;
  bool welcomed_ = false, sending_done_ = false, done_ = false;
  std::unordered_map<std::string, SteadyTime> pending_;
  std::deque<std::shared_ptr<std::string>> queue_;
};

}  // namespace

Result<LoadReport> RunLoad(const LoadOptions& o) {
  if (o.workers < 1 || o.rate <= 0 || o.duration_s <= 0) return InvalidArgument("workers, rate and duration must be > 0");
  Shared shared;
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0, 1);
  for (int p = 0; p < std::max(1, o.people); ++p) {
    std::vector<float> v(128);
    double norm = 0;
    for (auto& x : v) {
      x = nd(rng);
      norm += double(x) * x;
    }
    for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
    shared.people.push_back(std::move(v));
  }
  asio::io_context ioc;
  auto start = std::chrono::steady_clock::now();
  // Workers connect first (a second), then send for duration_s.
  auto stop_at = start + std::chrono::milliseconds(static_cast<int64_t>((1.0 + o.duration_s) * 1000));
  std::vector<std::shared_ptr<SimWorker>> workers;
  for (int i = 0; i < o.workers; ++i) {
    workers.push_back(std::make_shared<SimWorker>(ioc, o, shared, i, stop_at));
    workers.back()->Start();
  }
  auto guard = asio::make_work_guard(ioc);
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, o.threads); ++i) threads.emplace_back([&ioc] { ioc.run(); });
  auto deadline = stop_at + std::chrono::seconds(10);
  while (shared.finished.load() < o.workers && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  guard.reset();
  ioc.stop();
  for (auto& t : threads) t.join();

  LoadReport r;
  r.workers_connected = shared.connected.load();
  r.events_sent = shared.sent.load();
  r.events_acked = shared.acked.load();
  if (shared.first_send != SteadyTime{} && shared.last_ack > shared.first_send) {
    r.seconds = std::chrono::duration<double>(shared.last_ack - shared.first_send).count();
    r.acked_per_second = r.events_acked / r.seconds;
  }
  auto& lat = shared.latencies_ms;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, size_t(p * lat.size()))]; };
  r.p50_ms = pct(0.50);
  r.p99_ms = pct(0.99);
  r.max_ms = lat.empty() ? 0 : lat.back();
  return r;
}

}  // namespace vigil::api
