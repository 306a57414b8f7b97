#include "http/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace cascade::http {
namespace {

void AppendNumber(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendNumber(std::string* out, uint64_t v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// name{labels} or name{labels,extra}; no braces when both are empty.
void AppendSeries(std::string* out, std::string_view name,
                  std::string_view labels, std::string_view extra = {}) {
  out->append(name);
  if (labels.empty() && extra.empty()) return;
  out->push_back('{');
  out->append(labels);
  if (!labels.empty() && !extra.empty()) out->push_back(',');
  out->append(extra);
  out->push_back('}');
}

void AppendHeader(std::string* out, std::string_view name,
                  std::string_view type, std::string_view help) {
  out->append("# HELP ");
  out->append(name);
  out->push_back(' ');
  out->append(help);
  out->append("\n# TYPE ");
  out->append(name);
  out->push_back(' ');
  out->append(type);
  out->push_back('\n');
}

}  // namespace

void Histogram::Observe(double seconds) {
  if (!(seconds >= 0)) seconds = 0;  // NaN or a clock step back
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) {
      ++buckets_[i];
      break;
    }
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::Render(std::string* out, std::string_view name,
                       std::string_view labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += buckets_[i];
    char le[48];
    std::snprintf(le, sizeof(le), "le=\"%g\"", kLatencyBuckets[i]);
    AppendSeries(out, bucket, labels, le);
    out->push_back(' ');
    AppendNumber(out, cumulative);
    out->push_back('\n');
  }
  AppendSeries(out, bucket, labels, "le=\"+Inf\"");
  out->push_back(' ');
  AppendNumber(out, count_);
  out->push_back('\n');
  AppendSeries(out, std::string(name) + "_sum", labels);
  out->push_back(' ');
  AppendNumber(out, sum_);
  out->push_back('\n');
  AppendSeries(out, std::string(name) + "_count", labels);
  out->push_back(' ');
  AppendNumber(out, count_);
  out->push_back('\n');
}

void Metrics::RecordRequest(std::string_view endpoint, int code,
                            double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(endpoint), code}];
  auto it = durations_.find(endpoint);
  if (it == durations_.end()) {
    it = durations_.emplace(std::string(endpoint), Histogram()).first;
  }
  it->second.Observe(seconds);
  ++total_;
  if (code >= 500) ++server_errors_;
}

void Metrics::RecordStage(std::string_view stage, double seconds) {
  std::lock_guard lock(mu_);
  (stage == "bm25" ? bm25_ : stage == "tilde" ? tilde_ : rerank_).Observe(seconds);
}

uint64_t Metrics::requests() const {
  std::lock_guard lock(mu_);
  return total_;
}

uint64_t Metrics::server_errors() const {
  std::lock_guard lock(mu_);
  return server_errors_;
}

std::string Metrics::Render(const Gauges& gauges) const {
  std::string out;
  out.reserve(8192);
  std::lock_guard lock(mu_);

  AppendHeader(&out, "cascade_http_requests_total", "counter",
               "HTTP requests answered, by endpoint and status code.");
  for (const auto& [key, count] : requests_) {
    const std::string labels = "endpoint=\"" + key.first + "\",code=\"" +
                               std::to_string(key.second) + "\"";
    AppendSeries(&out, "cascade_http_requests_total", labels);
    out.push_back(' ');
    AppendNumber(&out, count);
    out.push_back('\n');
  }

  AppendHeader(&out, "cascade_http_request_duration_seconds", "histogram",
               "Time from the start of a request to its response, by endpoint.");
  for (const auto& [endpoint, histogram] : durations_) {
    histogram.Render(&out, "cascade_http_request_duration_seconds",
                     "endpoint=\"" + endpoint + "\"");
  }

  AppendHeader(&out, "cascade_search_stage_duration_seconds", "histogram",
               "Time spent in each stage of POST /search.");
  bm25_.Render(&out, "cascade_search_stage_duration_seconds", "stage=\"bm25\"");
  tilde_.Render(&out, "cascade_search_stage_duration_seconds", "stage=\"tilde\"");
  rerank_.Render(&out, "cascade_search_stage_duration_seconds", "stage=\"ce\"");

  AppendHeader(&out, "cascade_queue_depth", "gauge",
               "Requests waiting for a worker thread.");
  out.append("cascade_queue_depth ");
  AppendNumber(&out, gauges.queue_depth);
  out.push_back('\n');
  AppendHeader(&out, "cascade_rerank_queue_depth", "gauge",
               "Requests waiting in the reranking batch queue.");
  out.append("cascade_rerank_queue_depth ");
  AppendNumber(&out, gauges.rerank_queue_depth);
  out.push_back('\n');
  AppendHeader(&out, "cascade_documents", "gauge",
               "Live documents in the index (as of the last refresh).");
  out.append("cascade_documents ");
  AppendNumber(&out, gauges.documents);
  out.push_back('\n');
  return out;
}

}  // namespace cascade::http
