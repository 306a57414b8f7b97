// The Asio/Beast side of the server: accepting, one Session per connection,
// the worker pool, the refresh timer and the shutdown sequence. What each
// endpoint does lives in handlers.cc, which knows no Boost.
//
// A Session runs on its own strand and moves through
//   idle (keep-alive, waiting for a byte) -> reading (header, maybe
//   "100 Continue", body) -> handling (on a worker) -> writing -> idle ...
// One steady_timer per session bounds the idle and reading phases: idle
// connections are closed quietly, a request not read in time gets 408.
// Beast's tcp_stream timeout bounds writes (it closes the socket itself, so
// it cannot be used where a 408 must still be sent).
#include "http/server.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/handlers.h"
#include "http/metrics.h"
#include "http/response.h"
#include "http/router.h"
#include "query/engine_internal.h"
#include "rerank/batch_queue.h"

namespace cascade::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kServerName = "cascade/0.1.0";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Before closing a connection the server shuts down its sending side and
// reads (and drops) what the client still sends, for this long or this many
// bytes: closing with unread input makes the kernel reset the connection,
// which can destroy the response before the client reads it (a 413 sent
// while the body still arrives, a pipelined request behind "Connection:
// close"). RFC 9112 section 9.6, "lingering close".
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = size_t{64} << 20;
constexpr size_t kLingerChunk = 16 << 10;
// How long Shutdown waits for connections it force-closed to go away.
constexpr auto kForceCloseWait = std::chrono::seconds(2);

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

std::string MillisText(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

// Byte comparison whose time does not depend on where the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// Runs queued jobs on a fixed set of threads. TryPush refuses when
// `capacity` jobs are already waiting, which is how overload becomes 429
// instead of an ever longer queue.
class WorkQueue {
 public:
  explicit WorkQueue(size_t capacity) : capacity_(capacity) {}
  ~WorkQueue() { Stop(); }

  void Start(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Run(); });
    }
  }

  // False when the queue is full or stopped.
  bool TryPush(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || jobs_.size() >= capacity_) return false;
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
    return true;
  }

  // For the server's own jobs (the periodic refresh): ignores the cap.
  bool PushInternal(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return false;
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
    return true;
  }

  size_t depth() const {
    std::lock_guard lock(mu_);
    return jobs_.size();
  }

  // Lets running jobs finish, drops waiting ones, joins the threads.
  void Stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      dropped.swap(jobs_);
    }
    ready_.notify_all();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    // `dropped` goes here, outside the lock: its jobs own connections.
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Blocks SIGINT, SIGTERM and SIGPIPE in the calling thread while alive, so
// threads started meanwhile inherit the block: termination signals then go
// to the thread in WaitForTerminationSignal.
class ScopedSignalBlock {
 public:
  ScopedSignalBlock() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~ScopedSignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

class Session;

// Everything a running server owns. Member order matters for destruction:
// the io_context goes before the state its pending handlers' sessions use.
class ServerCore {
 public:
  ServerCore(std::shared_ptr<Index> index,
             std::shared_ptr<rerank::BatchQueue> rerank,
             const ServerOptions& options)
      : options_(options),
        index_(std::move(index)),
        rerank_(std::move(rerank)),
        work_(options.max_queue),
        handlers_(index_, rerank_, &metrics_, [this] { return work_.depth(); }),
        ioc_(static_cast<int>(options.io_threads)),
        strand_(net::make_strand(ioc_)),
        acceptor_(strand_),
        refresh_timer_(strand_),
        accept_timer_(strand_) {}

  ~ServerCore() { Shutdown().IgnoreError(); }

  Status Listen();
  void Run();
  Status Shutdown();

  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  Metrics& metrics() { return metrics_; }
  Handlers& handlers() { return handlers_; }
  WorkQueue& work() { return work_; }
  uint16_t port() const { return port_; }
  ServerStats stats() const {
    ServerStats stats;
    stats.requests = metrics_.requests();
    stats.server_errors = metrics_.server_errors();
    stats.connections = connections_.load();
    return stats;
  }

