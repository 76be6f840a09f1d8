#include "worker/api_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <mutex>
#include <thread>

#include "core/logging.h"
#include "protocol/messages.h"

namespace vigil::worker {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

Result<ApiEndpoint> ParseApiUrl(const std::string& api_url) {
  ApiEndpoint ep;
  std::string rest;
  if (api_url.rfind("http://", 0) == 0) {
    rest = api_url.substr(7);
  } else if (api_url.rfind("https://", 0) == 0) {
    ep.tls = true;
    rest = api_url.substr(8);
  } else {
    return InvalidArgument("API_URL: expected http://host:port or https://host:port, got '" + api_url + "'");
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (hostport.empty()) return InvalidArgument("API_URL: no host in '" + api_url + "'");
  if (hostport.front() == '[') {  // [v6]:port
    size_t close = hostport.find(']');
    if (close == std::string::npos) return InvalidArgument("API_URL: bad IPv6 host in '" + api_url + "'");
    ep.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') ep.port = hostport.substr(close + 2);
  } else {
    size_t colon = hostport.rfind(':');
    ep.host = hostport.substr(0, colon);
    if (colon != std::string::npos) ep.port = hostport.substr(colon + 1);
  }
  if (ep.port.empty()) ep.port = ep.tls ? "443" : "80";
  if (ep.host.empty() || ep.port.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("API_URL: expected http(s)://host:port, got '" + api_url + "'");
  }
  ep.target = prefix + "/ws/worker";
  return ep;
}

namespace {

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  (void)net::ip::make_address(host, ec);
  return !ec;
}

struct SessionBase {
  virtual ~SessionBase() = default;
  virtual void Start() = 0;
  virtual void Send(bool binary, std::string data) = 0;
  virtual void Close(uint16_t code, const std::string& reason) = 0;
  virtual void SetIdleTimeout(int64_t idle_timeout_ms) = 0;
};

}  // namespace

class ApiClient::Impl {
 public:
  Impl(ApiClientOptions options, ApiEndpoint ep, Handlers handlers)
      : options_(std::move(options)),
        ep_(std::move(ep)),
        handlers_(std::move(handlers)),
        ssl_ctx_(ssl::context::tls_client),
        work_(net::make_work_guard(ioc_)) {}

  ~Impl() {
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Status Init() {
    if (ep_.tls) {
      boost::system::error_code ec;
      ssl_ctx_.set_verify_mode(ssl::verify_peer, ec);
      if (ec) return Internal("TLS: cannot enable peer verification: " + ec.message());
      SSL_CTX_set_min_proto_version(ssl_ctx_.native_handle(), TLS1_2_VERSION);
      if (!options_.ca_cert.empty()) {
        ssl_ctx_.load_verify_file(options_.ca_cert, ec);
        if (ec) {
          return FailedPrecondition("API_CA_CERT: cannot load " + options_.ca_cert +
                                    " as PEM certificates: " + ec.message());
        }
      } else {
        ssl_ctx_.set_default_verify_paths(ec);
        if (ec) return FailedPrecondition("TLS: cannot load the system CA store: " + ec.message());
      }
    }
    thread_ = std::thread([this] { ioc_.run(); });
    return Status::Ok();
  }

  void Connect();
  void Finished(const CloseInfo& info) {
    session_.reset();
    connected_ = false;
    queued_ = 0;
    if (handlers_.on_close) handlers_.on_close(info);
  }

  ApiClientOptions options_;
  ApiEndpoint ep_;
  Handlers handlers_;
  net::io_context ioc_;
  ssl::context ssl_ctx_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::thread thread_;
  std::shared_ptr<SessionBase> session_;  // only touched on the I/O thread
  std::atomic<bool> connected_{false};
  std::atomic<size_t> queued_{0};
};

namespace {

template <class Ws>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Ws>> {
 public:
  template <class... Args>
  Session(ApiClient::Impl* owner, Args&&... args)
      : owner_(owner), resolver_(owner->ioc_), ws_(std::forward<Args>(args)...) {}

  void Start() override {
    resolver_.async_resolve(owner_->ep_.host, owner_->ep_.port,
                            [self = this->shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
                              self->OnResolve(ec, r);
                            });
  }

  void Send(bool binary, std::string data) override {
    if (!open_ || closing_) {
      owner_->queued_ -= std::min(owner_->queued_.load(), data.size());
      return;
    }
    queue_.push_back({binary, std::move(data)});
    if (queue_.size() == 1) DoWrite();
  }

  void SetIdleTimeout(int64_t idle_timeout_ms) override {
    if (!open_ || finished_) return;  // Upgrade() reads the option for a connection not open yet
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::milliseconds(owner_->options_.connect_timeout_ms);
    t.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
    t.keep_alive_pings = true;
    ws_.set_option(t);
  }

  void Close(uint16_t code, const std::string& reason) override {
    if (finished_) return;
    if (!open_) {
      Finish("closed before the connection opened");
      return;
    }
    if (closing_) return;
    closing_ = true;
    // Messages queued before the close (the goodbye above all) go out first:
    // a close frame started while they wait would make their writes fail.
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    if (queue_.empty()) StartClose();
  }

 private:
  void OnResolve(beast::error_code ec, const tcp::resolver::results_type& results) {
    if (ec) return Finish("resolve " + owner_->ep_.host + ": " + ec.message());
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(std::chrono::milliseconds(owner_->options_.connect_timeout_ms));
    tcp_layer.async_connect(results, [self = this->shared_from_this()](beast::error_code ec2, const tcp::endpoint&) {
      self->OnConnect(ec2);
    });
  }

  void OnConnect(beast::error_code ec) {
    if (ec) return Finish("connect " + owner_->ep_.host + ":" + owner_->ep_.port + ": " + ec.message());
    // Events and heartbeats are small messages; with Nagle's algorithm one
    // would wait for the TCP acknowledgement of the one before.
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (std::is_same_v<typename Ws::next_layer_type, beast::ssl_stream<beast::tcp_stream>>) {
      auto& tls = ws_.next_layer();
      SSL* ssl_handle = tls.native_handle();
      const std::string& host = owner_->ep_.host;
      // OpenSSL checks the name itself (RFC 6125 rules, IP SANs for literal
      // addresses), so a mismatch shows up as a verify result we can name.
      bool named;
      if (IsIpLiteral(host)) {
        named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), host.c_str()) == 1;
      } else {
        named = SSL_set_tlsext_host_name(ssl_handle, host.c_str()) == 1 && SSL_set1_host(ssl_handle, host.c_str()) == 1;
      }
      if (!named) return Finish("TLS: cannot set the expected host name '" + host + "'");
      tls.async_handshake(ssl::stream_base::client, [self = this->shared_from_this()](beast::error_code ec2) {
        if (ec2) return self->OnTlsError(ec2);
        self->Upgrade();
      });
    } else {
      Upgrade();
    }
  }

