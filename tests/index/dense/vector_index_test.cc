// Kernels, vector fields, k-means and in-memory flat/IVF search against
// brute-force references computed in double precision.
#include "index/dense/vector_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <cmath>
#include <random>

#include "index/dense/kernels.h"
#include "index/dense/kmeans.h"
#include "index/dense/vector_field.h"

namespace cascade::dense {
namespace {

std::vector<float> RandomVectors(size_t n, size_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(n * dim);
  for (float& x : v) x = g(rng);
  return v;
}

// Clustered data, so that IVF lists mean something.
std::vector<float> Clustered(size_t n, size_t dim, size_t clusters, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> centers = RandomVectors(clusters, dim, seed + 1);
  std::vector<float> v(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = i % clusters;
    for (size_t j = 0; j < dim; ++j) v[i * dim + j] = centers[c * dim + j] + 0.3f * g(rng);
  }
  return v;
}

double RefScore(Metric metric, const float* q, const float* x, size_t dim) {
  double dot = 0, qq = 0, xx = 0, l2 = 0;
  for (size_t i = 0; i < dim; ++i) {
    dot += double{q[i]} * x[i];
    qq += double{q[i]} * q[i];
    xx += double{x[i]} * x[i];
    l2 += (double{q[i]} - x[i]) * (double{q[i]} - x[i]);
  }
  switch (metric) {
    case Metric::kDot: return dot;
    case Metric::kCosine: return dot / std::sqrt(qq * xx);
    case Metric::kL2: return -l2;
  }
  return 0;
}

// Brute force in double: the k best (score, doc), ties by doc.
std::vector<std::pair<double, uint32_t>> BruteForce(Metric metric, const std::vector<float>& data,
                                                    const std::vector<uint32_t>& docs,
                                                    const float* q, size_t dim, size_t k) {
  std::vector<std::pair<double, uint32_t>> all;
  for (size_t r = 0; r < docs.size(); ++r) {
    all.emplace_back(RefScore(metric, q, data.data() + r * dim, dim), docs[r]);
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  all.resize(std::min(k, all.size()));
  return all;
}

TEST(KernelsTest, EveryIsaMatchesScalar) {
  const KernelTable* scalar = KernelsFor(Isa::kScalar);
  ASSERT_NE(scalar, nullptr);
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const KernelTable* t = KernelsFor(isa);
    if (t == nullptr) continue;  // this CPU lacks it
    SCOPED_TRACE(std::string(IsaName(isa)));
    for (size_t n : {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 128, 129, 384, 1000}) {
      std::vector<float> a = RandomVectors(1, n, 10 + n), b = RandomVectors(1, n, 20 + n);
      std::vector<uint8_t> c(n);
      for (size_t i = 0; i < n; ++i) c[i] = static_cast<uint8_t>((i * 37 + n) % 256);
      double dot = 0, l2 = 0, du8 = 0;
      for (size_t i = 0; i < n; ++i) {
        dot += double{a[i]} * b[i];
        l2 += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
        du8 += double{a[i]} * c[i];
      }
      const double tol = 1e-5 * (n + 1);
      EXPECT_NEAR(t->dot(a.data(), b.data(), n), dot, tol) << n;
      EXPECT_NEAR(t->l2sq(a.data(), b.data(), n), l2, tol * 4) << n;
      EXPECT_NEAR(t->dot_u8(a.data(), c.data(), n), du8, tol * 256) << n;
    }
  }
  EXPECT_NE(KernelsFor(Kernels().isa), nullptr);
}

// Row kernels: every storage, both metrics, dimensions around the 16-lane
// chunk, row counts around the 16-row and 4 x 4 tiles. score_block must
// give score_rows' bits exactly, whatever the query count; both must be
// close to a double-precision reference of the decoded rows.
TEST(KernelsTest, RowKernelsAgreeBitForBit) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const KernelTable* t = KernelsFor(isa);
    if (t == nullptr) continue;
    for (RowType type : {RowType::kF32, RowType::kF16, RowType::kInt8}) {
      for (size_t dim : {1, 5, 16, 31, 48, 130}) {
        for (bool l2 : {false, true}) {
          SCOPED_TRACE(std::string(IsaName(isa)) + " type " +
                       std::to_string(static_cast<int>(type)) + " dim " + std::to_string(dim) +
                       (l2 ? " l2" : " dot"));
          const size_t n = 37, nq = 7;
          std::vector<float> x = RandomVectors(n, dim, dim + 1);
          std::vector<float> queries = RandomVectors(nq, dim, dim + 2);
          std::vector<uint8_t> bytes(n * RowBytes(type, dim));
          std::vector<float> scales(n, 1.0f), decoded(n * dim);
          for (size_t r = 0; r < n; ++r) {
            const float* v = x.data() + r * dim;
            float max_abs = 0;
            for (size_t i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(v[i]));
            if (type == RowType::kInt8) scales[r] = max_abs / 127;
            for (size_t i = 0; i < dim; ++i) {
              float& d = decoded[r * dim + i];
              if (type == RowType::kF32) {
                std::memcpy(bytes.data() + (r * dim + i) * 4, &v[i], 4);
                d = v[i];
              } else if (type == RowType::kF16) {
                const uint16_t h = FloatToHalf(v[i]);
                std::memcpy(bytes.data() + (r * dim + i) * 2, &h, 2);
                d = HalfToFloat(h);
              } else {
                const auto c = static_cast<int8_t>(std::lround(v[i] / scales[r]));
                bytes[r * dim + i] = static_cast<uint8_t>(c);
                d = c * scales[r];
              }
            }
          }
          RowSpan rows{type, bytes.data(), scales.data(), dim};
          std::vector<const float*> qs;
          for (size_t i = 0; i < nq; ++i) qs.push_back(queries.data() + i * dim);
          std::vector<float> block(nq * n, -1.0f);
          t->score_block(rows, l2, qs.data(), nq, 2, n - 2, block.data(), n);
          for (size_t i = 0; i < nq; ++i) {
            std::vector<float> single(n - 2);
            t->score_rows(rows, l2, qs[i], 2, n - 2, single.data());
            for (size_t r = 0; r + 2 < n; ++r) {
              ASSERT_EQ(std::bit_cast<uint32_t>(single[r]),
                        std::bit_cast<uint32_t>(block[i * n + r]))
                  << "query " << i << " row " << r;
              double ref = 0;
              for (size_t j = 0; j < dim; ++j) {
                const double q = qs[i][j], v = decoded[(r + 2) * dim + j];
                ref += l2 ? (q - v) * (q - v) : q * v;
              }
              EXPECT_NEAR(single[r], ref, 1e-4 * (1 + std::fabs(ref)) * (1 + dim / 16.0));
            }
          }
        }
      }
    }
  }
}