  // Whether the request may go on; false = 401.
  bool Authorized(Route route, std::string_view method,
                  const bhttp::request<bhttp::string_body>& req) const;

  void Unregister(Session* session) {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(session);
    if (sessions_.empty()) sessions_cv_.notify_all();
  }

 private:
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void ArmRefresh();
  std::vector<std::shared_ptr<Session>> LiveSessions();
  bool WaitForSessions(Clock::duration timeout);

  const ServerOptions options_;
  std::shared_ptr<Index> index_;
  std::shared_ptr<rerank::BatchQueue> rerank_;
  Metrics metrics_;
  WorkQueue work_;
  Handlers handlers_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> refresh_busy_{false};
  std::atomic<uint64_t> connections_{0};
  uint16_t port_ = 0;

  std::mutex shutdown_mu_;
  bool shut_down_ = false;
  bool running_ = false;
  Status shutdown_status_;

  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;

  std::vector<std::thread> io_threads_;
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard_;
  net::strand<net::io_context::executor_type> strand_;  // acceptor, timers
  tcp::acceptor acceptor_;
  net::steady_timer refresh_timer_;
  net::steady_timer accept_timer_;

  friend class Session;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, ServerCore* core)
      : core_(core),
        timeout_(core->options().request_timeout),
        stream_(std::move(socket)),
        timer_(stream_.get_executor()) {}
  ~Session() { core_->Unregister(this); }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::WaitForRequest,
                                            shared_from_this()));
  }
  // The server is shutting down: an idle connection closes now, a busy one
  // after its response (which then says Connection: close).
  void Stop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->state_ == State::kIdle) self->Close();
    });
  }
  void ForceClose() {
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->Close(); });
  }
  // Closes the socket on the caller's thread: only once no I/O thread runs
  // (Shutdown, after joining them), for a session whose posted close never
  // ran.
  void CloseNow() { Close(); }

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kLingering, kClosed };

  void WaitForRequest() {
    if (state_ == State::kClosed) return;
    if (core_->stopping()) return Close();
    if (buffer_.size() > 0) return ReadHeader();  // a pipelined request
    state_ = State::kIdle;
    ArmTimer();
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        beast::bind_front_handler(&Session::OnReadable, shared_from_this()));
  }

  void OnReadable(beast::error_code ec) {
    if (state_ != State::kIdle) return;
    if (ec) return Close();
    ReadHeader();
  }

  void ReadHeader() {
    state_ = State::kReading;
    timed_out_ = false;
    keep_alive_ = false;
    version_ = 11;
    endpoint_ = "other";
    started_ = Clock::now();
    deadline_ = started_ + timeout_;
    parser_.emplace();
    const ServerOptions& options = core_->options();
    parser_->header_limit(static_cast<uint32_t>(options.max_header_bytes));
    parser_->body_limit(static_cast<uint64_t>(options.max_body_bytes));
    ArmTimer();
    stream_.expires_never();
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (state_ != State::kReading) return;
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return OnRequest();
    const auto& req = parser_->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      // The client waits for a go-ahead before sending the body: refuse
      // now what the header alone decides, without the body.
      const RouteMatch match = MatchRoute(Sv(req.target()));
      endpoint_ = match.pattern;
      version_ = req.version();
      if (std::optional<Response> refusal = Precheck(match, req)) {
        state_ = State::kHandling;
        timer_.cancel();
        return Send(std::move(*refusal), /*unread_input=*/true);
      }
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (self->state_ != State::kReading) return;
                         if (ec) return self->OnReadError(ec);
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (state_ != State::kReading) return;
    if (ec) return OnReadError(ec);
    OnRequest();
  }

  void OnReadError(beast::error_code ec) {
    timer_.cancel();
    const ServerOptions& options = core_->options();
    if (parser_->is_header_done()) {
      const auto& req = parser_->get();
      endpoint_ = MatchRoute(Sv(req.target())).pattern;
      version_ = req.version();
    }
    state_ = State::kHandling;
    if (timed_out_) {
      // Nothing of a request arrived: an idle client, closed quietly.
      if (!parser_->got_some() && buffer_.size() == 0) return Close();
      return Send(ErrorResponse(Status::DeadlineExceeded(
                      "request not completed within " +
                      MillisText(options.request_timeout))),
                  /*unread_input=*/true);
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted ||
        ec == bhttp::error::partial_message) {
      return Close();  // the client went away (or we are closing)
    }
    if (ec == bhttp::error::header_limit) {
      return Send(ErrorResponse(431, "request header over " +
                                         std::to_string(options.max_header_bytes) +
                                         " bytes"),
                  /*unread_input=*/true);
    }
    if (ec == bhttp::error::body_limit) {
      return Send(ErrorResponse(413, "request body over " +
                                         std::to_string(options.max_body_bytes) +
                                         " bytes"),
                  /*unread_input=*/true);
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return Send(ErrorResponse(Status::InvalidArgument("malformed HTTP request",
                                                        ec.message())),
                  /*unread_input=*/true);
    }
    Close();  // a socket error
  }

  // 404, 405, a bad id and 401: what the route and headers alone decide.
  std::optional<Response> Precheck(const RouteMatch& match,
                                   const bhttp::request<bhttp::string_body>& req) {
    const std::string_view method = Sv(req.method_string());
    if (match.route == Route::kNone) {
      std::string reason = "unknown path \"";
      reason.append(match.path.substr(0, 200));
      reason.push_back('"');
      return ErrorResponse(Status::NotFound(reason));
    }
    if (!MethodAllowed(match.route, method)) {
      Response response = ErrorResponse(
          405, "method " + std::string(method) + " not allowed on " +
                   std::string(match.pattern) + " (allowed: " +
                   std::string(AllowedMethods(match.route)) + ")");
      response.headers.emplace_back("Allow", std::string(AllowedMethods(match.route)));
      return response;
    }
    if (!match.id_status.ok()) return ErrorResponse(match.id_status);
    if (!core_->Authorized(match.route, method, req)) {
      Response response = ErrorResponse(
          401, "missing or wrong API key (send Authorization: Bearer <key> or "
               "X-API-Key: <key>)");
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return response;
    }
    return std::nullopt;
  }

  void OnRequest() {
    timer_.cancel();
    state_ = State::kHandling;
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    const RouteMatch match = MatchRoute(Sv(req.target()));
    endpoint_ = match.pattern;
    if (std::optional<Response> refusal = Precheck(match, req)) {
      return Send(std::move(*refusal));
    }
    if (match.route == Route::kHealth) {
      // Answered here, not queued: liveness must not wait behind a
      // saturated worker pool.
      return Send(JsonResponse("{\"status\":\"ok\"}"));
    }
    // The job owns copies of what it reads; the parser is reused for the
    // next request only after this one's response.
    auto job = [self = shared_from_this(), target = std::string(Sv(req.target())),
                method = std::string(Sv(req.method_string())),
                body = std::move(req.body()), deadline = deadline_]() {
      Response response;
      if (Clock::now() > deadline) {
        response = ErrorResponse(Status::DeadlineExceeded(
            "request waited longer than " +
            MillisText(self->core_->options().request_timeout) + " for a worker"));
        response.close = true;
      } else {
        try {
          response = self->core_->handlers().Handle(MatchRoute(target), method, body);
        } catch (const std::exception& e) {
          response = ErrorResponse(Status::Internal("internal error", e.what()));
        } catch (...) {
          response = ErrorResponse(Status::Internal("internal error"));
        }
      }
      net::post(self->stream_.get_executor(),
                [self, response = std::move(response)]() mutable {
                  self->Send(std::move(response));
                });
    };
    if (!core_->work().TryPush(std::move(job))) {
      Response busy = ErrorResponse(Status::ResourceExhausted(
          "server busy: " + std::to_string(core_->options().max_queue) +
          " requests already wait for a worker"));
      busy.headers.emplace_back("Retry-After", "1");
      Send(std::move(busy));
    }
  }

  // `unread_input`: the request was not read whole, so the connection
  // cannot carry another one.
  void Send(Response response, bool unread_input = false) {
    if (state_ == State::kClosed) return;
    state_ = State::kWriting;
    core_->metrics().RecordRequest(
        endpoint_, response.status,
        std::chrono::duration<double>(Clock::now() - started_).count());
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(version_ == 10 ? 10 : 11);
    res->result(static_cast<unsigned>(response.status));
    res->set(bhttp::field::server, std::string(kServerName));
    res->set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res->set(name, value);
    res->body() = std::move(response.body);
    const bool keep = keep_alive_ && !response.close && !unread_input &&
                      !core_->stopping();
    res->keep_alive(keep);
    res->prepare_payload();
    stream_.expires_after(timeout_);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep](beast::error_code ec,
                                                              size_t) {
                         self->OnWrite(ec, keep);
                       });
  }

  void OnWrite(beast::error_code ec, bool keep) {
    if (state_ == State::kClosed) return;
    if (ec) return Close();
    if (keep) return WaitForRequest();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    state_ = State::kLingering;
    linger_buffer_ = std::make_unique<char[]>(kLingerChunk);
    linger_bytes_ = 0;
    stream_.expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(
        net::buffer(linger_buffer_.get(), kLingerChunk),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->linger_bytes_ += n;
          if (ec || self->linger_bytes_ > kLingerBytes) return self->Close();
          self->Drain();
        });
  }

  void ArmTimer() {
    timer_.expires_after(timeout_);
    timer_.async_wait(
        beast::bind_front_handler(&Session::OnTimer, shared_from_this()));
  }

  void OnTimer(beast::error_code ec) {
    if (ec == net::error::operation_aborted) return;
    if (timer_.expiry() > Clock::now()) return;  // re-armed since
    if (state_ == State::kIdle) return Close();
    if (state_ == State::kReading) {
      timed_out_ = true;
      stream_.cancel();  // the read completes with operation_aborted
    }
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    timer_.cancel();
    stream_.close();
  }

  ServerCore* const core_;
  const std::chrono::milliseconds timeout_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  State state_ = State::kIdle;
  bool timed_out_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::unique_ptr<char[]> linger_buffer_;
  size_t linger_bytes_ = 0;
  std::string_view endpoint_ = "other";  // a route pattern: static storage
  Clock::time_point started_;
  Clock::time_point deadline_;
};

