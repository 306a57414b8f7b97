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
  std::vector<uint16_t> bf16;  // v in bf16, with IVF
  // SQ8: approx q.x = bias + sum(q_step[i] * code[i])
  std::vector<float> q_step;
  float bias = 0;
  float norm2 = 0;  // |q|^2
};

namespace {

RowType RowTypeOf(Storage storage) {
  switch (storage) {
    case Storage::kF32: return RowType::kF32;
    case Storage::kF16: return RowType::kF16;
    case Storage::kInt8: return RowType::kInt8;
  }
  return RowType::kF32;
}

// Rows scored per kernel call when one query scans a range.
constexpr size_t kScanRows = 256;
// Bytes of rows (or centroids) scored per tile in batches: the tile stays
// in L2 while every query of the batch (or list) is scored against it.
constexpr size_t kTileBytes = size_t{192} << 10;
// Queries whose centroid scores are computed together in a batch.
constexpr size_t kCoarseQueries = 64;
// Bytes at the head of the next probed list prefetched in a batch.
constexpr size_t kPrefetchHeadBytes = size_t{32} << 10;
// The bf16 first pass keeps 2 * nprobe + this many centroids.
constexpr size_t kCoarseMargin = 16;

}  // namespace

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
  index->row_type_ = RowTypeOf(field.storage);
  if (nlist == 0) {
    // Flat: rows in doc order.
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    if (!std::is_sorted(docs.begin(), docs.end())) {
      std::sort(order.begin(), order.end(),
                [&](uint32_t a, uint32_t b) { return docs[a] < docs[b]; });
    }
    index->docs_.resize(n);
    for (size_t r = 0; r < n; ++r) index->docs_[r] = docs[order[r]];
    index->StoreRows(std::move(data), order);
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
  index->list_offsets_.assign(nlist + 1, 0);
  for (size_t r = 0; r < n; ++r) {
    index->docs_[r] = docs[order[r]];
    ++index->list_offsets_[lists[order[r]] + 1];
  }
  index->StoreRows(std::move(data), order);
  for (size_t l = 0; l < nlist; ++l) index->list_offsets_[l + 1] += index->list_offsets_[l];
  index->centroids_ = std::move(centroids);
  index->centroids_bf16_.resize(index->centroids_.size());
  for (size_t i = 0; i < index->centroids_.size(); ++i) {
    index->centroids_bf16_[i] = FloatToBf16(index->centroids_[i]);
  }
  index->centroid_norm2_.resize(nlist);
  for (size_t l = 0; l < nlist; ++l) {
    const float* c = index->centroids_.data() + l * dim;
    index->centroid_norm2_[l] = Kernels().dot(c, c, dim);
  }
  return index;
}

void VectorIndex::StoreRows(std::vector<float>&& data, const std::vector<uint32_t>& order) {
  const size_t dim = field_.dim, n = order.size();
  bool identity = true;
  for (size_t r = 0; r < n && identity; ++r) identity = order[r] == r;
  switch (row_type_) {
    case RowType::kF32:
      if (identity) {  // rows already in order (docs sorted): no copy
        data_ = std::move(data);
        break;
      }
      data_.resize(n * dim);
      for (size_t r = 0; r < n; ++r) {
        std::copy_n(data.data() + size_t{order[r]} * dim, dim, data_.data() + r * dim);
      }
      break;
    case RowType::kF16:
      half_.resize(n * dim);
      for (size_t r = 0; r < n; ++r) {
        const float* x = data.data() + size_t{order[r]} * dim;
        for (size_t i = 0; i < dim; ++i) half_[r * dim + i] = FloatToHalf(x[i]);
      }
      break;
    case RowType::kInt8:
      // As EncodeVector's int8: scale = max|x| / 127, symmetric codes.
      int8_.resize(n * dim);
      scales_.resize(n);
      for (size_t r = 0; r < n; ++r) {
        const float* x = data.data() + size_t{order[r]} * dim;
        float max_abs = 0;
        for (size_t i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(x[i]));
        const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
        scales_[r] = scale;
        for (size_t i = 0; i < dim; ++i) {
          int8_[r * dim + i] =
              static_cast<int8_t>(std::clamp(std::lround(x[i] / scale), -127L, 127L));
        }
      }
      break;
  }
}

