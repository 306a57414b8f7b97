#include "index/dense/vector_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "index/dense/kernels.h"
#include "index/dense/kmeans.h"

namespace cascade::dense {

// The best `k` (score, doc) pairs seen, as a heap whose top is the worst
// kept; better = higher score, then lower doc id.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(k + 1); }
  // The score a candidate must beat (ties are decided by doc id).
  float threshold() const {
    return heap_.size() < k_ ? -std::numeric_limits<float>::infinity() : heap_.front().score;
  }
  void Push(uint32_t doc, float score) {
    if (heap_.size() < k_) {
      heap_.push_back({doc, score});
      std::push_heap(heap_.begin(), heap_.end(), Better);
    } else if (Better({doc, score}, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Better);
      heap_.back() = {doc, score};
      std::push_heap(heap_.begin(), heap_.end(), Better);
    }
  }
  std::vector<Neighbor> Sorted() {
    std::sort_heap(heap_.begin(), heap_.end(), Better);
    return std::move(heap_);
  }
  static bool Better(const Neighbor& a, const Neighbor& b) {
    return a.score > b.score || (a.score == b.score && a.doc < b.doc);
  }

 private:
  size_t k_;
  std::vector<Neighbor> heap_;
};

struct VectorIndex::Query {
  std::vector<float> v;       // normalised for cosine
  // SQ8: approx q.x = bias + sum(q_step[i] * code[i])
  std::vector<float> q_step;
  float bias = 0;
  float norm2 = 0;  // |q|^2
};

Result<std::unique_ptr<VectorIndex>> VectorIndex::Build(
    const VectorField& field, std::vector<uint32_t> docs, std::vector<float> data,
    std::vector<float> centroids, std::span<const uint32_t> lists, unsigned threads) {
  const size_t dim = field.dim;
  if (data.size() != docs.size() * dim) {
    return Status::InvalidArgument("vector index: " + std::to_string(docs.size()) +
                                   " docs but " + std::to_string(data.size()) + " floats");
  }
  if (centroids.size() % dim != 0) {
    return Status::InvalidArgument("vector index: centroids are not whole vectors");
  }
  std::unique_ptr<VectorIndex> index(new VectorIndex());
  index->field_ = field;
  const size_t n = docs.size();
  if (field.metric == Metric::kCosine) {
    for (size_t i = 0; i < n; ++i) Normalize(data.data() + i * dim, dim);
  }
  const size_t nlist = centroids.size() / dim;
  if (nlist == 0) {
    // Flat: rows in doc order.
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    if (!std::is_sorted(docs.begin(), docs.end())) {
      std::sort(order.begin(), order.end(),
                [&](uint32_t a, uint32_t b) { return docs[a] < docs[b]; });
    }
    index->docs_.resize(n);
    index->data_.resize(n * dim);
    for (size_t r = 0; r < n; ++r) {
      index->docs_[r] = docs[order[r]];
      std::copy_n(data.data() + size_t{order[r]} * dim, dim, index->data_.data() + r * dim);
    }
    return index;
  }
  std::vector<uint32_t> assigned;
  if (lists.empty()) {
    assigned.resize(n);
    AssignNearest(data.data(), n, centroids.data(), nlist, dim, field.metric, threads,
                  assigned.data());
    lists = assigned;
  } else if (lists.size() != n) {
    return Status::InvalidArgument("vector index: one list per row expected");
  }
  for (uint32_t l : lists) {
    if (l >= nlist) return Status::Corruption("vector index: list id out of range");
  }
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return lists[a] != lists[b] ? lists[a] < lists[b] : docs[a] < docs[b];
  });
  index->docs_.resize(n);
  index->data_.resize(n * dim);
  index->list_offsets_.assign(nlist + 1, 0);
  for (size_t r = 0; r < n; ++r) {
    index->docs_[r] = docs[order[r]];
    std::copy_n(data.data() + size_t{order[r]} * dim, dim, index->data_.data() + r * dim);
    ++index->list_offsets_[lists[order[r]] + 1];
  }
  for (size_t l = 0; l < nlist; ++l) index->list_offsets_[l + 1] += index->list_offsets_[l];
  index->centroids_ = std::move(centroids);
  return index;
}