bool ServerCore::Authorized(Route route, std::string_view method,
                            const bhttp::request<bhttp::string_body>& req) const {
  if (options_.api_key.empty()) return true;
  const bool needed = options_.auth_scope == AuthScope::kAll
                          ? route != Route::kHealth
                          : IsWrite(route, method);
  if (!needed) return true;
  std::string_view authorization = Sv(req[bhttp::field::authorization]);
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() > kBearer.size() &&
      beast::iequals(beast::string_view(authorization.data(), kBearer.size()),
                     beast::string_view(kBearer.data(), kBearer.size()))) {
    std::string_view token = authorization.substr(kBearer.size());
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
      token.remove_prefix(1);
    }
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
      token.remove_suffix(1);
    }
    if (ConstantTimeEquals(token, options_.api_key)) return true;
  }
  const std::string_view api_key = Sv(req["X-API-Key"]);
  return !api_key.empty() && ConstantTimeEquals(api_key, options_.api_key);
}

Status ServerCore::Listen() {
  beast::error_code ec;
  tcp::endpoint endpoint;
  const net::ip::address address = net::ip::make_address(options_.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options_.port);
  } else {
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(options_.host, std::to_string(options_.port),
                                    tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("cannot resolve host \"" + options_.host + "\"",
                                     ec ? ec.message() : "no address");
    }
    endpoint = results.begin()->endpoint();
  }
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return Status::IOError("open socket for " + where, ec.message());
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return Status::IOError("set SO_REUSEADDR for " + where, ec.message());
  acceptor_.bind(endpoint, ec);
  if (ec) return Status::IOError("bind " + where, ec.message());
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("listen on " + where, ec.message());
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return Status::IOError("local address of " + where, ec.message());
  return Status::OK();
}