  // Separates a rejected certificate (permanent until someone fixes the
  // configuration) from a transport failure during the handshake (retried).
  void OnTlsError(beast::error_code ec) {
    if constexpr (std::is_same_v<typename Ws::next_layer_type, beast::ssl_stream<beast::tcp_stream>>) {
      long verify = SSL_get_verify_result(ws_.next_layer().native_handle());
      bool ssl_error = ec.category() == net::error::get_ssl_category();
      int reason = ssl_error ? ERR_GET_REASON(static_cast<unsigned long>(ec.value())) : 0;
      if (verify != X509_V_OK || reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        tls_verify_failed_ = true;
        std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "certificate verify failed";
        std::string hint = owner_->options_.ca_cert.empty()
                               ? "if the API uses a private CA, set API_CA_CERT to that CA's PEM file"
                               : "check that API_CA_CERT (" + owner_->options_.ca_cert +
                                     ") holds the CA that signed the API's certificate";
        return Finish("TLS: the API's certificate was rejected for host " + owner_->ep_.host + ": " + why + "; " +
                      hint + ", and that the certificate names this host");
      }
      if (ssl_error && reason == SSL_R_WRONG_VERSION_NUMBER) {
        return Finish("TLS handshake: " + ec.message() +
                      " (is the API serving plain HTTP? then use http:// in API_URL)");
      }
    }
    Finish("TLS handshake: " + ec.message());
  }

