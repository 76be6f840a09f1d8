#include "api/server.h"

#include <array>
#include <atomic>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "api/beast.h"
#include "api/beast_request.h"
#include "core/logging.h"
#include "protocol/messages.h"

namespace vigil::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

// Every session is a template over its transport: plain TCP, or TLS over TCP
// when API_TLS_CERT/API_TLS_KEY are set (one port either way).
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
inline constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

namespace {

std::shared_ptr<spdlog::logger> Log() {
  static auto log = GetLogger("http");
  return log;
}

constexpr auto kHttpReadTimeout = std::chrono::seconds(30);
// How long a client may take to start (detect) and finish a TLS handshake.
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(10);
constexpr size_t kWorkerSendQueueMax = 10000;  // acks, assigns, galleries
constexpr size_t kLiveSendQueueMax = 256;      // browser feed messages
// A live-view client that takes longer than this to accept one frame is cut off.
constexpr auto kMjpegWriteStall = std::chrono::seconds(20);

}  // namespace

struct ApiServer::Impl {
  ApiConfig config;
  Clock& clock;
  std::unique_ptr<ApiApp> app;
  std::unique_ptr<ssl::context> tls;  // null: plain HTTP/WS
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  asio::steady_timer tick{ioc};
  asio::signal_set signals{ioc};
  std::unique_ptr<asio::thread_pool> handlers;
  std::vector<std::thread> threads;
  int bound_port = 0;
  std::atomic<int> busy_requests{0};
  std::atomic<int> ws_sessions{0};
  std::atomic<int> mjpeg_sessions{0};

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop_requested = false;
  bool stopped = false;
  std::atomic<bool> accepting{true};

  Impl(const ApiConfig& c, Clock& clk) : config(c), clock(clk) {}

  void DoAccept();
  void ScheduleTick();
  void RequestStop() {
    {
      std::lock_guard lock(stop_mu);
      stop_requested = true;
    }
    stop_cv.notify_all();
  }
  void Shutdown();
};

