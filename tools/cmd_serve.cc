// `cascade serve`: the HTTP API (http/server.h) over one index, with an
// optional cross-encoder for /rerank and the rerank stage of /search.
// Prints "listening on http://HOST:PORT" on stdout once it accepts
// connections; stops gracefully on SIGTERM or SIGINT (in-flight requests
// finish, pending writes are committed), then prints a summary on stderr.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cascade/engine.h"
#include "http/server.h"
#include "rerank/batch_queue.h"
#include "rerank/neural_model.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace cascade::tools {

namespace {

struct ServeFlags {
  std::string index;
  bool create = false;
  std::vector<std::string> keyword_fields;  // --create: the new index's fields
  std::vector<std::string> numeric_fields;
  std::vector<std::string> text_fields;  // --create: "name[^weight]"
  double contents_weight = 1;
  bool no_store_extra = false;  // --create: drop other fields
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  unsigned threads = 2;
  unsigned workers = 2;
  std::string model;
  std::string embedding_model;
  std::string device = "auto";
  std::string api_key;
  std::string auth = "writes";
  size_t max_body_mb = 16;
  size_t max_queue = 256;
  int64_t request_timeout_ms = 30000;
  int64_t refresh_interval_ms = 1000;
  std::string merge = "background";  // background | commit | off
};

// The model and the queue that runs it, kept together: the queue holds a
// raw pointer to the model, so the model must outlive it.
struct Reranker {
  std::unique_ptr<rerank::NeuralModel> model;
  std::unique_ptr<rerank::BatchQueue> queue;  // declared last: goes first
};

std::string HostForUrl(const std::string& host) {
  // An IPv6 literal needs brackets in a URL.
  if (host.find(':') != std::string::npos && host.front() != '[') {
    return "[" + host + "]";
  }
  return host;
}

int RunServe(const ServeFlags& flags) {
  // Block the termination signals before any thread exists (RocksDB's,
  // the model's, the server's): every thread inherits the block, and the
  // signals wait for WaitForTerminationSignal in this thread. SIGPIPE is
  // ignored: a client that hangs up is an error code, not a process exit.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  http::InstallTerminationHandler();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (flags.max_body_mb < 1 || flags.max_body_mb > (size_t{1} << 20)) {
    return ReportError("serve", Status::InvalidArgument(
                                    "--max-body-mb must be between 1 and 1048576"));
  }
  if (flags.request_timeout_ms <= 0) {
    return ReportError("serve", Status::InvalidArgument("--request-timeout-ms must be > 0"));
  }
  if (flags.refresh_interval_ms < 0) {
    return ReportError("serve", Status::InvalidArgument("--refresh-interval-ms must be >= 0"));
  }

  OpenOptions open;
  open.create_if_missing = flags.create;
  open.keyword_fields = flags.keyword_fields;
  open.numeric_fields = flags.numeric_fields;
  open.text_fields = flags.text_fields;
  open.contents_weight = flags.contents_weight;
  open.store_extra = !flags.no_store_extra;
  open.embedding_model = flags.embedding_model;
  open.device = flags.device;
  open.merge.background = flags.merge == "background";
  open.merge.merge_on_commit = flags.merge == "commit";
  auto opened = Index::Open(flags.index, open);
  if (!opened.ok()) return ReportError("serve", opened.status());
  std::shared_ptr<Index> index(std::move(*opened));

  std::shared_ptr<rerank::BatchQueue> queue;
  if (!flags.model.empty()) {
    auto device = rerank::ParseDevice(flags.device);
    if (!device.ok()) return ReportError("serve", device.status());
    rerank::ModelOptions model_options;
    model_options.device = *device;
    auto model = rerank::NeuralModel::Open(flags.model, model_options);
    if (!model.ok()) return ReportError("serve", model.status());
    if ((*model)->config().kind != gpu::ModelKind::kCrossEncoder) {
      return ReportError(
          "serve", Status::InvalidArgument(
                       "--model must be a cross-encoder, " + flags.model + " is a",
                       gpu::ModelKindName((*model)->config().kind)));
    }
    auto reranker = std::make_shared<Reranker>();
    reranker->model = std::move(*model);
    rerank::BatchQueueOptions queue_options;
    queue_options.max_pending = flags.max_queue;
    reranker->queue =
        std::make_unique<rerank::BatchQueue>(reranker->model.get(), queue_options);
    // Shares ownership of the whole Reranker, points at its queue.
    queue = std::shared_ptr<rerank::BatchQueue>(reranker, reranker->queue.get());
  }

  http::ServerOptions options;
  options.host = flags.host;
  options.port = flags.port;
  options.io_threads = flags.threads;
  options.worker_threads = flags.workers;
  options.max_body_bytes = flags.max_body_mb << 20;
  options.max_queue = flags.max_queue;
  options.request_timeout = std::chrono::milliseconds(flags.request_timeout_ms);
  options.refresh_interval = std::chrono::milliseconds(flags.refresh_interval_ms);
  options.api_key = flags.api_key;
  options.auth_scope =
      flags.auth == "all" ? http::AuthScope::kAll : http::AuthScope::kWrites;