RowSpan VectorIndex::rows() const {
  switch (row_type_) {
    case RowType::kF32: return {row_type_, data_.data(), nullptr, field_.dim};
    case RowType::kF16: return {row_type_, half_.data(), nullptr, field_.dim};
    case RowType::kInt8: return {row_type_, int8_.data(), scales_.data(), field_.dim};
  }
  return {};
}

RowSpan VectorIndex::centroid_rows() const {
  return {RowType::kF32, centroids_.data(), nullptr, field_.dim};
}

void VectorIndex::DecodeRow(size_t row, float* out) const {
  const size_t dim = field_.dim;
  switch (row_type_) {
    case RowType::kF32: std::copy_n(data_.data() + row * dim, dim, out); break;
    case RowType::kF16:
      for (size_t i = 0; i < dim; ++i) out[i] = HalfToFloat(half_[row * dim + i]);
      break;
    case RowType::kInt8:
      for (size_t i = 0; i < dim; ++i) out[i] = int8_[row * dim + i] * scales_[row];
      break;
  }
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
  if (params.nprobe > 0 && CoarseFirstPass(params.nprobe)) {
    out->bf16.resize(dim);
    for (size_t i = 0; i < dim; ++i) out->bf16[i] = FloatToBf16(out->v[i]);
  }
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
  // The scan's kernel, so that a re-scored row gets the scan's score bits.
  float score;
  Kernels().score_rows(rows(), field_.metric == Metric::kL2, q, row, 1, &score);
  return Similarity(score);
}

void VectorIndex::Collect(const float* scores, size_t begin, size_t n,
                          const VectorSearchParams& params, TopK* top) const {
  const std::vector<bool>* allow = params.allow;
  for (size_t r = 0; r < n; ++r) {
    const float score = Similarity(scores[r]);
    if (score < top->threshold()) continue;
    const uint32_t doc = docs_[begin + r];
    if (allow && (doc >= allow->size() || !(*allow)[doc])) continue;
    top->Push(doc, score);
  }
}

void VectorIndex::ScanRange(const Query& q, size_t begin, size_t end,
                            const VectorSearchParams& params, TopK* top) const {
  const size_t dim = field_.dim;
  const KernelTable& kt = Kernels();
  if (!params.quantized) {
    float scores[kScanRows];
    const bool l2 = field_.metric == Metric::kL2;
    for (size_t r = begin; r < end; r += kScanRows) {
      const size_t n = std::min(kScanRows, end - r);
      kt.score_rows(rows(), l2, q.v.data(), r, n, scores);
      Collect(scores, r, n, params, top);
    }
    return;
  }
  const std::vector<bool>* allow = params.allow;
  for (size_t r = begin; r < end; ++r) {
    const uint32_t doc = docs_[r];
    if (allow && (doc >= allow->size() || !(*allow)[doc])) continue;
    const float dot = q.bias + kt.dot_u8(q.q_step.data(), codes_.data() + r * dim, dim);
    const float score = field_.metric == Metric::kL2 ? -(q.norm2 - 2 * dot + code_norm2_[r]) : dot;
    top->Push(static_cast<uint32_t>(r), score);  // a row: Finish re-scores it
  }
}

bool VectorIndex::CoarseFirstPass(size_t nprobe) const {
  return 2 * nprobe + kCoarseMargin < nlist();
}