  void Upgrade() {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::milliseconds(owner_->options_.connect_timeout_ms);
    t.idle_timeout = std::chrono::milliseconds(owner_->options_.idle_timeout_ms);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    std::string auth = "Bearer " + owner_->options_.api_key;
    ws_.set_option(websocket::stream_base::decorator([auth](websocket::request_type& req) {
      req.set(http::field::authorization, auth);
      req.set(http::field::user_agent, "vigil-worker");
    }));
    ws_.read_message_max(protocol::kMaxGalleryFrameBytes + 4096);
    std::string host = owner_->ep_.host + ":" + owner_->ep_.port;
    ws_.async_handshake(res_, host, owner_->ep_.target,
                        [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      http_status_ = static_cast<int>(res_.result_int());
      if (ec == websocket::error::upgrade_declined && http_status_ != 0) {
        std::string hint;
        if (http_status_ == 400 && res_.body().find("speaks HTTPS") != std::string::npos) {
          hint = " (the API speaks HTTPS: use https:// in API_URL)";
        }
        return Finish("the API refused the WebSocket upgrade with HTTP " + std::to_string(http_status_) + hint);
      }
      http_status_ = 0;
      return Finish("WebSocket handshake: " + ec.message());
    }
    open_ = true;
    owner_->connected_ = true;
    if (owner_->handlers_.on_open) owner_->handlers_.on_open();
    DoRead();
  }

  void DoRead() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::closed) {
        close_code_ = ws_.reason().code;
        return Finish(std::string(ws_.reason().reason.c_str()));
      }
      return Finish(ec.message());
    }
    std::string msg = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    bool text = ws_.got_text();
    if (text) {
      if (owner_->handlers_.on_text) owner_->handlers_.on_text(std::move(msg));
    } else if (owner_->handlers_.on_binary) {
      owner_->handlers_.on_binary(std::move(msg));
    }
    if (!finished_) DoRead();
  }

  void StartClose() {
    ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) self->Finish(ec.message());
      // Otherwise the pending read completes with `closed` and finishes.
    });
  }

  void DoWrite() {
    auto& front = queue_.front();
    ws_.binary(front.first);
    ws_.async_write(net::buffer(front.second),
                    [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    if (queue_.empty()) return;
    size_t n = queue_.front().second.size();
    owner_->queued_ -= std::min(owner_->queued_.load(), n);
    queue_.pop_front();
    if (ec) {
      // The read side reports the end of the connection; fail it if not.
      beast::get_lowest_layer(ws_).close();
      return;
    }
    if (finished_) return;
    if (!queue_.empty()) {
      DoWrite();
    } else if (closing_) {
      StartClose();
    }
  }

  void Finish(const std::string& reason) {
    if (finished_) return;
    finished_ = true;
    CloseInfo info;
    info.opened = open_;
    info.http_status = http_status_;
    info.close_code = close_code_;
    info.reason = reason;
    info.tls_verify_failed = tls_verify_failed_;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    owner_->Finished(info);
  }

  ApiClient::Impl* owner_;
  tcp::resolver resolver_;
  Ws ws_;
  beast::flat_buffer buffer_;
  websocket::response_type res_;
  std::deque<std::pair<bool, std::string>> queue_;
  bool open_ = false;
  bool closing_ = false;
  websocket::close_reason close_reason_;
  bool finished_ = false;
  int http_status_ = 0;
  int close_code_ = 0;
  bool tls_verify_failed_ = false;
};

}  // namespace

void ApiClient::Impl::Connect() {
  net::post(ioc_, [this] {
    if (session_) return;
    if (ep_.tls) {
      auto s = std::make_shared<Session<websocket::stream<beast::ssl_stream<beast::tcp_stream>>>>(this, ioc_, ssl_ctx_);
      session_ = s;
    } else {
      session_ = std::make_shared<Session<websocket::stream<beast::tcp_stream>>>(this, ioc_);
    }
    session_->Start();
  });
}

Result<std::unique_ptr<ApiClient>> ApiClient::Create(const ApiClientOptions& options, Handlers handlers) {
  VIGIL_ASSIGN_OR_RETURN(ApiEndpoint ep, ParseApiUrl(options.api_url));
  auto impl = std::make_unique<Impl>(options, ep, std::move(handlers));
  VIGIL_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(impl)));
}

ApiClient::ApiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiClient::~ApiClient() = default;

void ApiClient::Connect() { impl_->Connect(); }

bool ApiClient::SendText(std::string text) {
  if (!impl_->connected_) return false;
  impl_->queued_ += text.size();
  net::post(impl_->ioc_, [impl = impl_.get(), t = std::move(text)]() mutable {
    if (impl->session_)
      impl->session_->Send(false, std::move(t));
    else
      impl->queued_ -= std::min(impl->queued_.load(), t.size());
  });
  return true;
}

bool ApiClient::SendBinary(std::string data) {
  if (!impl_->connected_) return false;
  impl_->queued_ += data.size();
  net::post(impl_->ioc_, [impl = impl_.get(), d = std::move(data)]() mutable {
    if (impl->session_)
      impl->session_->Send(true, std::move(d));
    else
      impl->queued_ -= std::min(impl->queued_.load(), d.size());
  });
  return true;
}

void ApiClient::Close(uint16_t code, const std::string& reason) {
  net::post(impl_->ioc_, [impl = impl_.get(), code, reason] {
    if (impl->session_) impl->session_->Close(code, reason);
  });
}

void ApiClient::SetIdleTimeout(int64_t idle_timeout_ms) {
  net::post(impl_->ioc_, [impl = impl_.get(), idle_timeout_ms] {
    impl->options_.idle_timeout_ms = idle_timeout_ms;  // options_ is read on the I/O thread only
    if (impl->session_) impl->session_->SetIdleTimeout(idle_timeout_ms);
  });
}

size_t ApiClient::queued_bytes() const { return impl_->queued_; }
bool ApiClient::connected() const { return impl_->connected_; }
std::string ApiClient::target_url() const {
  return std::string(impl_->ep_.tls ? "wss://" : "ws://") + impl_->ep_.host + ":" + impl_->ep_.port + impl_->ep_.target;
}

}  // namespace vigil::worker