void ServerCore::Run() {
  ScopedSignalBlock block;  // our threads leave termination signals alone
  running_ = true;  // from here on Shutdown() has threads to stop
  guard_.emplace(net::make_work_guard(ioc_));
  work_.Start(options_.worker_threads);
  net::post(strand_, [this] {
    DoAccept();
    ArmRefresh();
  });
  for (unsigned i = 0; i < options_.io_threads; ++i) {
    io_threads_.emplace_back([this] {
      // A handler that throws (bad_alloc) must not end the thread, let
      // alone the process: log nothing, keep serving.
      while (true) {
        try {
          ioc_.run();
          return;
        } catch (...) {
        }
      }
    });
  }
}

void ServerCore::DoAccept() {
  acceptor_.async_accept(
      net::make_strand(ioc_),
      beast::bind_front_handler(&ServerCore::OnAccept, this));
}

void ServerCore::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping()) {
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  if (ec) {
    if (ec == net::error::operation_aborted) return;
    // Out of file descriptors and the like: try again shortly rather than
    // spin on an error.
    accept_timer_.expires_after(std::chrono::milliseconds(50));
    accept_timer_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping()) DoAccept();
    });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  connections_.fetch_add(1);
  auto session = std::make_shared<Session>(std::move(socket), this);
  {
    std::lock_guard lock(sessions_mu_);
    sessions_.emplace(session.get(), session);
  }
  session->Start();
  DoAccept();
}

