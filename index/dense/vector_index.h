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
// Rows are held as the field's storage says (f32, f16, or int8 codes with
// a per-row scale, vector_field.h), so an f16 field scans half the bytes
// of an f32 one; cosine rows are normalised before they are encoded.
//
// Quantized search scores 8-bit scalar codes (per-dimension min/max,
// trained on the rows, built at first use) and re-scores a shortlist of
// rescore * k candidates with the stored rows.
//
// IVF search probes the nprobe lists whose centroids score best. Unless
// that is nearly every list, a bf16 pass over all centroids (twice the
// float rate, kernels.h) shortlists 2 * nprobe + 16 of them first and the
// float scores of the shortlist decide.
//
// SearchBatch returns exactly what Search returns for each query (the
// same hits, the same score bits): it scores the centroids for many
// queries at once and scans each probed list once for all the queries
// that probe it, with kernels whose sums run in the same order as the
// single-query ones (kernels.h).
//
// Thread-safety: Search and SearchBatch may run from many threads at once.
#ifndef CASCADE_INDEX_DENSE_VECTOR_INDEX_H_
#define CASCADE_INDEX_DENSE_VECTOR_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "cascade/status.h"
#include "index/dense/kernels.h"
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

class TopK;  // vector_index.cc

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
  // Bytes of the stored rows alone (what an exact scan streams).
  size_t row_bytes() const { return RowBytes(row_type_, field_.dim) * docs_.size(); }
  // Those bytes, where they lie (int8 rows: the codes; their per-row
  // scales are a separate array of 4 bytes a row). For benchmarks that
  // time streaming the rows beside a scan of them.
  std::span<const std::byte> row_storage() const {
    return {static_cast<const std::byte*>(rows().data), row_bytes()};
  }

 private:
  VectorIndex() = default;
  struct Query;  // a prepared query (normalised; SQ8 terms)
  Status Prepare(std::span<const float> q, const VectorSearchParams& params, Query* out) const;
  float Exact(const float* q, size_t row) const;
  RowSpan rows() const;
  RowSpan centroid_rows() const;
  void DecodeRow(size_t row, float* out) const;
  // Kernel scores (dot, or squared distance for l2) -> similarities.
  float Similarity(float kernel_score) const {
    return field_.metric == Metric::kL2 ? -kernel_score : kernel_score;
  }
  // The nprobe lists whose centroids score best, given every centroid's
  // kernel score.
  // centroid_scores: the bf16 dot products when CoarseFirstPass(nprobe),
  // else the float kernel scores.
  void SelectProbes(const Query& q, const float* centroid_scores, size_t nprobe,
                    std::vector<uint32_t>* lists) const;
  bool CoarseFirstPass(size_t nprobe) const;
  // Pushes rows [begin, begin + n) with their kernel scores.
  void Collect(const float* scores, size_t begin, size_t n, const VectorSearchParams& params,
               TopK* top) const;
  void ScanRange(const Query& q, size_t begin, size_t end, const VectorSearchParams& params,
                 TopK* top) const;
  // Scores the queries prepared[live[i]] into (*tops)[live[i]]: exact, or
  // probing params.nprobe lists (not quantized).
  void BatchScan(const std::vector<Query>& prepared, const std::vector<size_t>& live,
                 const VectorSearchParams& params, std::vector<TopK>* tops) const;
  // Fills the rows of the field's storage type: row r is data row order[r].
  void StoreRows(std::vector<float>&& data, const std::vector<uint32_t>& order);
  std::vector<Neighbor> Finish(const Query& q, const VectorSearchParams& params,
                               TopK* top) const;
  void BuildCodes() const;

  VectorField field_;
  std::vector<uint32_t> docs_;   // per row
  RowType row_type_ = RowType::kF32;
  std::vector<float> data_;      // rows x dim (f32 storage)
  std::vector<uint16_t> half_;   // rows x dim (f16 storage)
  std::vector<int8_t> int8_;     // rows x dim (int8 storage)
  std::vector<float> scales_;    // per row (int8 storage)
  std::vector<float> centroids_; // nlist x dim
  std::vector<uint16_t> centroids_bf16_;  // nlist x dim, the first pass's
  std::vector<float> centroid_norm2_;     // per list, |c|^2 (l2's first pass)
  std::vector<size_t> list_offsets_;  // nlist + 1, rows of list l: [o[l], o[l+1])
  // SQ8, built once at the first quantized search.
  mutable std::once_flag codes_once_;
  mutable std::vector<uint8_t> codes_;  // rows x dim
  mutable std::vector<float> code_min_, code_step_;  // per dimension
  mutable std::vector<float> code_norm2_;            // per row, |decoded|^2
};

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_VECTOR_INDEX_H_