Status VectorIndex::Prepare(std::span<const float> q, const VectorSearchParams& params,
                            Query* out) const {
  const size_t dim = field_.dim;
  if (q.size() != dim) {
    return Status::InvalidArgument("query vector has dimension " + std::to_string(q.size()) +
                                   ", field " + field_.name + " has " + std::to_string(dim));
  }
  for (float x : q) {
    if (!std::isfinite(x)) return Status::InvalidArgument("query vector has a non-finite value");
  }
  if (params.k == 0) return Status::InvalidArgument("k must be at least 1");
  if (params.nprobe > 0 && !has_ivf()) {
    return Status::InvalidArgument("field " + field_.name +
                                   " has no IVF index (train one: cascade train-ivf)");
  }
  if (params.quantized && params.rescore == 0) {
    return Status::InvalidArgument("rescore must be at least 1");
  }
  out->v.assign(q.begin(), q.end());
  if (field_.metric == Metric::kCosine) {
    double norm = 0;
    for (float x : q) norm += double{x} * x;
    if (!(norm > 0)) return Status::InvalidArgument("query vector is zero (cosine field)");
    Normalize(out->v.data(), dim);
  }
  out->norm2 = Kernels().dot(out->v.data(), out->v.data(), dim);
  if (params.quantized) {
    BuildCodes();
    out->q_step.resize(dim);
    out->bias = 0;
    for (size_t i = 0; i < dim; ++i) {
      out->q_step[i] = out->v[i] * code_step_[i];
      out->bias += out->v[i] * code_min_[i];
    }
  }
  return Status::OK();
}

float VectorIndex::Exact(const float* q, size_t row) const {
  const float* x = data_.data() + row * field_.dim;
  return field_.metric == Metric::kL2 ? -Kernels().l2sq(q, x, field_.dim)
                                      : Kernels().dot(q, x, field_.dim);
}

void VectorIndex::ScanRange(const Query& q, size_t begin, size_t end,
                            const VectorSearchParams& params, TopK* top) const {
  const size_t dim = field_.dim;
  const KernelTable& kt = Kernels();
  const std::vector<bool>* allow = params.allow;
  for (size_t r = begin; r < end; ++r) {
    const uint32_t doc = docs_[r];
    if (allow && (doc >= allow->size() || !(*allow)[doc])) continue;
    float score;
    if (params.quantized) {
      const float dot = q.bias + kt.dot_u8(q.q_step.data(), codes_.data() + r * dim, dim);
      score = field_.metric == Metric::kL2 ? -(q.norm2 - 2 * dot + code_norm2_[r]) : dot;
      top->Push(static_cast<uint32_t>(r), score);  // a row: Finish re-scores it
    } else {
      score = Exact(q.v.data(), r);
      top->Push(doc, score);
    }
  }
}

std::vector<Neighbor> VectorIndex::Finish(const Query& q, const VectorSearchParams& params,
                                          TopK* top) const {
  std::vector<Neighbor> hits = top->Sorted();
  if (!params.quantized) return hits;
  // The shortlist holds rows: re-score them with full precision.
  TopK exact(params.k);
  for (const Neighbor& h : hits) exact.Push(docs_[h.doc], Exact(q.v.data(), h.doc));
  return exact.Sorted();
}

Result<std::vector<Neighbor>> VectorIndex::Search(std::span<const float> q,
                                                  const VectorSearchParams& params) const {
  Query prepared;
  CASCADE_RETURN_IF_ERROR(Prepare(q, params, &prepared));
  TopK top(params.quantized ? params.k * params.rescore : params.k);
  if (params.nprobe == 0) {
    ScanRange(prepared, 0, docs_.size(), params, &top);
    return Finish(prepared, params, &top);
  }
  // Probe the nprobe lists whose centroids score best.
  const size_t nl = nlist();
  const size_t probes = std::min(params.nprobe, nl);
  const size_t dim = field_.dim;
  const KernelTable& kt = Kernels();
  std::vector<Neighbor> lists(nl);
  for (size_t l = 0; l < nl; ++l) {
    const float* c = centroids_.data() + l * dim;
    lists[l] = {static_cast<uint32_t>(l), field_.metric == Metric::kL2
                                              ? -kt.l2sq(prepared.v.data(), c, dim)
                                              : kt.dot(prepared.v.data(), c, dim)};
  }
  std::partial_sort(lists.begin(), lists.begin() + probes, lists.end(), TopK::Better);
  for (size_t p = 0; p < probes; ++p) {
    const uint32_t l = lists[p].doc;
    ScanRange(prepared, list_offsets_[l], list_offsets_[l + 1], params, &top);
  }
  return Finish(prepared, params, &top);
}

