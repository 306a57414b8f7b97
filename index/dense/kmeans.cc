#include "index/dense/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include "index/dense/kernels.h"

namespace cascade::dense {

void ParallelFor(size_t n, unsigned threads,
                 const std::function<void(size_t, size_t)>& fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, n));
  if (threads <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] { fn(n * t / threads, n * (t + 1) / threads); });
  }
  for (auto& th : pool) th.join();
}

void AssignNearest(const float* data, size_t n, const float* centroids, size_t k,
                   size_t dim, Metric metric, unsigned threads, uint32_t* out) {
  // Points in groups, centroids in L2-sized tiles: the register-blocked
  // kernel scores four points against four centroids per load.
  constexpr size_t kPoints = 64;
  const KernelTable& kt = Kernels();
  const bool l2 = metric == Metric::kL2;
  const RowSpan rows{RowType::kF32, centroids, nullptr, dim};
  const bool shortlist = k >= kAssignShortlistMinK;
  // With many centroids, a bf16 pass (twice the float rate) keeps each
  // point's best kAssignShortlist, which float scores then decide, as the
  // search's coarse pass does (vector_index.cc).
  std::vector<uint16_t> centroids_bf16;
  std::vector<float> norm2;
  if (shortlist) {
    centroids_bf16.resize(k * dim);
    for (size_t i = 0; i < k * dim; ++i) centroids_bf16[i] = FloatToBf16(centroids[i]);
    if (l2) {
      norm2.resize(k);
      for (size_t c = 0; c < k; ++c) {
        norm2[c] = kt.dot(centroids + c * dim, centroids + c * dim, dim);
      }
    }
  }
  const size_t tile = std::max<size_t>(
      16, (size_t{192} << 10) / std::max<size_t>((shortlist ? 2 : 4) * dim, 1));
  ParallelFor(n, threads, [&](size_t begin, size_t end) {
    std::vector<float> scores(std::min(kPoints, end - begin) * k);
    std::vector<const float*> qs;
    std::vector<uint16_t> points_bf16;
    std::vector<const uint16_t*> qs_bf16;
    for (size_t p0 = begin; p0 < end; p0 += kPoints) {
      const size_t m = std::min(kPoints, end - p0);
      qs.clear();
      for (size_t i = 0; i < m; ++i) qs.push_back(data + (p0 + i) * dim);
      if (!shortlist) {
        for (size_t c = 0; c < k; c += tile) {
          kt.score_block(rows, l2, qs.data(), m, c, std::min(tile, k - c), scores.data() + c,
                         k);
        }
        for (size_t i = 0; i < m; ++i) {
          const float* s = scores.data() + i * k;
          uint32_t best = 0;
          float best_score = -std::numeric_limits<float>::infinity();
          for (size_t c = 0; c < k; ++c) {
            const float v = l2 ? -s[c] : s[c];
            if (v > best_score) {
              best_score = v;
              best = static_cast<uint32_t>(c);
            }
          }
          out[p0 + i] = best;
        }
        continue;
      }
      points_bf16.resize(m * dim);
      qs_bf16.clear();
      for (size_t i = 0; i < m; ++i) {
        for (size_t j = 0; j < dim; ++j) points_bf16[i * dim + j] = FloatToBf16(qs[i][j]);
        qs_bf16.push_back(points_bf16.data() + i * dim);
      }
      for (size_t c = 0; c < k; c += tile) {
        kt.dot_block_bf16(qs_bf16.data(), m, centroids_bf16.data(), dim, c,
                          std::min(tile, k - c), scores.data() + c, k);
      }
      for (size_t i = 0; i < m; ++i) {
        const float* s = scores.data() + i * k;
        // The best kAssignShortlist by the bf16 key (l2: 2 x.c - |c|^2),
        // kept sorted, best first.
        std::pair<float, uint32_t> top[kAssignShortlist];
        size_t kept = 0;
        for (size_t c = 0; c < k; ++c) {
          const float v = l2 ? 2 * s[c] - norm2[c] : s[c];
          if (kept == kAssignShortlist && !(v > top[kept - 1].first)) continue;
          size_t at = kept < kAssignShortlist ? kept++ : kept - 1;
          for (; at > 0 && top[at - 1].first < v; --at) top[at] = top[at - 1];
          top[at] = {v, static_cast<uint32_t>(c)};
        }
        uint32_t best = 0;
        float best_score = -std::numeric_limits<float>::infinity();
        for (size_t t = 0; t < kept; ++t) {
          float exact;
          kt.score_rows(rows, l2, qs[i], top[t].second, 1, &exact);
          const float v = l2 ? -exact : exact;
          if (v > best_score || (v == best_score && top[t].second < best)) {
            best_score = v;
            best = top[t].second;
          }
        }
        out[p0 + i] = best;
      }
    }
  });
}