TEST(KernelsTest, Bf16KernelsAgreeBitForBit) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const KernelTable* t = KernelsFor(isa);
    if (t == nullptr) continue;
    for (size_t dim : {1, 5, 32, 47, 64, 130, 384}) {
      SCOPED_TRACE(std::string(IsaName(isa)) + " dim " + std::to_string(dim));
      const size_t n = 37, nq = 7;
      std::vector<float> x = RandomVectors(n, dim, dim + 3), qf = RandomVectors(nq, dim, dim + 4);
      std::vector<uint16_t> rows(n * dim), q(nq * dim);
      for (size_t i = 0; i < rows.size(); ++i) rows[i] = FloatToBf16(x[i]);
      for (size_t i = 0; i < q.size(); ++i) q[i] = FloatToBf16(qf[i]);
      std::vector<const uint16_t*> qs;
      for (size_t i = 0; i < nq; ++i) qs.push_back(q.data() + i * dim);
      std::vector<float> block(nq * n);
      t->dot_block_bf16(qs.data(), nq, rows.data(), dim, 2, n - 2, block.data(), n);
      for (size_t i = 0; i < nq; ++i) {
        std::vector<float> single(n - 2);
        t->dot_rows_bf16(qs[i], rows.data(), dim, 2, n - 2, single.data());
        for (size_t r = 0; r + 2 < n; ++r) {
          ASSERT_EQ(std::bit_cast<uint32_t>(single[r]), std::bit_cast<uint32_t>(block[i * n + r]))
              << "query " << i << " row " << r;
          double ref = 0;
          for (size_t j = 0; j < dim; ++j) {
            ref += double{Bf16ToFloat(qs[i][j])} * Bf16ToFloat(rows[(r + 2) * dim + j]);
          }
          EXPECT_NEAR(single[r], ref, 1e-3 * (1 + std::fabs(ref)) * (1 + dim / 32.0));
        }
      }
    }
  }
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(1.5f)), 1.5f);
  EXPECT_EQ(FloatToBf16(1.0f + 1.0f / 256), FloatToBf16(1.0f));  // ties to even
}