void ServerCore::ArmRefresh() {
  if (options_.refresh_interval.count() <= 0 || stopping()) return;
  refresh_timer_.expires_after(options_.refresh_interval);
  refresh_timer_.async_wait([this](beast::error_code ec) {
    if (ec || stopping()) return;
    // Commit on a worker, never here; skip the tick while one is queued.
    if (!refresh_busy_.exchange(true)) {
      const bool queued = work_.PushInternal([this] {
        // A failed commit leaves the changes pending (stats show them);
        // the next tick tries again.
        handlers_.RefreshIfPending().IgnoreError();
        refresh_busy_.store(false);
      });
      if (!queued) refresh_busy_.store(false);
    }
    ArmRefresh();
  });
}

std::vector<std::shared_ptr<Session>> ServerCore::LiveSessions() {
  std::vector<std::shared_ptr<Session>> live;
  std::lock_guard lock(sessions_mu_);
  for (auto& [raw, weak] : sessions_) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

bool ServerCore::WaitForSessions(Clock::duration timeout) {
  std::unique_lock lock(sessions_mu_);
  return sessions_cv_.wait_for(lock, timeout, [this] { return sessions_.empty(); });
}

Status ServerCore::Shutdown() {
  std::lock_guard lock(shutdown_mu_);
  if (shut_down_) return shutdown_status_;
  shut_down_ = true;
  stopping_.store(true, std::memory_order_release);
  if (running_) {
    // 1. No new connections, no more timer ticks.
    auto stop_listening = [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      refresh_timer_.cancel();
      accept_timer_.cancel();
    };
    if (io_threads_.empty()) {
      stop_listening();  // Run() failed before any I/O thread started
    } else {
      std::promise<void> closed;
      net::post(strand_, [&] {
        stop_listening();
        closed.set_value();
      });
      closed.get_future().wait();
    }
    // 2. Idle connections close now; the others after their response.
    for (auto& session : LiveSessions()) session->Stop();
    if (!WaitForSessions(options_.request_timeout)) {
      // 3. Out of patience: close what is left.
      for (auto& session : LiveSessions()) session->ForceClose();
      WaitForSessions(kForceCloseWait);
    }
    // 4. Workers finish the job in hand; waiting ones are dropped (their
    // connections are gone).
    work_.Stop();
    // 5. Asio.
    guard_.reset();
    ioc_.stop();
    for (std::thread& thread : io_threads_) thread.join();
    io_threads_.clear();
    // Handlers still queued when the I/O threads stopped (on a loaded
    // machine: a force-close, an accepted connection) would leave their
    // clients waiting until this server is destroyed. Run them here, no
    // I/O thread running now (an accept sees stopping() and closes), then
    // close whatever session is left.
    ioc_.restart();
    ioc_.poll();
    for (auto& session : LiveSessions()) session->CloseNow();
    // 6. Make acknowledged writes durable.
    shutdown_status_ = handlers_.CommitPending();
  }
  return shutdown_status_;
}

Status ValidateOptions(const Index* index, const rerank::BatchQueue* rerank,
                       const ServerOptions& options) {
  std::string bad;
  if (index == nullptr) bad += " index (null)";
  if (options.io_threads < 1) bad += " io_threads (must be >= 1)";
  if (options.worker_threads < 1) bad += " worker_threads (must be >= 1)";
  if (options.max_queue < 1) bad += " max_queue (must be >= 1)";
  if (options.max_body_bytes < 1) bad += " max_body_bytes (must be >= 1)";
  if (options.max_header_bytes < 1 || options.max_header_bytes > UINT32_MAX) {
    bad += " max_header_bytes (must be 1..2^32-1)";
  }
  if (options.request_timeout.count() <= 0) bad += " request_timeout (must be > 0)";
  if (options.refresh_interval.count() < 0) bad += " refresh_interval (must be >= 0)";
  if (options.host.empty()) bad += " host (empty)";
  if (!bad.empty()) return Status::InvalidArgument("bad server options:" + bad);
  if (rerank != nullptr &&
      rerank->model().config().kind != gpu::ModelKind::kCrossEncoder) {
    return Status::InvalidArgument(
        "the reranking model must be a cross-encoder, got",
        gpu::ModelKindName(rerank->model().config().kind));
  }
  return Status::OK();
}

// Signals for WaitForTerminationSignal. sem_post is async-signal-safe.
sem_t g_signal_sem;
std::once_flag g_signal_once;

void OnTerminationSignal(int) { sem_post(&g_signal_sem); }

}  // namespace