Status VectorIndex::SearchBatch(std::span<const float> queries,
                                const VectorSearchParams& params, unsigned threads,
                                std::vector<std::vector<Neighbor>>* out) const {
  const size_t dim = field_.dim;
  if (queries.size() % dim != 0) {
    return Status::InvalidArgument("query vectors are not a whole number of dimension " +
                                   std::to_string(dim) + " vectors");
  }
  const size_t nq = queries.size() / dim;
  out->assign(nq, {});
  std::vector<Status> errors(nq);
  if (params.nprobe == 0 && !params.quantized) {
    // Exact search, row tiles outermost: a tile (about 256 KiB) stays in
    // L2 while every query of this thread scans it, so the rows stream
    // from memory once per thread instead of once per query.
    const size_t tile = std::max<size_t>(64, (size_t{256} << 10) / (4 * dim));
    ParallelFor(nq, threads, [&](size_t begin, size_t end) {
      std::vector<Query> prepared(end - begin);
      std::vector<TopK> tops;
      tops.reserve(end - begin);
      for (size_t i = begin; i < end; ++i) {
        errors[i] = Prepare(queries.subspan(i * dim, dim), params, &prepared[i - begin]);
        tops.emplace_back(params.k);
      }
      for (size_t r = 0; r < docs_.size(); r += tile) {
        const size_t r_end = std::min(docs_.size(), r + tile);
        for (size_t i = begin; i < end; ++i) {
          if (errors[i].ok()) ScanRange(prepared[i - begin], r, r_end, params, &tops[i - begin]);
        }
      }
      for (size_t i = begin; i < end; ++i) {
        if (errors[i].ok()) (*out)[i] = Finish(prepared[i - begin], params, &tops[i - begin]);
      }
    });
  } else {
    ParallelFor(nq, threads, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        auto hits = Search(queries.subspan(i * dim, dim), params);
        if (hits.ok()) {
          (*out)[i] = std::move(hits).value();
        } else {
          errors[i] = hits.status();
        }
      }
    });
  }
  for (size_t i = 0; i < nq; ++i) {
    if (!errors[i].ok()) {
      return Status::InvalidArgument("query " + std::to_string(i) + ": " +
                                     errors[i].message());
    }
  }
  return Status::OK();
}

void VectorIndex::BuildCodes() const {
  std::call_once(codes_once_, [this] {
    const size_t dim = field_.dim, n = docs_.size();
    code_min_.assign(dim, std::numeric_limits<float>::infinity());
    std::vector<float> max(dim, -std::numeric_limits<float>::infinity());
    for (size_t r = 0; r < n; ++r) {
      const float* x = data_.data() + r * dim;
      for (size_t i = 0; i < dim; ++i) {
        code_min_[i] = std::min(code_min_[i], x[i]);
        max[i] = std::max(max[i], x[i]);
      }
    }
    code_step_.resize(dim);
    for (size_t i = 0; i < dim; ++i) {
      if (n == 0) code_min_[i] = max[i] = 0;
      const float range = max[i] - code_min_[i];
      code_step_[i] = range > 0 ? range / 255.0f : 1.0f;
    }
    codes_.resize(n * dim);
    code_norm2_.resize(n);
    for (size_t r = 0; r < n; ++r) {
      const float* x = data_.data() + r * dim;
      uint8_t* c = codes_.data() + r * dim;
      double norm2 = 0;
      for (size_t i = 0; i < dim; ++i) {
        const float code =
            std::clamp(std::nearbyint((x[i] - code_min_[i]) / code_step_[i]), 0.0f, 255.0f);
        c[i] = static_cast<uint8_t>(code);
        const double decoded = code_min_[i] + code * double{code_step_[i]};
        norm2 += decoded * decoded;
      }
      code_norm2_[r] = static_cast<float>(norm2);
    }
  });
}

IvfStats VectorIndex::ivf_stats() const {
  IvfStats s;
  s.lists = nlist();
  s.vectors = docs_.size();
  if (s.lists == 0) return s;
  s.min_size = std::numeric_limits<size_t>::max();
  double sum2 = 0;
  for (size_t l = 0; l < s.lists; ++l) {
    const size_t size = list_offsets_[l + 1] - list_offsets_[l];
    s.empty_lists += size == 0;
    s.min_size = std::min(s.min_size, size);
    s.max_size = std::max(s.max_size, size);
    sum2 += double(size) * size;
  }
  s.mean_size = double(s.vectors) / s.lists;
  s.stddev_size = std::sqrt(std::max(0.0, sum2 / s.lists - s.mean_size * s.mean_size));
  s.imbalance = s.vectors ? s.lists * sum2 / (double(s.vectors) * s.vectors) : 0;
  return s;
}

size_t VectorIndex::memory_bytes() const {
  return data_.size() * 4 + docs_.size() * 4 + centroids_.size() * 4 +
         list_offsets_.size() * sizeof(size_t) + codes_.size() + code_norm2_.size() * 4 +
         (code_min_.size() + code_step_.size()) * 4;
}

}  // namespace cascade::dense