namespace {

// Sets each centroid with points to their mean (sums in point order, in
// double), counts[c] to its number of points; empty ones are left as they
// are.
void MeanUpdate(const float* points, size_t n, const uint32_t* assign, size_t k, size_t dim,
                std::vector<double>* sums, std::vector<size_t>* counts, float* centroids) {
  sums->assign(k * dim, 0.0);
  counts->assign(k, 0);
  for (size_t i = 0; i < n; ++i) {
    double* sum = sums->data() + size_t{assign[i]} * dim;
    const float* x = points + i * dim;
    for (size_t j = 0; j < dim; ++j) sum[j] += x[j];
    ++(*counts)[assign[i]];
  }
  for (size_t c = 0; c < k; ++c) {
    if ((*counts)[c] == 0) continue;
    float* center = centroids + c * dim;
    for (size_t j = 0; j < dim; ++j) {
      center[j] = static_cast<float>((*sums)[c * dim + j] / double((*counts)[c]));
    }
  }
}

}  // namespace

Result<std::vector<float>> TrainKMeans(std::span<const float> data, size_t dim,
                                       Metric metric, const KMeansOptions& options,
                                       std::vector<uint32_t>* assignment) {
  const size_t k = options.k;
  if (dim == 0 || data.size() % dim != 0) {
    return Status::InvalidArgument("k-means: data is not a whole number of vectors");
  }
  const size_t n = data.size() / dim;
  if (k == 0) return Status::InvalidArgument("k-means: k must be at least 1");
  if (n < k) {
    return Status::InvalidArgument("k-means: " + std::to_string(n) +
                                   " vectors cannot make " + std::to_string(k) + " clusters");
  }
  if (options.iterations < 1) return Status::InvalidArgument("k-means: iterations must be >= 1");
  if (options.full_passes < 0) {
    return Status::InvalidArgument("k-means: full_passes must be >= 0");
  }
  std::mt19937_64 rng(options.seed);

  // The training sample: a seeded partial Fisher-Yates shuffle, kept in
  // ascending order so that sums run in a fixed order.
  std::vector<uint32_t> sample(n);
  std::iota(sample.begin(), sample.end(), 0u);
  size_t m = n;
  if (options.max_points_per_centroid > 0 && n > k * options.max_points_per_centroid) {
    m = k * options.max_points_per_centroid;
    for (size_t i = 0; i < m; ++i) {
      std::uniform_int_distribution<size_t> pick(i, n - 1);
      std::swap(sample[i], sample[pick(rng)]);
    }
    sample.resize(m);
    std::sort(sample.begin(), sample.end());
  }
  std::vector<float> points(m * dim);
  for (size_t i = 0; i < m; ++i) {
    std::copy_n(data.data() + size_t{sample[i]} * dim, dim, points.data() + i * dim);
  }

  // k-means++ over a prefix of a seeded permutation of the sample: the
  // first seed uniform; then, each round, candidates drawn with probability
  // proportional to the squared distance to the nearest seed so far,
  // keeping the one that lowers the total most (greedy, as scikit-learn's,
  // with 2 + ln k candidates: plain k-means++, one draw, often puts two
  // seeds in one well-separated cluster, which Lloyd's iterations cannot
  // undo; with many more clusters than that, kmeans.h says why one draw).
  std::vector<float> centroids(k * dim);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  size_t s = m;
  if (options.seeding_points_per_centroid > 0) {
    s = std::min(m, k * options.seeding_points_per_centroid);
  }
  std::vector<uint32_t> seed_pool(m);
  std::iota(seed_pool.begin(), seed_pool.end(), 0u);
  for (size_t i = 0; i < s && s < m; ++i) {
    std::uniform_int_distribution<size_t> pick(i, m - 1);
    std::swap(seed_pool[i], seed_pool[pick(rng)]);
  }
  seed_pool.resize(s);
  // The pool's points, contiguous: each round scores all of them against
  // its candidates with the row kernels (one pass for all candidates).
  std::vector<float> pool(s * dim);
  for (size_t i = 0; i < s; ++i) {
    std::copy_n(points.data() + size_t{seed_pool[i]} * dim, dim, pool.data() + i * dim);
  }
  auto point = [&](size_t i) { return pool.data() + i * dim; };
  const RowSpan pool_rows{RowType::kF32, pool.data(), nullptr, dim};
  const KernelTable& kt = Kernels();
  // Totals are sums of fixed blocks of points, in order, so that they do
  // not depend on the thread count.
  constexpr size_t kSumBlock = 4096;
  const size_t blocks = (s + kSumBlock - 1) / kSumBlock;
  size_t tries = options.seeding_tries;
  if (tries == 0) {
    tries = k <= kGreedySeedingMaxK ? 2 + static_cast<size_t>(std::log(double(k))) : 1;
  }
  std::vector<double> d2(s);
  std::vector<float> dist(tries * s);
  std::vector<double> partial(tries * blocks);
  std::vector<size_t> cands(tries);
  size_t chosen = std::uniform_int_distribution<size_t>(0, s - 1)(rng);
  {
    const float* x = point(chosen);
    ParallelFor(s, options.threads, [&](size_t begin, size_t end) {
      kt.score_block(pool_rows, true, &x, 1, begin, end - begin, dist.data() + begin, s);
    });
    for (size_t i = 0; i < s; ++i) d2[i] = dist[i];
  }
  std::copy_n(point(chosen), dim, centroids.data());
  for (size_t c = 1; c < k; ++c) {
    const double total = std::accumulate(d2.begin(), d2.end(), 0.0);
    size_t best = c % s;  // all points equal: any will do (split later)
    if (total > 0) {
      // Every candidate of a round is drawn from the same distribution.
      for (size_t t = 0; t < tries; ++t) {
        double target = unit(rng) * total;
        size_t cand = 0;
        for (; cand + 1 < s; ++cand) {
          target -= d2[cand];
          if (target <= 0 && d2[cand] > 0) break;
        }
        cands[t] = cand;
      }
      std::vector<const float*> qs(tries);
      for (size_t t = 0; t < tries; ++t) qs[t] = point(cands[t]);
      ParallelFor(blocks, options.threads, [&](size_t b_begin, size_t b_end) {
        const size_t begin = b_begin * kSumBlock, end = std::min(s, b_end * kSumBlock);
        kt.score_block(pool_rows, true, qs.data(), tries, begin, end - begin,
                       dist.data() + begin, s);
        if (tries == 1) return;  // nothing to choose between
        for (size_t b = b_begin; b < b_end; ++b) {
          const size_t i_end = std::min(s, (b + 1) * kSumBlock);
          for (size_t t = 0; t < tries; ++t) {
            double sum = 0;
            const float* row = dist.data() + t * s;
            for (size_t i = b * kSumBlock; i < i_end; ++i) sum += std::min(d2[i], double{row[i]});
            partial[t * blocks + b] = sum;
          }
        }
      });
      // The candidate that lowers the total most (the first of equals).
      double best_total = std::numeric_limits<double>::infinity();
      size_t best_t = 0;
      for (size_t t = 0; t < tries && tries > 1; ++t) {
        double trial_total = 0;
        for (size_t b = 0; b < blocks; ++b) trial_total += partial[t * blocks + b];
        if (trial_total < best_total) {
          best_total = trial_total;
          best_t = t;
        }
      }
      best = cands[best_t];
      const float* row = dist.data() + best_t * s;
      for (size_t i = 0; i < s; ++i) d2[i] = std::min(d2[i], double{row[i]});
    }
    std::copy_n(point(best), dim, centroids.data() + c * dim);
  }

  // Lloyd iterations on the sample.
  std::vector<uint32_t> assign(m);
  std::vector<double> sums;
  std::vector<size_t> counts;
  for (int iter = 0; iter < options.iterations; ++iter) {
    AssignNearest(points.data(), m, centroids.data(), k, dim, metric, options.threads,
                  assign.data());
    MeanUpdate(points.data(), m, assign.data(), k, dim, &sums, &counts, centroids.data());
    // An empty cluster takes half of the largest one: both centroids move a
    // little apart from the large one's, in opposite directions.
    for (size_t c = 0; c < k; ++c) {
      if (counts[c] != 0) continue;
      const size_t big = static_cast<size_t>(
          std::max_element(counts.begin(), counts.end()) - counts.begin());
      float* from = centroids.data() + big * dim;
      float* to = centroids.data() + c * dim;
      constexpr float kEps = 1.0f / 1024;
      for (size_t j = 0; j < dim; ++j) {
        const float delta = (j % 2 == 0 ? kEps : -kEps) * (std::fabs(from[j]) + kEps);
        to[j] = from[j] + delta;
        from[j] -= delta;
      }
      counts[c] = counts[big] / 2;
      counts[big] -= counts[c];
    }
    if (metric == Metric::kCosine) {
      for (size_t c = 0; c < k; ++c) Normalize(centroids.data() + c * dim, dim);
    }
  }

  // Updates over every point: the sample's centroids carry the noise of
  // its few points per list (64 in bench/dense), and a mean over the whole
  // list (about n / k points) has less; an empty list keeps its centroid.
  // Points are assigned before the update, not after: that assignment is
  // the one returned.
  std::vector<float>().swap(points);
  std::vector<uint32_t> own;
  std::vector<uint32_t>* lists = assignment != nullptr ? assignment : &own;
  if (options.full_passes > 0 || assignment != nullptr) lists->resize(n);
  for (int pass = 0; pass < options.full_passes; ++pass) {
    AssignNearest(data.data(), n, centroids.data(), k, dim, metric, options.threads,
                  lists->data());
    MeanUpdate(data.data(), n, lists->data(), k, dim, &sums, &counts, centroids.data());
    if (metric == Metric::kCosine) {
      for (size_t c = 0; c < k; ++c) {
        if (counts[c] > 0) Normalize(centroids.data() + c * dim, dim);
      }
    }
  }
  if (options.full_passes == 0 && assignment != nullptr) {
    AssignNearest(data.data(), n, centroids.data(), k, dim, metric, options.threads,
                  assignment->data());
  }
  return centroids;
}

}  // namespace cascade::dense