namespace {

// ---------------------------------------------------------------- WebSocket

enum class WsRole { kWorker, kLive };

template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>>,
                  public WorkerConnection,
                  public LiveSubscriber {
 public:
  WsSession(Stream&& stream, ApiServer::Impl& srv, WsRole role) : ws_(std::move(stream)), srv_(srv), role_(role) {
    ++srv_.ws_sessions;
  }
  ~WsSession() override { --srv_.ws_sessions; }

  void Run(http::request<http::string_body> req) {
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    if (role_ == WsRole::kWorker) {
      // The protocol's idle limit: three missed heartbeat intervals of silence.
      t.idle_timeout = srv_.config.heartbeat_interval * protocol::kMissedHeartbeatsForTimeout;
      t.keep_alive_pings = false;
      ws_.read_message_max(protocol::kMaxBinaryFrameBytes);
      worker_timeout_ = t;
    } else {
      t.idle_timeout = std::chrono::seconds(60);
      t.keep_alive_pings = true;
      ws_.read_message_max(64 * 1024);
    }
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "vigil"); }));
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::OnAccept, this->shared_from_this()));
  }

  // WorkerConnection
  void SendText(std::string text) override { Enqueue(std::make_shared<const std::string>(std::move(text))); }
  void Close(uint16_t code, std::string reason) override {
    asio::post(ws_.get_executor(),
               [self = this->shared_from_this(), code, reason = std::move(reason)] { self->StartClose(code, reason); });
  }
  // LiveSubscriber
  void Deliver(std::shared_ptr<const std::string> text) override { Enqueue(std::move(text)); }
  void CloseLive() override { Close(protocol::kCloseGoingAway, "going away"); }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) return;
    if (role_ == WsRole::kWorker) {
      hub_id_ = srv_.app->hub().Open(this->shared_from_this());
      opened_ = true;
    } else {
      live_token_ = srv_.app->live().Join(this->weak_from_this());
      opened_ = true;
    }
    DoRead();
  }

  void DoRead() {
    read_pending_ = true;
    ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    read_pending_ = false;
    if (ec) return Finished();
    if (role_ == WsRole::kWorker) {
      std::string data = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      if (ws_.got_text()) {
        srv_.app->hub().OnText(hub_id_, data);
      } else {
        srv_.app->hub().OnBinary(hub_id_, data);
      }
      // Back-pressure: with the ingest queue full, the next read waits for
      // the hub's resume, so the worker's TCP window closes and it spools.
      auto resume = [self = this->shared_from_this()] {
        asio::post(self->ws_.get_executor(), [self] { self->Resume(); });
      };
      if (!srv_.app->hub().ReadyForMore(hub_id_, std::move(resume))) return Pause();
    } else {
      buffer_.consume(buffer_.size());  // browsers only listen
    }
    DoRead();
  }

  // No read is pending while paused, and Beast's idle timer (armed when a
  // read starts) would take the worker's silence for a dead peer: it is off
  // until Resume. The hub freezes the heartbeat clock of a paused session.
  void Pause() {
    paused_ = true;
    auto t = worker_timeout_;
    t.idle_timeout = websocket::stream_base::none();
    ws_.set_option(t);
  }

  void Resume() {
    if (!paused_) return;
    paused_ = false;
    ws_.set_option(worker_timeout_);
    if (finished_ || closing_) return;  // the close handshake does its own reading
    DoRead();
  }

  void Enqueue(std::shared_ptr<const std::string> msg) {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), msg = std::move(msg)]() mutable {
      if (self->closing_ || self->finished_) return;
      size_t limit = self->role_ == WsRole::kWorker ? kWorkerSendQueueMax : kLiveSendQueueMax;
      if (self->queue_.size() >= limit) {
        // A consumer this far behind is dropped rather than buffered without bound.
        Log()->warn("dropping slow websocket consumer role={}", self->role_ == WsRole::kWorker ? "worker" : "live");
        self->queue_.clear();
        self->StartClose(static_cast<uint16_t>(websocket::close_code::policy_error), "too slow");
        return;
      }
      self->queue_.push_back(std::move(msg));
      if (self->queue_.size() == 1 && !self->writing_) self->DoWrite();
    });
  }

  void DoWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(*queue_.front()),
                    beast::bind_front_handler(&WsSession::OnWrite, this->shared_from_this(), queue_.front()));
  }

  void OnWrite(std::shared_ptr<const std::string> keep, beast::error_code ec, size_t) {
    (void)keep;
    writing_ = false;
    if (ec) {
      queue_.clear();
      return;  // the pending read fails too and finishes the session
    }
    if (!queue_.empty()) queue_.pop_front();
    if (!queue_.empty()) return DoWrite();
    if (closing_ && !close_sent_) DoClose();
  }

  void StartClose(uint16_t code, const std::string& reason) {
    if (closing_ || finished_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    if (!writing_) {
      queue_.clear();
      DoClose();
    }
  }

  void DoClose() {
    close_sent_ = true;
    ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {
      // The read loop ends with `closed` and calls Finished; a session paused
      // by back-pressure has no read pending, so it finishes here.
      if (!self->read_pending_) return self->Finished();
      beast::get_lowest_layer(self->ws_).expires_after(std::chrono::seconds(2));
    });
  }

  void Finished() {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    if (!opened_) return;
    if (role_ == WsRole::kWorker) {
      // The hub may do database work here; keep it off the I/O thread.
      asio::post(*srv_.handlers,
                 [app = srv_.app.get(), id = hub_id_, self = this->shared_from_this()] { app->hub().OnClosed(id); });
    } else {
      srv_.app->live().Leave(live_token_);
    }
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  ApiServer::Impl& srv_;
  WsRole role_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool finished_ = false;
  bool opened_ = false;
  bool paused_ = false;  // worker role: read withheld by back-pressure
  bool read_pending_ = false;
  websocket::stream_base::timeout worker_timeout_{};
  websocket::close_reason close_reason_;
  WorkerHub::SessionId hub_id_ = 0;
  LiveHub::Token live_token_ = 0;
};

// ---------------------------------------------------------------- MJPEG

// One open `GET .../stream.mjpeg` response. The socket leaves the HTTP session
// for good (the response ends with the connection). Writes: the response
// header, then one part at a time; a part offered while one is being written
// waits in a single slot, replaced by newer ones (dropped frames). A read is
// kept pending the whole time so a client that closes is noticed at once and
// the hub can stop the worker's stream.
template <class Stream>
class MjpegSession : public std::enable_shared_from_this<MjpegSession<Stream>>, public StreamViewer {
 public:
  MjpegSession(Stream&& socket, ApiServer::Impl& srv, unsigned version)
      : socket_(std::move(socket)), stall_(socket_.get_executor()), srv_(srv), version_(version) {
    ++srv_.mjpeg_sessions;
  }
  ~MjpegSession() override { --srv_.mjpeg_sessions; }