TEST(VectorFieldTest, SpecRoundTripAndErrors) {
  auto f = ParseVectorFieldSpec("emb:384:cosine");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->dim, 384u);
  EXPECT_EQ(f->metric, Metric::kCosine);
  EXPECT_EQ(f->storage, Storage::kF32);
  EXPECT_EQ(FormatVectorFieldSpec(*f), "emb:384:cosine:f32");
  auto g = ParseVectorFieldSpec("v_2:8:l2:int8:5000");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->ivf_auto_threshold, 5000u);
  EXPECT_EQ(FormatVectorFieldSpec(*g), "v_2:8:l2:int8:5000");
  for (const char* bad : {"emb", "emb:0:dot", "emb:x:dot", "emb:8:manhattan", "emb:8:dot:f64",
                          "e m:8:dot", ":8:dot", "emb:8:dot:f32:many", "emb:70000:dot"}) {
    EXPECT_EQ(ParseVectorFieldSpec(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  std::vector<VectorField> twice = {*f, *f};
  EXPECT_FALSE(ValidateVectorFields(twice).ok());
}

TEST(VectorFieldTest, CheckRejectsBadVectors) {
  VectorField f{"emb", 3, Metric::kCosine, Storage::kF32};
  const float ok[] = {1, 2, 3};
  EXPECT_TRUE(CheckVector(f, ok, "d1").ok());
  const float two[] = {1, 2};
  Status s = CheckVector(f, two, "d1");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("dimension 2"), std::string::npos) << s.message();
  const float nan[] = {1, std::nanf(""), 3};
  EXPECT_NE(CheckVector(f, nan, "d1").message().find("not finite"), std::string::npos);
  const float inf[] = {1, INFINITY, 3};
  EXPECT_FALSE(CheckVector(f, inf, "d1").ok());
  const float zero[] = {0, 0, 0};
  EXPECT_FALSE(CheckVector(f, zero, "d1").ok());
  f.metric = Metric::kDot;
  EXPECT_TRUE(CheckVector(f, zero, "d1").ok());
  f.storage = Storage::kF16;
  const float big[] = {1e6f, 0, 0};
  EXPECT_FALSE(CheckVector(f, big, "d1").ok());
}

TEST(VectorFieldTest, EncodingsRoundTrip) {
  const std::vector<float> v = {0.5f, -1.25f, 3.0f, 1e-3f, -0.0f, 65504.0f, 6e-8f};
  for (Storage storage : {Storage::kF32, Storage::kF16, Storage::kInt8}) {
    VectorField f{"v", static_cast<uint32_t>(v.size()), Metric::kDot, storage};
    std::string bytes;
    EncodeVector(f, v, &bytes);
    EXPECT_EQ(bytes.size(), EncodedSize(f));
    std::vector<float> back(v.size());
    ASSERT_TRUE(DecodeVector(f, bytes, back.data()).ok());
    for (size_t i = 0; i < v.size(); ++i) {
      const double tol = storage == Storage::kF32   ? 0
                         : storage == Storage::kF16 ? std::fabs(v[i]) / 1024 + 6e-8
                                                    : 65504.0 / 127 / 2 + 1e-3;
      EXPECT_NEAR(back[i], v[i], tol) << StorageName(storage) << " " << i;
    }
    EXPECT_EQ(DecodeVector(f, bytes.substr(1), back.data()).code(), Status::Code::kCorruption);
  }
  // Exactly representable halves and round-to-even.
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(1.0f + 1.0f / 2048), 0x3c00);  // tie -> even
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
}