void VectorIndex::SelectProbes(const Query& q, const float* centroid_scores, size_t nprobe,
                               std::vector<uint32_t>* lists) const {
  const size_t nl = nlist();
  const size_t probes = std::min(nprobe, nl);
  const bool first_pass = CoarseFirstPass(nprobe);
  const bool l2 = field_.metric == Metric::kL2;
  std::vector<Neighbor> ranked(nl);
  for (size_t l = 0; l < nl; ++l) {
    const float s = centroid_scores[l];
    // l2's first pass ranks by 2 q.c - |c|^2 = |q|^2 - |q - c|^2.
    ranked[l] = {static_cast<uint32_t>(l),
                 first_pass ? (l2 ? 2 * s - centroid_norm2_[l] : s) : Similarity(s)};
  }
  if (first_pass) {
    const size_t shortlist = std::min(nl, 2 * probes + kCoarseMargin);
    std::partial_sort(ranked.begin(), ranked.begin() + shortlist, ranked.end(), TopK::Better);
    ranked.resize(shortlist);
    for (Neighbor& c : ranked) {
      float exact;
      Kernels().score_rows(centroid_rows(), l2, q.v.data(), c.doc, 1, &exact);
      c.score = Similarity(exact);
    }
  }
  std::partial_sort(ranked.begin(), ranked.begin() + probes, ranked.end(), TopK::Better);
  lists->resize(probes);
  for (size_t p = 0; p < probes; ++p) (*lists)[p] = ranked[p].doc;
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
  std::vector<float> centroid_scores(nlist());
  if (CoarseFirstPass(params.nprobe)) {
    Kernels().dot_rows_bf16(prepared.bf16.data(), centroids_bf16_.data(), field_.dim, 0, nlist(),
                            centroid_scores.data());
  } else {
    Kernels().score_rows(centroid_rows(), field_.metric == Metric::kL2, prepared.v.data(), 0,
                         nlist(), centroid_scores.data());
  }
  std::vector<uint32_t> lists;
  SelectProbes(prepared, centroid_scores.data(), params.nprobe, &lists);
  for (uint32_t l : lists) {
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
  if (!params.quantized) {
    ParallelFor(nq, threads, [&](size_t begin, size_t end) {
      std::vector<Query> prepared(end - begin);
      std::vector<size_t> live;  // queries of this chunk that prepared well
      for (size_t i = begin; i < end; ++i) {
        errors[i] = Prepare(queries.subspan(i * dim, dim), params, &prepared[i - begin]);
        if (errors[i].ok()) live.push_back(i - begin);
      }
      std::vector<TopK> tops;
      tops.reserve(end - begin);
      for (size_t i = begin; i < end; ++i) tops.emplace_back(params.k);
      BatchScan(prepared, live, params, &tops);
      for (size_t j : live) (*out)[begin + j] = Finish(prepared[j], params, &tops[j]);
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

void VectorIndex::BatchScan(const std::vector<Query>& prepared, const std::vector<size_t>& live,
                            const VectorSearchParams& params, std::vector<TopK>* tops) const {
  const KernelTable& kt = Kernels();
  const bool l2 = field_.metric == Metric::kL2;
  const RowSpan row_span = rows();
  const size_t row_bytes = RowBytes(row_type_, field_.dim);
  const size_t tile = std::max<size_t>(16, kTileBytes / std::max<size_t>(row_bytes, 1));
  std::vector<float> scores;
  if (params.nprobe == 0) {
    // Exact: row tiles outermost, so each tile streams from memory once
    // for all the queries.
    std::vector<const float*> qs;
    for (size_t j : live) qs.push_back(prepared[j].v.data());
    scores.resize(qs.size() * tile);
    for (size_t r = 0; r < docs_.size(); r += tile) {
      const size_t n = std::min(tile, docs_.size() - r);
      kt.score_block(row_span, l2, qs.data(), qs.size(), r, n, scores.data(), tile);
      for (size_t i = 0; i < live.size(); ++i) {
        Collect(scores.data() + i * tile, r, n, params, &(*tops)[live[i]]);
      }
    }
    return;
  }
  // The probes of every query: centroid scores for kCoarseQueries queries
  // at a time, centroids in L2-sized tiles.
  const size_t nl = nlist();
  const size_t centroid_tile =
      std::max<size_t>(16, kTileBytes / std::max<size_t>(4 * field_.dim, 1));
  std::vector<std::vector<uint32_t>> probes(live.size());
  scores.resize(kCoarseQueries * nl);
  std::vector<const float*> qs;
  std::vector<const uint16_t*> qs_bf16;
  const bool first_pass = CoarseFirstPass(params.nprobe);
  for (size_t q0 = 0; q0 < live.size(); q0 += kCoarseQueries) {
    const size_t m = std::min(kCoarseQueries, live.size() - q0);
    qs.clear();
    qs_bf16.clear();
    for (size_t i = 0; i < m; ++i) {
      qs.push_back(prepared[live[q0 + i]].v.data());
      qs_bf16.push_back(prepared[live[q0 + i]].bf16.data());
    }
    for (size_t c = 0; c < nl; c += centroid_tile) {
      const size_t n = std::min(centroid_tile, nl - c);
      if (first_pass) {
        kt.dot_block_bf16(qs_bf16.data(), m, centroids_bf16_.data(), field_.dim, c, n,
                          scores.data() + c, nl);
      } else {
        kt.score_block(centroid_rows(), l2, qs.data(), m, c, n, scores.data() + c, nl);
      }
    }
    for (size_t i = 0; i < m; ++i) {
      SelectProbes(prepared[live[q0 + i]], scores.data() + i * nl, params.nprobe,
                   &probes[q0 + i]);
    }
  }
  // Queries grouped by list (counting sort), each list scanned once for
  // all of its queries.
  std::vector<uint32_t> start(nl + 1, 0);
  for (const auto& p : probes) {
    for (uint32_t l : p) ++start[l + 1];
  }
  for (size_t l = 0; l < nl; ++l) start[l + 1] += start[l];
  std::vector<uint32_t> by_list(start[nl]);
  {
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (size_t i = 0; i < probes.size(); ++i) {
      for (uint32_t l : probes[i]) by_list[fill[l]++] = static_cast<uint32_t>(i);
    }
  }
  // The head of the next probed list is prefetched while this one is
  // scored: lists are short (a few hundred rows), and the next one is
  // elsewhere in memory.
  auto prefetch_head = [&](size_t l) {
    const char* p = static_cast<const char*>(row_span.data) + list_offsets_[l] * row_bytes;
    const size_t bytes =
        std::min(kPrefetchHeadBytes, (list_offsets_[l + 1] - list_offsets_[l]) * row_bytes);
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b);
  };
  size_t next = 0;
  while (next < nl && start[next + 1] == start[next]) ++next;
  for (size_t l = next; l < nl; l = next) {
    const size_t m = start[l + 1] - start[l];
    next = l + 1;
    while (next < nl && start[next + 1] == start[next]) ++next;
    if (next < nl) prefetch_head(next);
    qs.clear();
    for (size_t i = start[l]; i < start[l + 1]; ++i) {
      qs.push_back(prepared[live[by_list[i]]].v.data());
    }
    if (scores.size() < m * tile) scores.resize(m * tile);
    for (size_t r = list_offsets_[l]; r < list_offsets_[l + 1]; r += tile) {
      const size_t n = std::min(tile, list_offsets_[l + 1] - r);
      kt.score_block(row_span, l2, qs.data(), m, r, n, scores.data(), tile);
      for (size_t i = 0; i < m; ++i) {
        Collect(scores.data() + i * tile, r, n, params, &(*tops)[live[by_list[start[l] + i]]]);
      }
    }
  }
}

void VectorIndex::BuildCodes() const {
  std::call_once(codes_once_, [this] {
    const size_t dim = field_.dim, n = docs_.size();
    code_min_.assign(dim, std::numeric_limits<float>::infinity());
    std::vector<float> max(dim, -std::numeric_limits<float>::infinity());
    std::vector<float> decoded(dim);
    const float* x = decoded.data();
    for (size_t r = 0; r < n; ++r) {
      DecodeRow(r, decoded.data());
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
      DecodeRow(r, decoded.data());
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
  return data_.size() * 4 + half_.size() * 2 + int8_.size() + scales_.size() * 4 +
         docs_.size() * 4 + centroids_.size() * 4 + centroids_bf16_.size() * 2 +
         centroid_norm2_.size() * 4 +
         list_offsets_.size() * sizeof(size_t) + codes_.size() + code_norm2_.size() * 4 +
         (code_min_.size() + code_step_.size()) * 4;
}

}  // namespace cascade::dense