  // On a handler thread: validates and joins the hub, then starts writing on
  // the socket's strand (or writes the refusal).
  void Open(Request r) {
    auto refusal = srv_.app->OpenMjpeg(std::move(r), this->weak_from_this(), &token_);
    asio::post(socket_.get_executor(), [self = this->shared_from_this(), refusal = std::move(refusal)]() mutable {
      if (refusal) return self->Refuse(std::move(*refusal));
      self->joined_ = true;
      self->Begin();
    });
  }

  // StreamViewer
  void Offer(std::shared_ptr<const std::string> part) override {
    asio::post(socket_.get_executor(), [self = this->shared_from_this(), part = std::move(part)]() mutable {
      if (self->done_ || self->ending_) return;
      if (self->pending_) self->srv_.app->metrics().Inc("vigil_stream_frames_dropped_total");
      self->pending_ = std::move(part);
      if (self->started_ && !self->writing_) self->WriteNext();
    });
  }
  void End() override {
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
      if (self->done_ || self->ending_) return;
      self->ending_ = true;
      self->pending_.reset();
      if (self->started_ && !self->writing_) self->WriteNext();
    });
  }

 private:
  void Refuse(Response res) {
    std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(res.status))) +
                       "\r\nServer: vigil\r\nX-Content-Type-Options: nosniff\r\nContent-Type: " + res.content_type +
                       "\r\nContent-Length: " + std::to_string(res.body.size()) + "\r\n";
    for (const auto& [k, v] : res.headers) head += k + ": " + v + "\r\n";
    head += "Connection: close\r\n\r\n";
    auto out = std::make_shared<std::string>(head + res.body);
    asio::async_write(socket_, asio::buffer(*out),
                      [self = this->shared_from_this(), out](beast::error_code, size_t) { self->Finish(); });
  }

  void Begin() {
    auto head = std::make_shared<std::string>(
        std::string(version_ == 10 ? "HTTP/1.0" : "HTTP/1.1") +
        " 200 OK\r\nServer: vigil\r\nX-Content-Type-Options: nosniff\r\nContent-Type: multipart/x-mixed-replace; "
        "boundary=" +
        std::string(StreamHub::kBoundary) +
        "\r\nCache-Control: no-store\r\nPragma: no-cache\r\nConnection: close\r\n\r\n");
    writing_ = true;
    ArmStall();
    asio::async_write(socket_, asio::buffer(*head),
                      [self = this->shared_from_this(), head](beast::error_code ec, size_t) { self->OnWritten(ec); });
    DoRead();
  }

  // Clients send nothing after the request; any bytes are discarded, and EOF
  // or an error means the viewer left.
  void DoRead() {
    socket_.async_read_some(asio::buffer(scratch_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Finish();
      self->DoRead();
    });
  }

  void WriteNext() {
    std::shared_ptr<const std::string> out;
    if (pending_) {
      out = std::move(pending_);
      pending_.reset();
    } else if (ending_) {
      // The closing delimiter, then the connection ends.
      out = std::make_shared<const std::string>("--" + std::string(StreamHub::kBoundary) + "--\r\n");
      closing_ = true;
    } else {
      return;
    }
    writing_ = true;
    ArmStall();
    asio::async_write(socket_, asio::buffer(*out),
                      [self = this->shared_from_this(), out](beast::error_code ec, size_t) { self->OnWritten(ec); });
  }

  void OnWritten(beast::error_code ec) {
    writing_ = false;
    started_ = true;
    stall_.cancel();
    if (ec || closing_) return Finish();
    WriteNext();
  }

  void ArmStall() {
    stall_.expires_after(kMjpegWriteStall);
    stall_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || !self->writing_) return;
      Log()->info("live viewer too slow, closing");
      self->Finish();
    });
  }

  void Finish() {
    if (done_) return;
    done_ = true;
    pending_.reset();
    stall_.cancel();
    if (joined_) srv_.app->streams().Leave(token_);
    beast::error_code ec;
    // Under TLS this skips close_notify: the closing boundary already told
    // the client the stream is complete.
    beast::get_lowest_layer(socket_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(socket_).socket().close(ec);
  }

  Stream socket_;
  asio::steady_timer stall_;
  ApiServer::Impl& srv_;
  unsigned version_;
  StreamHub::Token token_ = 0;
  std::shared_ptr<const std::string> pending_;
  std::array<char, 512> scratch_{};
  bool joined_ = false;
  bool started_ = false;  // the response header is out
  bool writing_ = false;
  bool ending_ = false;
  bool closing_ = false;
  bool done_ = false;
};

