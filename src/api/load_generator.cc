#include "api/load_generator.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "api/beast.h"
#include "core/clock.h"
#include "core/json_util.h"
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
  std::vector<std::string> acked_ids;  // under mu, when collecting
  bool collect_ids = false;
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> resent{0};
  std::atomic<int64_t> reconnects{0};
  std::atomic<int> connected{0};
  std::atomic<int> finished{0};
  SteadyTime first_send{};
  SteadyTime last_ack{};
  std::vector<std::vector<float>> people;
};

using WsStream = websocket::stream<beast::tcp_stream>;

// One simulated worker. Everything runs on its strand. Each connection
// attempt gets a generation number; completions of an older connection are
// ignored, and the old stream is kept alive by its handlers until they run.
class SimWorker : public std::enable_shared_from_this<SimWorker> {
 public:
  SimWorker(asio::io_context& ioc, const LoadOptions& o, Shared& shared, int index, SteadyTime stop_at)
      : strand_(asio::make_strand(ioc)),
        resolver_(strand_),
        timer_(strand_),
        retry_timer_(strand_),
        hb_timer_(strand_),
        o_(o),
        shared_(shared),
        stop_at_(stop_at),
        rng_(static_cast<uint32_t>(index) * 7919u + 17u) {
    worker_id_ = "loadgen-" + std::to_string(index);
    camera_id_ = worker_id_ + "-cam";
    rate_ = o.rate / std::max(1, o.workers);
  }

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Connect(); });
  }

  // Called after the io_context stopped: what was never acknowledged.
  int64_t unacked() const { return static_cast<int64_t>(pending_.size()); }

 private:
  struct Pending {
    std::string id;
    std::string text;  // the encoded event, re-sent unchanged
    SteadyTime first_sent{};
    bool transmitted = false;
  };

  void Connect() {
    if (done_) return;
    ++gen_;
    ws_ = std::make_shared<WsStream>(strand_);
    resolver_.async_resolve(o_.host, std::to_string(o_.port),
                            [self = shared_from_this(), g = gen_](beast::error_code ec, tcp::resolver::results_type r) {
                              self->OnResolve(g, ec, r);
                            });
  }

  // The connection is gone (or never came up).
  void Lost() {
    if (done_) return;
    if (!o_.reconnect) {
      done_ = true;
      ++shared_.finished;
      return;
    }
    bool was_open = open_;
    open_ = false;
    ++gen_;  // late completions of this connection are ignored from now on
    queue_.clear();
    if (ws_) {
      beast::error_code ignored;
      beast::get_lowest_layer(*ws_).socket().close(ignored);
    }
    if (was_open) backoff_ms_ = 100;
    retry_timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
    backoff_ms_ = std::min(1000, backoff_ms_ * 2);
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Connect();
    });
  }

  void OnResolve(uint64_t g, beast::error_code ec, tcp::resolver::results_type results) {
    if (g != gen_) return;
    if (ec) return Lost();
    auto ws = ws_;
    beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(*ws).async_connect(
        results, [self = shared_from_this(), ws, g](beast::error_code ec2, tcp::endpoint) { self->OnConnect(g, ec2); });
  }

  void OnConnect(uint64_t g, beast::error_code ec) {
    if (g != gen_) return;
    if (ec) return Lost();
    auto ws = ws_;
    beast::get_lowest_layer(*ws).socket().set_option(tcp::no_delay(true));
    beast::get_lowest_layer(*ws).expires_never();
    ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws->set_option(websocket::stream_base::decorator([key = o_.worker_key](websocket::request_type& req) {
      req.set(http::field::authorization, "Bearer " + key);
    }));
    ws->read_message_max(16 << 20);
    ws->async_handshake(o_.host + ":" + std::to_string(o_.port), "/ws/worker",
                        [self = shared_from_this(), ws, g](beast::error_code ec2) { self->OnHandshake(g, ec2); });
  }

  void OnHandshake(uint64_t g, beast::error_code ec) {
    if (g != gen_) return;
    if (ec) return Lost();
    protocol::Hello h;
    h.worker_id = worker_id_;
    h.host = "loadgen";
    h.pid = 0;
    h.version = "loadgen";
    h.capabilities = {"mock", "mock", {"loadgen-128"}, 1};
    h.cameras = {{camera_id_, "loadgen camera", "mock://" + worker_id_}};
    Write(std::make_shared<std::string>(protocol::Encode(h)));
    DoRead();
  }

  void DoRead() {
    auto ws = ws_;
    ws->async_read(buffer_, [self = shared_from_this(), ws, g = gen_](beast::error_code ec, size_t) {
      self->OnRead(g, ec);
    });
  }

  void OnRead(uint64_t g, beast::error_code ec) {
    if (g != gen_) return;
    if (ec) {
      buffer_.consume(buffer_.size());
      return Lost();
    }
    auto j = ParseJson(beast::buffers_to_string(buffer_.data()));
    buffer_.consume(buffer_.size());
    if (j.ok()) {
      std::string type = j->value("type", "");
      if (type == "welcome" && !open_) {
        OnWelcome();
        StartHeartbeats(j->value("heartbeat_interval_ms", int64_t{5000}));
      }
      else if (type == "ack" && j->contains("event_ids")) OnAck((*j)["event_ids"]);
      // "error" frames are counted by the caller through the missing acks.
    }
    if (sending_done_ && pending_.empty()) return Finish();
    DoRead();
  }

  void OnWelcome() {
    open_ = true;
    if (!welcomed_once_) {
      welcomed_once_ = true;
      ++shared_.connected;
      last_tick_ = std::chrono::steady_clock::now();
      Tick();
      return;
    }
    // A reconnect: everything unacknowledged goes out again, oldest first,
    // with its original event id (the API stores each id once).
    ++shared_.reconnects;
    for (auto& [seq, p] : pending_) {
      if (p.transmitted) ++shared_.resent;
      p.transmitted = true;
      Write(std::make_shared<std::string>(p.text));
    }
  }

  // Heartbeats at the interval the API asked for in welcome (DESIGN.md §3),
  // so a run longer than three intervals is not cut off as a dead worker.
  // They queue behind the events like a real worker's do.
  void StartHeartbeats(int64_t interval_ms) {
    hb_interval_ = std::chrono::milliseconds(std::max<int64_t>(1, interval_ms));
    ScheduleHeartbeat(gen_);
  }

  void ScheduleHeartbeat(uint64_t g) {
    hb_timer_.expires_after(hb_interval_);
    hb_timer_.async_wait([self = shared_from_this(), g](beast::error_code ec) {
      if (ec || g != self->gen_ || self->done_ || !self->open_) return;
      protocol::Heartbeat hb;
      hb.seq = ++self->hb_seq_;
      hb.state = std::string(protocol::kWorkerRunning);
      hb.sent_at_ms = SystemClock::Instance().NowUnixMs();
      protocol::CameraStatus cam;
      cam.id = self->camera_id_;
      cam.state = std::string(protocol::kCameraRunning);
      hb.cameras.push_back(std::move(cam));
      self->Write(std::make_shared<std::string>(protocol::Encode(hb)));
      self->ScheduleHeartbeat(g);
    });
  }

  void OnAck(const Json& ids) {
    auto now = std::chrono::steady_clock::now();
    std::vector<double> lat;
    std::vector<std::string> acked;
    for (const auto& id : ids) {
      if (!id.is_string()) continue;
      auto it = by_id_.find(id.get<std::string>());
      if (it == by_id_.end()) continue;  // a duplicate ack of an event already counted
      auto p = pending_.find(it->second);
      lat.push_back(std::chrono::duration<double, std::milli>(now - p->second.first_sent).count());
      if (shared_.collect_ids) acked.push_back(std::move(p->second.id));
      pending_.erase(p);
      by_id_.erase(it);
    }
    shared_.acked += static_cast<int64_t>(lat.size());
    std::lock_guard lock(shared_.mu);
    shared_.latencies_ms.insert(shared_.latencies_ms.end(), lat.begin(), lat.end());
    for (auto& id : acked) shared_.acked_ids.push_back(std::move(id));
    shared_.last_ack = std::max(shared_.last_ack, now);
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
      NewEvent(now);
    }
    // Wake when the next event is due, as a camera worker sends when a track
    // ends rather than polling: a fixed 5 ms tick cost 100 workers 20,000
    // wake-ups a second, most of them idle, on the machine under test.
    const double until_next_s = rate_ > 0 ? (1 - credit_) / rate_ : 0.1;
    const auto wait = std::clamp(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::duration<double>(until_next_s)),
                                 std::chrono::microseconds(1000), std::chrono::microseconds(100000));
    timer_.expires_after(wait);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Tick();
    });
  }

  // Generates one event; it is sent now when connected, else after the
  // next welcome (like a real worker spooling while the API is away).
  void NewEvent(SteadyTime now) {
    protocol::Event e;
    e.captured_at_ms = SystemClock::Instance().NowUnixMs();
    e.event_id = NewTimeOrderedUuid(e.captured_at_ms);  // as a real worker's (camera_pipeline.cc)
    e.worker_id = worker_id_;
    e.camera_id = camera_id_;
    e.track_id = ++track_;
    e.bbox = {100, 80, 120, 120};
    e.det_score = 0.95;
    e.quality = 0.5 + 0.5 * std::uniform_real_distribution<double>(0, 1)(rng_);
    e.model = "loadgen-128";
    const auto& base = shared_.people[std::uniform_int_distribution<size_t>(0, shared_.people.size() - 1)(rng_)];
    e.embedding = base;
    uint64_t seq = ++seq_;
    Pending& p = pending_[seq];
    p.id = e.event_id;
    p.text = protocol::Encode(e);
    p.first_sent = now;
    by_id_[p.id] = seq;
    {
      std::lock_guard lock(shared_.mu);
      if (shared_.first_send == SteadyTime{}) shared_.first_send = now;
    }
    ++shared_.sent;
    if (open_) {
      p.transmitted = true;
      Write(std::make_shared<std::string>(p.text));
    }
  }

  void Write(std::shared_ptr<std::string> text) {
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) DoWrite();
  }

  void DoWrite() {
    auto ws = ws_;
    auto text = queue_.front();
    ws->text(true);
    ws->async_write(asio::buffer(*text), [self = shared_from_this(), ws, text, g = gen_](beast::error_code ec, size_t) {
      if (g != self->gen_) return;
      if (ec) return self->Lost();
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->DoWrite();
    });
  }

  void Finish() {
    if (done_) return;
    done_ = true;
    ++shared_.finished;
    timer_.cancel();
    retry_timer_.cancel();
    hb_timer_.cancel();
    auto ws = ws_;
    ws->async_close(websocket::close_code::normal, [self = shared_from_this(), ws](beast::error_code) {});
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  std::shared_ptr<WsStream> ws_;
  asio::steady_timer timer_;
  asio::steady_timer retry_timer_;
  asio::steady_timer hb_timer_;
  std::chrono::milliseconds hb_interval_{5000};
  int64_t hb_seq_ = 0;
  beast::flat_buffer buffer_;
  const LoadOptions& o_;
  Shared& shared_;
  SteadyTime stop_at_;
  std::mt19937 rng_;
  std::string worker_id_, camera_id_;
  double rate_ = 0, credit_ = 0;
  SteadyTime last_tick_{};
  int64_t track_ = 0;
  uint64_t gen_ = 0;
  uint64_t seq_ = 0;
  int backoff_ms_ = 100;
  bool open_ = false;           // welcomed on the current connection
  bool welcomed_once_ = false;  // sending has started
  bool sending_done_ = false, done_ = false;
  std::map<uint64_t, Pending> pending_;  // unacknowledged, by generation order
  std::unordered_map<std::string, uint64_t> by_id_;
  std::deque<std::shared_ptr<std::string>> queue_;
};

}  // namespace

Result<LoadReport> RunLoad(const LoadOptions& o) {
  if (o.workers < 1 || o.rate <= 0 || o.duration_s <= 0) return InvalidArgument("workers, rate and duration must be > 0");
  Shared shared;
  shared.collect_ids = o.collect_ids;
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
  auto deadline = stop_at + std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, o.drain_s) * 1000));
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
  r.events_resent = shared.resent.load();
  r.reconnects = shared.reconnects.load();
  // The threads have stopped: the workers' state is safe to read here.
  for (const auto& w : workers) r.events_unacked += w->unacked();
  r.acked_ids = std::move(shared.acked_ids);
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

std::string LoadReportJson(const LoadReport& r) {
  Json j = {{"workers_connected", r.workers_connected},
            {"events_sent", r.events_sent},
            {"events_acked", r.events_acked},
            {"events_resent", r.events_resent},
            {"events_unacked", r.events_unacked},
            {"reconnects", r.reconnects},
            {"seconds", r.seconds},
            {"acked_per_second", r.acked_per_second},
            {"p50_ms", r.p50_ms},
            {"p99_ms", r.p99_ms},
            {"max_ms", r.max_ms}};
  return j.dump();
}

}  // namespace vigil::api