struct FlatCase {
  Metric metric;
  size_t dim;
};

class FlatSearchTest : public testing::TestWithParam<FlatCase> {};

TEST_P(FlatSearchTest, EqualsBruteForce) {
  const auto [metric, dim] = GetParam();
  const size_t n = 700, k = 10;
  VectorField field{"emb", static_cast<uint32_t>(dim), metric, Storage::kF32};
  std::vector<float> data = RandomVectors(n, dim, 7);
  std::vector<uint32_t> docs(n);
  for (size_t i = 0; i < n; ++i) docs[i] = static_cast<uint32_t>(3 * i + 1);  // sparse ids
  auto index = VectorIndex::Build(field, docs, data);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  std::vector<float> queries = RandomVectors(20, dim, 99);
  std::vector<std::vector<Neighbor>> batch;
  VectorSearchParams params;
  params.k = k;
  ASSERT_TRUE((*index)->SearchBatch(queries, params, 2, &batch).ok());
  for (size_t qi = 0; qi < 20; ++qi) {
    const float* q = queries.data() + qi * dim;
    auto hits = (*index)->Search({q, dim}, params);
    ASSERT_TRUE(hits.ok());
    EXPECT_EQ(*hits, batch[qi]) << "batch differs from single, query " << qi;
    auto ref = BruteForce(metric, data, docs, q, dim, k);
    ASSERT_EQ(hits->size(), k);
    for (size_t i = 0; i < k; ++i) {
      EXPECT_NEAR((*hits)[i].score, ref[i].first, 1e-4 * (1 + std::fabs(ref[i].first)));
      // Ids agree unless two reference scores are too close to order in fp32.
      const bool tie = (i > 0 && ref[i - 1].first - ref[i].first < 1e-4) ||
                       (i + 1 < k && ref[i].first - ref[i + 1].first < 1e-4);
      if (!tie) {
        EXPECT_EQ((*hits)[i].doc, ref[i].second) << "query " << qi << " rank " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, FlatSearchTest,
                         testing::Values(FlatCase{Metric::kDot, 64}, FlatCase{Metric::kCosine, 37},
                                         FlatCase{Metric::kL2, 128}, FlatCase{Metric::kL2, 5}));

TEST(FlatSearchTest, AllowFilterAndSmallIndex) {
  VectorField field{"emb", 2, Metric::kDot, Storage::kF32};
  // Docs 0..3 along growing x: query (1, 0) ranks 3, 2, 1, 0.
  std::vector<float> data = {0, 1, 1, 0, 2, 0, 3, 0};
  auto index = VectorIndex::Build(field, {0, 1, 2, 3}, data);
  ASSERT_TRUE(index.ok());
  VectorSearchParams params;
  params.k = 10;
  const float q[] = {1, 0};
  auto hits = (*index)->Search(q, params);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 4u);  // fewer rows than k
  EXPECT_EQ((*hits)[0], (Neighbor{3, 3.0f}));
  EXPECT_EQ((*hits)[3], (Neighbor{0, 0.0f}));
  std::vector<bool> allow = {true, false, true};  // doc 3 beyond: not allowed
  params.allow = &allow;
  hits = (*index)->Search(q, params);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].doc, 2u);
  EXPECT_EQ((*hits)[1].doc, 0u);
  // Bad queries.
  const float wrong[] = {1, 0, 0};
  EXPECT_EQ((*index)->Search(wrong, params).status().code(), Status::Code::kInvalidArgument);
  const float nan[] = {std::nanf(""), 0};
  EXPECT_EQ((*index)->Search(nan, params).status().code(), Status::Code::kInvalidArgument);
  params.nprobe = 4;  // no IVF
  EXPECT_EQ((*index)->Search(q, params).status().code(), Status::Code::kInvalidArgument);
}