// ---------------------------------------------------------------- HTTP

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  // `buffer`: bytes already read from the connection (the TLS detector's).
  HttpSession(Stream&& stream, ApiServer::Impl& srv, beast::flat_buffer buffer = {})
      : stream_(std::move(stream)), buffer_(std::move(buffer)), srv_(srv) {}

  void Run() {
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::Start, this->shared_from_this()));
  }

 private:
  void Start() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(kTlsHandshakeTimeout);
      stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                              [self = this->shared_from_this()](beast::error_code ec, size_t used) {
                                if (ec) {
                                  // Scanners, expired client trust, plain HTTP that looked like TLS.
                                  Log()->debug("TLS handshake failed error={}", ec.message());
                                  beast::error_code ignored;
                                  beast::get_lowest_layer(self->stream_).socket().close(ignored);
                                  return;
                                }
                                self->buffer_.consume(used);
                                self->DoRead();
                              });
    } else {
      DoRead();
    }
  }

  // The transport, handed to the session that takes the connection over.
  Stream TakeStream() {
    beast::get_lowest_layer(stream_).expires_never();
    if constexpr (kIsTls<Stream>) {
      return std::move(stream_);
    } else {
      return Stream(stream_.release_socket());
    }
  }

  void DoRead() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(static_cast<uint64_t>(srv_.config.max_body_bytes));
    beast::get_lowest_layer(stream_).expires_after(kHttpReadTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return DoClose();
    }
    if (ec == http::error::body_limit) {
      return WriteResponse(ErrorResponse(413, "payload_too_large",
                                         "request body exceeds " + std::to_string(srv_.config.max_body_bytes) +
                                             " bytes (API_MAX_BODY_BYTES)"),
                           false, 11, false);
    }
    if (ec) {
      return WriteResponse(ErrorResponse(400, "bad_request", "malformed HTTP request"), false, 11, false);
    }
    http::request<http::string_body> req = parser_->release();
    Request r = Translate(req);
    if (websocket::is_upgrade(req)) return Upgrade(std::move(req), r);
    if (srv_.app->IsMjpegRequest(r)) return OpenMjpeg(std::move(r), req.version());
    bool keep_alive = req.keep_alive() && srv_.accepting.load();
    unsigned version = req.version();
    bool head = req.method() == http::verb::head;
    ++srv_.busy_requests;
    asio::post(
        *srv_.handlers, [self = this->shared_from_this(), r = std::move(r), keep_alive, version, head]() mutable {
          Response res = self->srv_.app->Handle(std::move(r));
          asio::post(self->stream_.get_executor(), [self, res = std::move(res), keep_alive, version, head]() mutable {
            self->WriteResponse(std::move(res), keep_alive, version, head, true);
          });
        });
  }

  Request Translate(const http::request<http::string_body>& req) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    return ToApiRequest(req, ec ? std::string() : ep.address().to_string());
  }

  void Upgrade(http::request<http::string_body> req, const Request& r) {
    std::optional<Response> refusal;
    WsRole role;
    if (r.path == "/ws/worker") {
      role = WsRole::kWorker;
      refusal = srv_.app->CheckWorkerUpgrade(r);
    } else if (r.path == "/ws/live") {
      role = WsRole::kLive;
      refusal = srv_.app->CheckLiveUpgrade(r);
    } else {
      return WriteResponse(ErrorResponse(404, "not_found", "no websocket endpoint at " + r.path), false, req.version(),
                           false);
    }
    if (!srv_.accepting.load()) refusal = ErrorResponse(503, "unavailable", "the API is shutting down");
    if (refusal) return WriteResponse(std::move(*refusal), false, req.version(), false);
    std::make_shared<WsSession<Stream>>(TakeStream(), srv_, role)->Run(std::move(req));
  }

  // The live view keeps the connection to itself until the stream ends.
  void OpenMjpeg(Request r, unsigned version) {
    auto session = std::make_shared<MjpegSession<Stream>>(TakeStream(), srv_, version);
    asio::post(*srv_.handlers, [session, r = std::move(r)]() mutable { session->Open(std::move(r)); });
  }

  void WriteResponse(Response r, bool keep_alive, unsigned version, bool head, bool counted = false) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
    res->set(http::field::server, "vigil");
    res->set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : r.headers) res->insert(k, v);
    res->keep_alive(keep_alive);
    if (r.status == 204 || r.status == 304) {
      res->prepare_payload();
    } else {
      res->set(http::field::content_type, r.content_type);
      size_t size = r.body.size();
      if (!head) res->body() = std::move(r.body);
      res->content_length(size);
    }
    http::async_write(stream_, *res, [self = this->shared_from_this(), res, counted](beast::error_code ec, size_t) {
      if (counted) --self->srv_.busy_requests;
      if (ec || !res->keep_alive()) return self->DoClose();
      self->DoRead();
    });
  }

  void DoClose() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ec;
        beast::get_lowest_layer(self->stream_).socket().close(ec);
      });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ApiServer::Impl& srv_;
};

