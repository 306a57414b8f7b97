// k-means for IVF coarse quantizers: k-means++ seeding and Lloyd
// iterations on a sample, then Lloyd updates over every point (full
// passes), deterministic for a given seed whatever the thread count
// (assignments are per point; sums run in point order on one thread).
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
// AssignNearest with at least this many centroids ranks them in bf16 first
// and re-scores the best kAssignShortlist in float.
inline constexpr size_t kAssignShortlistMinK = 256;
inline constexpr size_t kAssignShortlist = 16;

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
  // Lloyd updates over every point after the sample's iterations, >= 0:
  // each assigns all n points (AssignNearest) and moves every centroid to
  // the mean of its points. The sample's means carry the noise of its few
  // points per list; the whole list's mean has less. A caller that takes
  // TrainKMeans's assignment as its IVF lists pays nothing for one pass (it
  // would assign every point anyway). On bench/dense's 10^6 x 384 set
  // (4,096 lists, 64 sample points per list, 10 iterations), one pass with
  // its assignment as the lists raised recall@10 at nprobe 4, 16 and 64 by
  // +0.0008, +0.0018 and +0.0041 on average over seeds 1-4 (bench/README.md)
  // and left nprobe 1 where it was (-0.0056 to +0.0044 by seed, mean
  // -0.0005). On seed 1, nprobe 1/4/16/64: no pass 0.3838/0.5021/0.5375/
  // 0.6018; one 0.3882/0.5027/0.5399/0.6067; one with the lists assigned
  // again after it 0.3873/0.5048/0.5420/0.6086; two 0.3855/0.5045/0.5425/
  // 0.6079; three 0.3828/0.5055/0.5435/0.6092 (lists more even); 20 sample
  // iterations instead of 10, no pass, 0.3834/0.5023/0.5379/0.6023.
  int full_passes = 1;
  unsigned threads = 0;  // 0: all cores
};

// Trains k centroids over `data` (n x dim). Cosine: data should be unit
// vectors; centroids are renormalised each iteration (spherical k-means).
// Dot and cosine assign by largest inner product, l2 by smallest distance.
// If `assignment` is not null it receives n list ids, the IVF lists that
// go with the centroids: with full passes, the last pass's assignment, of
// which each non-empty list's centroid is the mean (a point may be a
// little nearer another, updated, centroid); without, AssignNearest
// against the returned centroids.
// InvalidArgument when n < k, k == 0, iterations < 1 or full_passes < 0.
Result<std::vector<float>> TrainKMeans(std::span<const float> data, size_t dim,
                                       Metric metric, const KMeansOptions& options,
                                       std::vector<uint32_t>* assignment = nullptr);

// For each row of data (n x dim), the index of its nearest centroid
// (k x dim) under `metric`; ties go to the lower index. With
// kAssignShortlistMinK or more centroids, bf16 products rank them first
// (vdpbf16ps where the CPU has AVX512_BF16) and float scores decide among
// each point's best kAssignShortlist, as the search's coarse pass does: a
// centroid missing from the shortlist would need a bf16 error larger than
// the gap between ranks 1 and 16. On bench/dense's 10^6 x 384 set with
// 4,096 centroids k-means gave the same recall and list imbalance as with
// float scores alone, and assigning took about 0.75x the time.
void AssignNearest(const float* data, size_t n, const float* centroids, size_t k,
                   size_t dim, Metric metric, unsigned threads, uint32_t* out);

// Runs fn(begin, end) over [0, n) split into contiguous chunks on up to
// `threads` threads (0: all cores); returns when all are done.
void ParallelFor(size_t n, unsigned threads,
                 const std::function<void(size_t begin, size_t end)>& fn);

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_KMEANS_H_