TEST(QuantizedSearchTest, RescoredShortlistRecallsExact) {
  for (Metric metric : {Metric::kDot, Metric::kL2, Metric::kCosine}) {
    const size_t n = 2000, dim = 48, k = 10;
    VectorField field{"emb", dim, metric, Storage::kF32};
    std::vector<float> data = RandomVectors(n, dim, 5);
    std::vector<uint32_t> docs(n);
    for (size_t i = 0; i < n; ++i) docs[i] = static_cast<uint32_t>(i);
    auto index = VectorIndex::Build(field, docs, data);
    ASSERT_TRUE(index.ok());
    std::vector<float> queries = RandomVectors(30, dim, 6);
    VectorSearchParams exact, quant;
    exact.k = quant.k = k;
    quant.quantized = true;
    quant.rescore = 8;
    size_t found = 0;
    for (size_t qi = 0; qi < 30; ++qi) {
      std::span<const float> q(queries.data() + qi * dim, dim);
      auto want = (*index)->Search(q, exact);
      auto got = (*index)->Search(q, quant);
      ASSERT_TRUE(want.ok() && got.ok());
      for (const Neighbor& h : *got) {
        // Re-scored hits carry exact scores.
        bool in = false;
        for (const Neighbor& w : *want) in |= (w.doc == h.doc);
        found += in;
        if (in) {
          for (const Neighbor& w : *want) {
            if (w.doc == h.doc) {
              EXPECT_FLOAT_EQ(w.score, h.score);
            }
          }
        }
      }
    }
    EXPECT_GE(found, 30 * k * 95 / 100) << MetricName(metric);
  }
}