// ---------------------------------------------------------------- TLS detection

// On a TLS port, looks at the first bytes: a TLS ClientHello goes on to an
// HttpSession over TLS (with those bytes); anything else gets one plain-text
// 400 saying to use https://, then a lingering close so the client reads it.
class DetectSession : public std::enable_shared_from_this<DetectSession> {
 public:
  DetectSession(tcp::socket&& socket, ApiServer::Impl& srv) : stream_(std::move(socket)), srv_(srv) {}

  void Run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_.expires_after(kTlsHandshakeTimeout);
      beast::async_detect_ssl(self->stream_, self->buffer_, beast::bind_front_handler(&DetectSession::OnDetect, self));
    });
  }

 private:
  void OnDetect(beast::error_code ec, bool tls) {
    if (ec) return Close();
    if (tls) {
      std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(stream_), *srv_.tls), srv_, std::move(buffer_))
          ->Run();
      return;
    }
    Log()->debug("plain HTTP on the TLS port refused");
    static const std::string kBody = "this port speaks HTTPS: use https:// (or wss://)\n";
    static const std::string kRefusal =
        "HTTP/1.1 400 Bad Request\r\nServer: vigil\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        "Content-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
    asio::async_write(stream_, asio::buffer(kRefusal), [self = shared_from_this()](beast::error_code wec, size_t) {
      if (wec) return self->Close();
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->stream_.expires_after(std::chrono::seconds(2));
      self->Drain();
    });
  }

  // Reads and discards until the client closes (or the timer does), so the
  // unread rest of its request does not turn our close into a reset.
  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->Drain();
    });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  ApiServer::Impl& srv_;
};

// The server's TLS context from API_TLS_CERT/API_TLS_KEY; errors name the
// variable and the file.
Result<std::unique_ptr<ssl::context>> MakeTlsContext(const ApiConfig& config) {
  for (const auto& [var, path] :
       {std::pair{"API_TLS_CERT", config.tls_cert}, std::pair{"API_TLS_KEY", config.tls_key}}) {
    std::ifstream probe(path);
    if (!probe) return FailedPrecondition(std::string(var) + ": cannot read " + path);
  }
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  ctx->use_certificate_chain_file(config.tls_cert, ec);
  if (ec) {
    return FailedPrecondition("API_TLS_CERT: cannot load a PEM certificate chain from " + config.tls_cert + ": " +
                              ec.message());
  }
  ctx->use_private_key_file(config.tls_key, ssl::context::pem, ec);
  if (ec) {
    return FailedPrecondition("API_TLS_KEY: cannot load a PEM private key for API_TLS_CERT from " + config.tls_key +
                              ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return FailedPrecondition("API_TLS_KEY: " + config.tls_key + " is not the key of the certificate in " +
                              config.tls_cert);
  }
  return ctx;
}

}  // namespace

// ---------------------------------------------------------------- Impl

void ApiServer::Impl::DoAccept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      Log()->warn("accept failed error={}", ec.message());
    } else if (accepting.load()) {
      // Acks, live events and small JSON replies go out at once: with Nagle's
      // algorithm a worker's ack waited for the TCP acknowledgement of the
      // previous one, which rides on the worker's next event, so ack latency
      // sat at one event interval of the worker.
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (tls) {
        std::make_shared<DetectSession>(std::move(socket), *this)->Run();
      } else {
        std::make_shared<HttpSession<PlainStream>>(PlainStream(std::move(socket)), *this)->Run();
      }
    }
    if (acceptor.is_open()) DoAccept();
  });
}

