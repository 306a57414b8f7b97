// cascade::http::Server: the HTTP/1.1 JSON API over an open Index (search,
// documents, refresh, stats, metrics) and an optional cross-encoder
// (POST /rerank and the rerank stage of POST /search). The contract lives in
// README.md ("HTTP API").
//
// Threads: `io_threads` run Asio (accept, read, write, timers) and never
// block; `worker_threads` run the handlers (searches, writes, commits,
// waiting on the model's BatchQueue), fed by a queue of at most `max_queue`
// requests. A full queue is answered 429 at once. Requests are read with
// Beast's parser under header and body limits (431, 413) and a deadline
// (408). Every `refresh_interval` a worker commits pending writes.
//
// Example:
//   auto server = http::Server::Start(index, nullptr, options);
//   if (!server.ok()) { ... server.status() ... }
//   http::WaitForTerminationSignal();
//   (*server)->Shutdown().IgnoreError();
#ifndef CASCADE_HTTP_SERVER_H_
#define CASCADE_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "cascade/engine.h"
#include "cascade/status.h"

namespace cascade::rerank {
class BatchQueue;
}  // namespace cascade::rerank

namespace cascade::http {

enum class AuthScope { kWrites, kAll };

struct ServerOptions {
  // Address to bind: an IP address or a host name. Default loopback only.
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                // 0 = pick a free port
  unsigned io_threads = 2;             // Asio threads (accept, read, write), >= 1
  unsigned worker_threads = 2;         // search/index work; never on I/O threads, >= 1
  size_t max_body_bytes = 16 << 20;    // larger bodies: 413
  size_t max_header_bytes = 16 << 10;  // larger headers: 431
  size_t max_queue = 256;              // work items waiting for a worker; beyond: 429
  // Whole request read + wait for a worker; slow clients get 408 (or are
  // closed when they sent nothing). Also bounds writing a response and how
  // long Shutdown() waits for requests in flight. > 0.
  std::chrono::milliseconds request_timeout{30000};
  // Automatic Commit() of pending changes; 0 = only explicit /refresh.
  std::chrono::milliseconds refresh_interval{1000};
  std::string api_key;                 // empty = no auth
  AuthScope auth_scope = AuthScope::kWrites;
};

// Counts for the `cascade serve` summary line.
struct ServerStats {
  uint64_t requests = 0;       // responses sent
  uint64_t server_errors = 0;  // of which 5xx
  uint64_t connections = 0;    // connections accepted
};

class Server {
 public:
  // index: an open writable cascade::Index. rerank: optional (nullptr =
  // /rerank answers 503); a BatchQueue over a cross-encoder NeuralModel.
  // Binds and starts serving before returning. Errors: InvalidArgument (bad
  // options, a model that is not a cross-encoder, an unresolvable host),
  // IOError (cannot bind or listen).
  static Result<std::unique_ptr<Server>> Start(
      std::shared_ptr<Index> index, std::shared_ptr<rerank::BatchQueue> rerank,
      const ServerOptions& options);
  ~Server();  // Shutdown() if not done
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;  // the bound port
  ServerStats stats() const;

  // Graceful: stop accepting, let in-flight requests finish (up to
  // request_timeout, then close what is left), stop workers, Commit()
  // pending writes. Returns the commit's Status. Idempotent (later calls
  // return the first result). Must not be called from a handler or an I/O
  // thread.
  Status Shutdown();


 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Blocks until SIGINT or SIGTERM, then returns (used by `cascade serve`,
// which then calls Shutdown()). Installs handlers for both signals and
// unblocks them in the calling thread; a signal that arrived while they were
// blocked process-wide is taken at once. After it returns, the default
// dispositions are back, so a second Ctrl-C ends the process.
void WaitForTerminationSignal();

// Installs the SIGINT/SIGTERM handler that WaitForTerminationSignal waits
// on (idempotent). Call it first thing in a program that will wait: some
// libraries start threads before main (OpenBLAS's pool), and a signal
// delivered to one of them before a handler exists would kill the process.
void InstallTerminationHandler();

}  // namespace cascade::http

#endif  // CASCADE_HTTP_SERVER_H_