TEST(KMeansTest, DeterministicAndSeparatesClusters) {
  const size_t n = 3000, dim = 16, k = 8;
  std::vector<float> data = Clustered(n, dim, k, 42);
  KMeansOptions options;
  options.k = k;
  options.threads = 1;
  auto a = TrainKMeans(data, dim, Metric::kL2, options);
  options.threads = 3;
  auto b = TrainKMeans(data, dim, Metric::kL2, options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b) << "thread count changed the result";
  options.seed = 7;
  auto c = TrainKMeans(data, dim, Metric::kL2, options);
  ASSERT_TRUE(c.ok());
  // Every true cluster lands in one k-means cluster.
  std::vector<uint32_t> assign(n);
  AssignNearest(data.data(), n, a->data(), k, dim, Metric::kL2, 1, assign.data());
  for (size_t i = k; i < n; ++i) EXPECT_EQ(assign[i], assign[i % k]) << i;
  std::vector<uint32_t> firsts(assign.begin(), assign.begin() + k);
  std::sort(firsts.begin(), firsts.end());
  EXPECT_EQ(std::unique(firsts.begin(), firsts.end()) - firsts.begin(), static_cast<long>(k));
  options.k = n + 1;
  EXPECT_EQ(TrainKMeans(data, dim, Metric::kL2, options).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(KMeansTest, SamplesAndHandlesDuplicates) {
  // 50 copies of 3 points, 5 clusters: empty clusters get split, no NaN.
  std::vector<float> data;
  for (int i = 0; i < 150; ++i) {
    data.push_back(static_cast<float>(i % 3));
    data.push_back(1.0f);
  }
  KMeansOptions options;
  options.k = 5;
  options.max_points_per_centroid = 10;  // a 50-point sample
  auto c = TrainKMeans(data, 2, Metric::kCosine, options);
  ASSERT_TRUE(c.ok());
  for (float x : *c) EXPECT_TRUE(std::isfinite(x));
}

// With kAssignShortlistMinK or more centroids AssignNearest ranks them in
// bf16 and re-scores a shortlist in float: it still picks the best centroid
// (oracle: double scores), but where two are within float error.
TEST(KMeansTest, ShortlistAssignmentFindsNearest) {
  const size_t n = 2000, dim = 48, k = kAssignShortlistMinK + 44;
  std::vector<float> data = Clustered(n, dim, 50, 21);
  std::vector<float> centroids = Clustered(k, dim, 50, 22);
  for (Metric metric : {Metric::kDot, Metric::kL2}) {
    std::vector<uint32_t> got(n);
    AssignNearest(data.data(), n, centroids.data(), k, dim, metric, 3, got.data());
    for (size_t i = 0; i < n; ++i) {
      double best = -1e300;
      for (size_t c = 0; c < k; ++c) {
        best = std::max(best, RefScore(metric, data.data() + i * dim, centroids.data() + c * dim,
                                       dim));
      }
      const double chosen =
          RefScore(metric, data.data() + i * dim, centroids.data() + got[i] * dim, dim);
      EXPECT_NEAR(chosen, best, 1e-4 * std::max(1.0, std::fabs(best)))
          << MetricName(metric) << " point " << i;
    }
  }
}

// With and without full passes, the centroids and the assignment are the
// same on 1 and 3 threads.
TEST(KMeansTest, FullPassesDeterministicAcrossThreads) {
  const size_t n = 4000, dim = 24, k = 40;
  std::vector<float> data = Clustered(n, dim, 60, 5);
  for (size_t i = 0; i < n; ++i) Normalize(data.data() + i * dim, dim);
  for (int full_passes : {0, 1, 2}) {
    SCOPED_TRACE("full passes " + std::to_string(full_passes));
    KMeansOptions options;
    options.k = k;
    options.iterations = 5;
    options.max_points_per_centroid = 20;  // an 800-point sample
    options.full_passes = full_passes;
    options.threads = 1;
    std::vector<uint32_t> assign_a, assign_b;
    auto a = TrainKMeans(data, dim, Metric::kCosine, options, &assign_a);
    options.threads = 3;
    auto b = TrainKMeans(data, dim, Metric::kCosine, options, &assign_b);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(assign_a, assign_b);
    ASSERT_EQ(assign_a.size(), n);
    if (full_passes == 0) {  // the nearest of the returned centroids
      std::vector<uint32_t> nearest(n);
      AssignNearest(data.data(), n, a->data(), k, dim, Metric::kCosine, 1, nearest.data());
      EXPECT_EQ(assign_a, nearest);
    }
  }
  KMeansOptions bad;
  bad.k = k;
  bad.full_passes = -1;
  EXPECT_EQ(TrainKMeans(data, dim, Metric::kCosine, bad).status().code(),
            Status::Code::kInvalidArgument);
}

// A full pass makes each centroid the mean of the points that the
// sample's centroids assign to it, and returns that assignment (oracle:
// the same training without the pass, then the means by hand in double).
TEST(KMeansTest, FullPassCentroidsAreListMeans) {
  const size_t n = 3000, dim = 16, k = 12;
  std::vector<float> data = Clustered(n, dim, 30, 9);
  KMeansOptions options;
  options.k = k;
  options.iterations = 3;
  options.max_points_per_centroid = 25;  // a 300-point sample
  options.full_passes = 0;
  auto before = TrainKMeans(data, dim, Metric::kL2, options);
  options.full_passes = 1;
  std::vector<uint32_t> lists;
  auto after = TrainKMeans(data, dim, Metric::kL2, options, &lists);
  ASSERT_TRUE(before.ok() && after.ok());
  std::vector<uint32_t> assign(n);
  AssignNearest(data.data(), n, before->data(), k, dim, Metric::kL2, 1, assign.data());
  EXPECT_EQ(lists, assign) << "the returned lists are the pass's assignment";
  std::vector<double> sums(k * dim, 0.0);
  std::vector<size_t> counts(k, 0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < dim; ++j) sums[assign[i] * dim + j] += data[i * dim + j];
    ++counts[assign[i]];
  }
  for (size_t c = 0; c < k; ++c) {
    ASSERT_GT(counts[c], 0u) << c;
    for (size_t j = 0; j < dim; ++j) {
      EXPECT_NEAR((*after)[c * dim + j], sums[c * dim + j] / counts[c], 1e-5) << c << " " << j;
    }
  }
}

// Batch equals single (oracle): for every storage, metric, flat and IVF at
// several nprobe, with and without an allow filter, on 1 and 3 threads,
// SearchBatch returns Search's hits for each query with the same score
// bits. Dimensions 40 and 384 cover a partial 16-lane chunk and the
// benchmark's size; 5 queries per thread chunk leave partial 4-query tiles.
TEST(SearchBatchTest, EqualsSearchPerQueryEveryStorage) {
  for (Storage storage : {Storage::kF32, Storage::kF16, Storage::kInt8}) {
    for (Metric metric : {Metric::kDot, Metric::kCosine, Metric::kL2}) {
      for (size_t dim : {40, 384}) {
        SCOPED_TRACE(std::string(StorageName(storage)) + " " + std::string(MetricName(metric)) +
                     " dim " + std::to_string(dim));
        const size_t n = dim == 384 ? 1200 : 3000, nlist = 24, nq = 13;
        VectorField field{"emb", static_cast<uint32_t>(dim), metric, storage};
        std::vector<float> data = Clustered(n, dim, 30, dim);
        std::vector<uint32_t> docs(n);
        for (size_t i = 0; i < n; ++i) docs[i] = static_cast<uint32_t>((i * 7919) % n);
        std::vector<float> train = data;
        if (metric == Metric::kCosine) {
          for (size_t i = 0; i < n; ++i) Normalize(train.data() + i * dim, dim);
        }
        KMeansOptions options;
        options.k = nlist;
        options.iterations = 4;
        auto centroids = TrainKMeans(train, dim, metric, options);
        ASSERT_TRUE(centroids.ok());
        auto flat = VectorIndex::Build(field, docs, data);
        auto ivf = VectorIndex::Build(field, docs, data, *centroids);
        ASSERT_TRUE(flat.ok() && ivf.ok());
        std::vector<float> queries = RandomVectors(nq, dim, dim + 5);
        std::vector<bool> allow(n);
        for (size_t d = 0; d < n; ++d) allow[d] = d % 3 != 0;
        for (size_t nprobe : {0, 1, 3, 24}) {
          for (bool filtered : {false, true}) {
            VectorSearchParams params;
            params.k = 10;
            params.nprobe = nprobe;
            params.allow = filtered ? &allow : nullptr;
            const VectorIndex& index = nprobe == 0 ? **flat : **ivf;
            for (unsigned threads : {1u, 3u}) {
              std::vector<std::vector<Neighbor>> batch;
              ASSERT_TRUE(index.SearchBatch(queries, params, threads, &batch).ok());
              ASSERT_EQ(batch.size(), nq);
              for (size_t qi = 0; qi < nq; ++qi) {
                auto single = index.Search({queries.data() + qi * dim, dim}, params);
                ASSERT_TRUE(single.ok());
                ASSERT_EQ(single->size(), batch[qi].size());
                for (size_t i = 0; i < single->size(); ++i) {
                  EXPECT_EQ((*single)[i].doc, batch[qi][i].doc)
                      << "nprobe " << nprobe << " query " << qi << " rank " << i;
                  EXPECT_EQ(std::bit_cast<uint32_t>((*single)[i].score),
                            std::bit_cast<uint32_t>(batch[qi][i].score))
                      << "nprobe " << nprobe << " query " << qi << " rank " << i;
                  if (filtered) {
                    EXPECT_TRUE(allow[(*single)[i].doc]);
                  }
                }
              }
            }
          }
        }
        // Stored rows take the storage's bytes, and row_storage() is them:
        // f32 dot rows are the input vectors, in doc order.
        EXPECT_EQ((*flat)->row_bytes(), n * RowBytes(static_cast<RowType>(storage), dim));
        EXPECT_EQ((*flat)->row_storage().size(), (*flat)->row_bytes());
        EXPECT_EQ((*ivf)->row_storage().size(), (*ivf)->row_bytes());
        if (storage == Storage::kF32 && metric == Metric::kDot) {
          const std::byte* rows = (*flat)->row_storage().data();
          for (size_t i = 0; i < n; ++i) {
            ASSERT_EQ(std::memcmp(rows + size_t{docs[i]} * dim * sizeof(float),
                                  data.data() + i * dim, dim * sizeof(float)),
                      0)
                << "row of doc " << docs[i];
          }
        }
      }
    }
  }
}

// f16 and int8 rows search close to f32 ones: the same top hit for most
// queries, scores within the encodings' error.
TEST(SearchBatchTest, CompactStorageTracksF32) {
  const size_t n = 2000, dim = 64, nq = 40;
  std::vector<float> data = Clustered(n, dim, 20, 8);
  std::vector<uint32_t> docs(n);
  for (size_t i = 0; i < n; ++i) docs[i] = static_cast<uint32_t>(i);
  std::vector<float> queries = Clustered(nq, dim, 20, 9);
  VectorSearchParams params;
  params.k = 10;
  std::vector<std::vector<Neighbor>> want;
  auto f32 = VectorIndex::Build({"emb", dim, Metric::kCosine, Storage::kF32}, docs, data);
  ASSERT_TRUE(f32.ok());
  ASSERT_TRUE((*f32)->SearchBatch(queries, params, 1, &want).ok());
  for (Storage storage : {Storage::kF16, Storage::kInt8}) {
    auto index = VectorIndex::Build({"emb", dim, Metric::kCosine, storage}, docs, data);
    ASSERT_TRUE(index.ok());
    std::vector<std::vector<Neighbor>> got;
    ASSERT_TRUE((*index)->SearchBatch(queries, params, 1, &got).ok());
    size_t same_top = 0;
    for (size_t qi = 0; qi < nq; ++qi) {
      same_top += got[qi][0].doc == want[qi][0].doc;
      EXPECT_NEAR(got[qi][0].score, want[qi][0].score, storage == Storage::kF16 ? 1e-3 : 2e-2);
    }
    EXPECT_GE(same_top, nq * 9 / 10) << StorageName(storage);
  }
}

class IvfSearchTest : public testing::TestWithParam<Metric> {};

TEST_P(IvfSearchTest, AllListsEqualsFlatAndRecallGrowsWithNprobe) {
  const Metric metric = GetParam();
  const size_t n = 4000, dim = 32, nlist = 16, k = 10;
  VectorField field{"emb", dim, metric, Storage::kF32};
  std::vector<float> data = Clustered(n, dim, 40, 3);
  std::vector<uint32_t> docs(n);
  for (size_t i = 0; i < n; ++i) docs[i] = static_cast<uint32_t>(n - i);  // reverse order
  std::vector<float> train = data;
  if (metric == Metric::kCosine) {
    for (size_t i = 0; i < n; ++i) Normalize(train.data() + i * dim, dim);
  }
  KMeansOptions options;
  options.k = nlist;
  auto centroids = TrainKMeans(train, dim, metric, options);
  ASSERT_TRUE(centroids.ok());
  auto flat = VectorIndex::Build(field, docs, data);
  auto ivf = VectorIndex::Build(field, docs, data, *centroids);
  ASSERT_TRUE(flat.ok() && ivf.ok());
  EXPECT_EQ((*ivf)->nlist(), nlist);
  const IvfStats stats = (*ivf)->ivf_stats();
  EXPECT_EQ(stats.vectors, n);
  EXPECT_GE(stats.imbalance, 1.0);
  std::vector<float> queries = Clustered(50, dim, 40, 11);
  VectorSearchParams exact, all, one;
  exact.k = all.k = one.k = k;
  all.nprobe = nlist;
  one.nprobe = 1;
  std::vector<std::vector<Neighbor>> want, got_all, got_one;
  ASSERT_TRUE((*flat)->SearchBatch(queries, exact, 2, &want).ok());
  ASSERT_TRUE((*ivf)->SearchBatch(queries, all, 2, &got_all).ok());
  ASSERT_TRUE((*ivf)->SearchBatch(queries, one, 2, &got_one).ok());
  size_t recall_one = 0;
  for (size_t qi = 0; qi < 50; ++qi) {
    EXPECT_EQ(got_all[qi], want[qi]) << "nprobe = nlist differs from flat, query " << qi;
    for (const Neighbor& h : got_one[qi]) {
      for (const Neighbor& w : want[qi]) recall_one += (w.doc == h.doc);
    }
  }
  EXPECT_GT(recall_one, 0u);
  EXPECT_LE(recall_one, 50 * k);
  // Quantized IVF with every list re-scores to the exact scores.
  all.quantized = true;
  all.rescore = 10;
  auto q = (*ivf)->Search({queries.data(), dim}, all);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)[0], want[0][0]);
}

INSTANTIATE_TEST_SUITE_P(Metrics, IvfSearchTest,
                         testing::Values(Metric::kDot, Metric::kCosine, Metric::kL2));

}  // namespace
}  // namespace cascade::dense