void ApiServer::Impl::ScheduleTick() {
  // Heartbeat checks run at least every half interval, so a dead worker's
  // cameras move within one interval of its timeout.
  auto period = std::min<std::chrono::milliseconds>(config.heartbeat_interval / 2, std::chrono::seconds(1));
  tick.expires_after(period);
  tick.async_wait([this](beast::error_code ec) {
    if (ec) return;
    asio::post(*handlers, [this] { app->Tick(); });
    ScheduleTick();
  });
}

void ApiServer::Impl::Shutdown() {
  Log()->info("shutting down");
  accepting = false;
  asio::post(ioc, [this] {
    beast::error_code ec;
    acceptor.close(ec);
    tick.cancel();
    signals.cancel(ec);
  });
  app->Shutdown();  // commits and acks queued events, closes workers (1001) and browsers
  // Finish in-flight requests (bounded), then stop.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((busy_requests.load() > 0 || ws_sessions.load() > 0 || mjpeg_sessions.load() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  handlers->join();
  ioc.stop();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
  Log()->info("stopped");
}

// ---------------------------------------------------------------- ApiServer

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() {
  if (!impl_) return;
  bool need_stop;
  {
    std::lock_guard lock(impl_->stop_mu);
    need_stop = !impl_->threads.empty() && !impl_->stopped;
  }
  if (need_stop) {
    RequestStop();
    Wait();
  }
}

Result<std::unique_ptr<ApiServer>> ApiServer::Create(const ApiConfig& config, Clock& clock, std::ostream* announce) {
  auto impl = std::make_unique<Impl>(config, clock);
  // Certificates first: a bad file stops the server before it touches the database.
  if (!config.tls_cert.empty() || !config.tls_key.empty()) {
    VIGIL_ASSIGN_OR_RETURN(impl->tls, MakeTlsContext(config));
  }
  VIGIL_ASSIGN_OR_RETURN(impl->app, ApiApp::Create(config, clock, announce));
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

Status ApiServer::Start() {
  Impl& s = *impl_;
  VIGIL_RETURN_IF_ERROR(s.app->Start());
  beast::error_code ec;
  auto addr = asio::ip::make_address(s.config.bind_address.empty() ? "0.0.0.0" : s.config.bind_address, ec);
  if (ec) return InvalidArgument("API_BIND: expected an IP address, got '" + s.config.bind_address + "'");
  tcp::endpoint ep(addr, static_cast<uint16_t>(s.config.port));
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + ep.address().to_string() + ":" + std::to_string(s.config.port) + ": " +
                       ec.message() + " (set API_PORT)");
  }
  s.bound_port = s.acceptor.local_endpoint().port();
  s.handlers = std::make_unique<asio::thread_pool>(std::max(4, s.config.threads * 2));
  s.DoAccept();
  s.ScheduleTick();
  for (int i = 0; i < s.config.threads; ++i) s.threads.emplace_back([&s] { s.ioc.run(); });
  Log()->info("listening address={} port={} threads={} tls={}", ep.address().to_string(), s.bound_port,
              s.config.threads, s.tls != nullptr);
  return Status::Ok();
}

int ApiServer::port() const { return impl_->bound_port; }

void ApiServer::RequestStop() { impl_->RequestStop(); }

void ApiServer::Wait() {
  Impl& s = *impl_;
  {
    std::unique_lock lock(s.stop_mu);
    s.stop_cv.wait(lock, [&] { return s.stop_requested; });
    if (s.stopped) return;
  }
  s.Shutdown();
  std::lock_guard lock(s.stop_mu);
  s.stopped = true;
}

Status ApiServer::RunUntilSignal() {
  Impl& s = *impl_;
  s.signals.add(SIGINT);
  s.signals.add(SIGTERM);
  s.signals.async_wait([&s](beast::error_code ec, int sig) {
    if (ec) return;
    Log()->info("signal received signal={}", sig);
    s.RequestStop();
  });
  VIGIL_RETURN_IF_ERROR(Start());
  Wait();
  return Status::Ok();
}

ApiApp& ApiServer::app() { return *impl_->app; }

}  // namespace vigil::api