struct Server::Impl {
  std::unique_ptr<ServerCore> core;
};

Result<std::unique_ptr<Server>> Server::Start(
    std::shared_ptr<Index> index, std::shared_ptr<rerank::BatchQueue> rerank,
    const ServerOptions& options) {
  CASCADE_RETURN_IF_ERROR(ValidateOptions(index.get(), rerank.get(), options));
  std::unique_ptr<ServerCore> core;
  try {
    if (rerank) {
      // One model and one batching queue for /rerank and the "ce" stage.
      CASCADE_RETURN_IF_ERROR(IndexInternals::AttachCrossEncoder(*index, rerank));
    }
    core = std::make_unique<ServerCore>(std::move(index), std::move(rerank), options);
    CASCADE_RETURN_IF_ERROR(core->Listen());
    core->Run();
  } catch (const std::exception& e) {
    return Status::Internal("start HTTP server", e.what());
  }
  auto impl = std::make_unique<Impl>();
  impl->core = std::move(core);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Shutdown().IgnoreError(); }

uint16_t Server::port() const { return impl_->core->port(); }

ServerStats Server::stats() const { return impl_->core->stats(); }

Status Server::Shutdown() { return impl_->core->Shutdown(); }

void InstallTerminationHandler() {
  std::call_once(g_signal_once, [] {
    sem_init(&g_signal_sem, 0, 0);
    struct sigaction action = {};
    action.sa_handler = OnTerminationSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  });
}

void WaitForTerminationSignal() {
  InstallTerminationHandler();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // A signal that came while blocked (cascade serve blocks them before it
  // starts any thread of its own) is delivered here, now.
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  while (sem_wait(&g_signal_sem) != 0 && errno == EINTR) {
  }
}

}  // namespace cascade::http
