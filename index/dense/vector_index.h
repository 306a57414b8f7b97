// VectorIndex: the in-memory search structure of one vector field: its
// live vectors (row-major, rows x dim floats, kmeans.h), the doc id of each
// row, and optionally an IVF coarse quantizer whose lists are contiguous
// row ranges (rows sorted by list, then doc id), so that exact ("flat")
// search scans every row and IVF search scans the probed ranges of the same
// array: one copy of the vectors serves both.
//
// Scores are similarities, higher is better: dot: q.x; cosine: q.x of the
// normalised vectors (Build normalises rows, Search the query); l2:
// -|q - x|^2. Hits are ordered by score, then by doc id.
//
// Quantized search scores 8-bit scalar codes (per-dimension min/max,
// trained on the rows, built at first use) and re-scores a shortlist of
// rescore * k candidates with the full-precision rows.
//
// Thread-safety: Search and SearchBatch may run from many threads at once.
#ifndef CASCADE_INDEX_DENSE_VECTOR_INDEX_H_
#define CASCADE_INDEX_DENSE_VECTOR_INDEX_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "cascade/status.h"
#include "index/dense/vector_field.h"

namespace cascade::dense {

struct Neighbor {
  uint32_t doc = 0;
  float score = 0;
  bool operator==(const Neighbor&) const = default;
};

struct VectorSearchParams {
  size_t k = 10;  // >= 1
  // IVF lists to probe (capped at the list count). 0: exact search over
  // every row. InvalidArgument when > 0 and the index has no IVF.
  size_t nprobe = 0;
  // Score SQ8 codes first, then the shortlist with full precision.
  bool quantized = false;
  size_t rescore = 4;  // shortlist = rescore * k, >= 1
  // When set, only docs d with d < allow->size() && (*allow)[d] are hits.
  const std::vector<bool>* allow = nullptr;
};

// Balance of an IVF index's lists.
struct IvfStats {
  size_t lists = 0;
  size_t vectors = 0;
  size_t empty_lists = 0;
  size_t min_size = 0, max_size = 0;
  double mean_size = 0, stddev_size = 0;
  // n * sum(size^2) / (sum size)^2: 1 when perfectly even (Faiss's
  // imbalance factor); the expected cost of a probe relative to even lists.
  double imbalance = 0;
};

class VectorIndex {
 public:
  // Takes the rows of `field` (docs.size() x dim in `data`, any doc order).
  // Cosine rows are normalised here. With `centroids` (nlist x dim, from
  // TrainKMeans) the rows are grouped by `lists` (the list of each row, in
  // [0, nlist)), or by their nearest centroid when `lists` is empty.
  static Result<std::unique_ptr<VectorIndex>> Build(
      const VectorField& field, std::vector<uint32_t> docs, std::vector<float> data,
      std::vector<float> centroids = {}, std::span<const uint32_t> lists = {},
      unsigned threads = 0);

  // The best params.k rows for query `q` (dim floats). InvalidArgument for
  // a query of the wrong size or with a non-finite value, k == 0, or nprobe
  // without IVF.
  Result<std::vector<Neighbor>> Search(std::span<const float> q,
                                       const VectorSearchParams& params) const;
  // Search for each of the queries (queries.size() / dim of them) on up to
  // `threads` threads (0: all cores); (*out)[i] is query i's hits, the
  // same as Search would return.
  Status SearchBatch(std::span<const float> queries, const VectorSearchParams& params,
                     unsigned threads, std::vector<std::vector<Neighbor>>* out) const;

  const VectorField& field() const { return field_; }
  size_t size() const { return docs_.size(); }
  size_t nlist() const { return list_offsets_.empty() ? 0 : list_offsets_.size() - 1; }
  bool has_ivf() const { return nlist() > 0; }
  const std::vector<float>& centroids() const { return centroids_; }
  IvfStats ivf_stats() const;
  // Bytes held: rows, doc ids, centroids, codes once built.
  size_t memory_bytes() const;

 private:
  VectorIndex() = default;
  struct Query;  // a prepared query (normalised; SQ8 terms)
  Status Prepare(std::span<const float> q, const VectorSearchParams& params, Query* out) const;
  float Exact(const float* q, size_t row) const;
  void ScanRange(const Query& q, size_t begin, size_t end, const VectorSearchParams& params,
                 class TopK* top) const;
  std::vector<Neighbor> Finish(const Query& q, const VectorSearchParams& params,
                               TopK* top) const;
  void BuildCodes() const;

  VectorField field_;
  std::vector<uint32_t> docs_;   // per row
  std::vector<float> data_;      // rows x dim
  std::vector<float> centroids_; // nlist x dim
  std::vector<size_t> list_offsets_;  // nlist + 1, rows of list l: [o[l], o[l+1])
  // SQ8, built once at the first quantized search.
  mutable std::once_flag codes_once_;
  mutable std::vector<uint8_t> codes_;  // rows x dim
  mutable std::vector<float> code_min_, code_step_;  // per dimension
  mutable std::vector<float> code_norm2_;            // per row, |decoded|^2
};

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_VECTOR_INDEX_H_