  const double start = NowSeconds();
  auto server = http::Server::Start(index, queue, options);
  if (!server.ok()) return ReportError("serve", server.status());
  std::printf("listening on http://%s:%u\n", HostForUrl(flags.host).c_str(),
              static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);

  http::WaitForTerminationSignal();
  const Status stopped = (*server)->Shutdown();
  const http::ServerStats stats = (*server)->stats();
  server->reset();
  if (!stopped.ok()) return ReportError("serve", stopped);
  const IndexStats index_stats = index->Stats();
  std::fprintf(stderr,
               "cascade serve: stopped after %.1f s: %llu requests (%llu 5xx) on "
               "%llu connections; index has %llu documents\n",
               NowSeconds() - start, static_cast<unsigned long long>(stats.requests),
               static_cast<unsigned long long>(stats.server_errors),
               static_cast<unsigned long long>(stats.connections),
               static_cast<unsigned long long>(index_stats.documents));
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve an index over HTTP (search, documents, rerank, metrics)");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder")->required());
  WithEnv(cmd->add_flag("--create", flags->create,
                        "Create the index when the folder is missing or empty"));
  WithEnv(cmd->add_option("--keyword-field", flags->keyword_fields,
                          "With --create, for a new index: a keyword field (exact, "
                          "unanalysed strings: tags:red in Lucene syntax); repeat for several"));
  WithEnv(cmd->add_option("--numeric-field", flags->numeric_fields,
                          "With --create, for a new index: a numeric field (doubles: "
                          "year:[1990 TO 2000]); repeat for several"));
  WithEnv(cmd->add_option("--text-field", flags->text_fields,
                          "With --create, for a new index: a text field NAME or "
                          "NAME^WEIGHT with BM25 of its own (README \"Text fields\"); "
                          "repeat for several"));
  WithEnv(cmd->add_option("--contents-weight", flags->contents_weight,
                          "With --create and --text-field: the weight of contents in a "
                          "word's sum over fields (default 1)"));
  WithEnv(cmd->add_flag("--no-store-extra", flags->no_store_extra,
                        "With --create, for a new index: drop documents' other "
                        "fields instead of storing them (README \"Other fields\")"));
  WithEnv(cmd->add_option("--host", flags->host,
                          "Address to bind (127.0.0.1: this machine only)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--port", flags->port, "TCP port; 0 picks a free one")
              ->capture_default_str());
  WithEnv(cmd->add_option("--threads", flags->threads,
                          "I/O threads (accept, read, write)")
              ->capture_default_str()
              ->check(CLI::Range(1u, 1024u)));
  WithEnv(cmd->add_option("--workers", flags->workers,
                          "Worker threads for search, indexing and reranking")
              ->capture_default_str()
              ->check(CLI::Range(1u, 1024u)));
  WithEnv(cmd->add_option("--model", flags->model,
                          "Cross-encoder folder (Hugging Face) for /rerank and "
                          "the rerank stage of /search"));
  WithEnv(cmd->add_option("--embedding-model", flags->embedding_model,
                          "Bi-encoder folder: /search in mode dense or hybrid without "
                          "\"vector\" embeds the query text"));
  WithEnv(cmd->add_option("--device", flags->device,
                          "Where the models run: auto, cpu or cuda")
              ->capture_default_str()
              ->check(CLI::IsMember({"auto", "cpu", "cuda"})));
  WithEnv(cmd->add_option("--api-key", flags->api_key,
                          "Require this key (Authorization: Bearer KEY or "
                          "X-API-Key: KEY) on the endpoints --auth names"));
  WithEnv(cmd->add_option("--auth", flags->auth,
                          "Which endpoints need the key: writes or all (all but "
                          "/health)")
              ->capture_default_str()
              ->check(CLI::IsMember({"writes", "all"})));
  WithEnv(cmd->add_option("--max-body-mb", flags->max_body_mb,
                          "Largest request body (MiB); larger: 413")
              ->capture_default_str());
  WithEnv(cmd->add_option("--max-queue", flags->max_queue,
                          "Requests that may wait for a worker; more: 429")
              ->capture_default_str()
              ->check(CLI::Range(size_t{1}, size_t{1} << 20)));
  WithEnv(cmd->add_option("--request-timeout-ms", flags->request_timeout_ms,
                          "Time to read a request and start on it; slower: 408")
              ->capture_default_str());
  WithEnv(cmd->add_option("--refresh-interval-ms", flags->refresh_interval_ms,
                          "Commit pending writes this often; 0 = only on "
                          "POST /refresh, ?refresh=true and shutdown")
              ->capture_default_str());
  WithEnv(cmd->add_option("--merge", flags->merge,
                          "Segment merges (tiered policy): background = on a thread "
                          "of their own after each commit, beside writes and "
                          "searches; commit = inside each commit; off")
              ->capture_default_str()
              ->check(CLI::IsMember({"background", "commit", "off"})));
  cmd->callback([flags, exit_code] { *exit_code = RunServe(*flags); });
}

}  // namespace cascade::tools
