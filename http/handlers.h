// Handlers: the API's endpoints as plain functions from a routed request to
// a Response. They validate bodies, call the Index and the reranking queue,
// and build JSON. They block (searches, commits, model batches), so the
// server runs them on its worker threads, never on an Asio thread.
//
// Writes (POST /documents, DELETE, POST /delete_by_query, POST /refresh,
// the automatic refresh and the final commit) are serialised here, so that "201 created" versus "200
// replaced" is decided against a consistent view: the committed index plus
// the ids touched since the last commit.
//
// Thread-safety: Handle() and the refresh methods may run on several threads
// at once.
#ifndef CASCADE_HTTP_HANDLERS_H_
#define CASCADE_HTTP_HANDLERS_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cascade/engine.h"
#include "http/metrics.h"
#include "http/response.h"
#include "http/router.h"
#include "rerank/batch_queue.h"

namespace cascade::http {

// Longest accepted "query" in POST /search, bytes (the engine's limit).
inline constexpr size_t kMaxQueryBytes = 16384;
// Largest k + offset in POST /search.
inline constexpr int64_t kMaxSearchHits = 10000;
// Largest rerank depth, and most texts in POST /rerank.
inline constexpr int64_t kMaxRerankDepth = 1000;
// Most tokens consecutive cross-encoder chunks may share ("chunk_overlap").
inline constexpr int64_t kMaxChunkOverlap = 4096;
inline constexpr int64_t kMaxRerankTexts = 1000;
// Dense retrieval in POST /search (README "Dense retrieval"): the most
// values in "vector" (the engine's dense::kMaxDimension), the largest
// "nprobe" (IVF lists probed; the engine also caps it at the field's list
// count) and "rescore" (shortlist factor of "quantized").
inline constexpr int64_t kMaxVectorDimension = 65536;
inline constexpr int64_t kMaxNprobe = 65536;
inline constexpr int64_t kMaxRescore = 100;

class Handlers {
 public:
  // `index` must be writable. `rerank` may be null (no model). `metrics`
  // must outlive this object. `queue_depth` reports the server's work queue.
  Handlers(std::shared_ptr<Index> index,
           std::shared_ptr<rerank::BatchQueue> rerank, Metrics* metrics,
           std::function<size_t()> queue_depth);

  // Answers one routed request (route != kNone, method allowed, auth done).
  // Never throws; failures become error responses.
  Response Handle(const RouteMatch& match, std::string_view method,
                  std::string_view body);

  // The periodic refresh: commits when the index has pending changes,
  // unless a write is in progress (the next tick commits it then).
  Status RefreshIfPending();
  // Commits when the index has pending changes, waiting for writes in
  // progress (the final commit of a shutdown).
  Status CommitPending();
  // Commits unconditionally (POST /refresh).
  Status Refresh();

  // For GET /metrics, GET /stats: the gauges now.
  Gauges CurrentGauges() const;

 private:
  Response Stats();
  Response MetricsText();
  Response Search(std::string_view body);
  Response AddDocuments(std::string_view query, std::string_view body);
  Response GetDocument(const std::string& id);
  Response DeleteDocument(const std::string& id);
  Response DeleteByQuery(std::string_view query, std::string_view body);
  Response RefreshEndpoint();
  Response Rerank(std::string_view body);

  // Caller holds writes_mu_. Whether a live document has this id, counting
  // adds and deletes since the last commit.
  Result<bool> ExistsLocked(const std::string& id);

  std::shared_ptr<Index> index_;
  std::shared_ptr<rerank::BatchQueue> rerank_;
  Metrics* metrics_;
  std::function<size_t()> queue_depth_;

  std::mutex writes_mu_;
  // Ids added (true) or deleted (false) since the last commit.
  std::unordered_map<std::string, bool> touched_;
};

}  // namespace cascade::http

#endif  // CASCADE_HTTP_HANDLERS_H_
