// Metrics: the server's Prometheus counters and histograms, rendered as
// text exposition format 0.0.4 by GET /metrics.
//
// Label values stay bounded: an endpoint label is a route pattern
// ("/documents/{id}") or "other", a code is an HTTP status, a stage is
// "bm25" or "rerank". Histogram buckets run from 0.5 ms to 10 s.
//
// Thread-safety: every method may be called from any thread. Recording takes
// one short mutex; it runs once per request, not in a hot loop.
#ifndef CASCADE_HTTP_METRICS_H_
#define CASCADE_HTTP_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace cascade::http {

// Upper bounds (seconds) of the latency histogram buckets, +Inf implied.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

class Histogram {
 public:
  void Observe(double seconds);
  // Appends the _bucket, _sum and _count lines; `labels` is the label list
  // without braces ("endpoint=\"/search\"") or empty.
  void Render(std::string* out, std::string_view name,
              std::string_view labels) const;

 private:
  std::array<uint64_t, kLatencyBuckets.size()> buckets_{};  // not cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Values read at render time, not kept by Metrics.
struct Gauges {
  uint64_t queue_depth = 0;         // work items waiting for a worker
  uint64_t rerank_queue_depth = 0;  // requests waiting in the BatchQueue
  uint64_t documents = 0;           // live documents in the index
};

class Metrics {
 public:
  // One answered request: its endpoint label, HTTP status and latency.
  void RecordRequest(std::string_view endpoint, int code, double seconds);
  // One search stage ("bm25", "tilde", "ce") and its latency.
  void RecordStage(std::string_view stage, double seconds);

  // Requests recorded so far (for the shutdown summary).
  uint64_t requests() const;
  // Requests answered with a 5xx.
  uint64_t server_errors() const;

  std::string Render(const Gauges& gauges) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram, std::less<>> durations_;
  Histogram bm25_;
  Histogram tilde_;
  Histogram rerank_;  // the cross-encoder ("ce") stage
  uint64_t total_ = 0;
  uint64_t server_errors_ = 0;
};

}  // namespace cascade::http

#endif  // CASCADE_HTTP_METRICS_H_
