// k-means for IVF coarse quantizers: k-means++ seeding and Lloyd
// iterations, trained on a sample, deterministic for a given seed whatever
// the thread count (assignments are per point; sums run in point order on
// one thread).
//
// Layout (written down once for index/dense/): a set of n vectors of
// dimension d is one row-major n x d float array; row i is
// [i * d, (i + 1) * d).
//
// Thread-safety: the functions share nothing; call them from any thread.
#ifndef CASCADE_INDEX_DENSE_KMEANS_H_
#define CASCADE_INDEX_DENSE_KMEANS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "cascade/status.h"
#include "index/dense/vector_field.h"

namespace cascade::dense {

inline constexpr size_t kGreedySeedingMaxK = 64;

struct KMeansOptions {
  size_t k = 0;          // clusters, >= 1
  int iterations = 20;   // Lloyd iterations after seeding, >= 1
  uint64_t seed = 1234;  // sampling and seeding
  // Train on at most k * this many points, a random sample (as Faiss's
  // max_points_per_centroid); 0: on every point.
  size_t max_points_per_centroid = 256;
  // k-means++ draws its seeds from at most k * this many of the sample
  // (each draw costs a pass over them).
  size_t seeding_points_per_centroid = 16;
  // Candidates drawn per k-means++ round, keeping the one that lowers the
  // total squared distance most. 0: kGreedySeedingMaxK or fewer clusters
  // take 2 + ln k (greedy k-means++: each seed in its own natural
  // cluster), more take 1 (plain k-means++: seeds follow the density, and
  // IVF lists with them; on bench/dense's 200k set with 1,024 lists greedy
  // seeding made lists more even but cost recall@10 at nprobe 1 and 4:
  // 0.193 and 0.561 against 0.210 and 0.598).
  size_t seeding_tries = 0;
  unsigned threads = 0;  // 0: all cores
};

// Trains k centroids over `data` (n x dim). Cosine: data should be unit
// vectors; centroids are renormalised each iteration (spherical k-means).
// Dot and cosine assign by largest inner product, l2 by smallest distance.
// InvalidArgument when n < k or k == 0.
Result<std::vector<float>> TrainKMeans(std::span<const float> data, size_t dim,
                                       Metric metric, const KMeansOptions& options);

// For each row of data (n x dim), the index of its nearest centroid
// (k x dim) under `metric`; ties go to the lower index.
void AssignNearest(const float* data, size_t n, const float* centroids, size_t k,
                   size_t dim, Metric metric, unsigned threads, uint32_t* out);

// Runs fn(begin, end) over [0, n) split into contiguous chunks on up to
// `threads` threads (0: all cores); returns when all are done.
void ParallelFor(size_t n, unsigned threads,
                 const std::function<void(size_t begin, size_t end)>& fn);

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_KMEANS_H_
