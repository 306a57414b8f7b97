// Oracle tests for query/searcher.h: every pruning algorithm (WAND,
// block-max WAND, block-max MaxScore, and kAuto's choice) returns exactly
// the exhaustive top k: the same internal doc ids in the same order and
// bit-identical float scores, on random corpora written through the real
// IndexWriter into RocksDB.
//
// The corpora (seeded, so failures replay) stress what pruning can get
// wrong: Zipf-distributed terms (long and short lists, many blocks), a
// 5-word vocabulary and copies of the same document (masses of exact ties),
// deletes and replacements, several segments, both length norms. Queries
// have 1-8 terms, repeated terms (query weight > 1) and unknown terms;
// k in {1, 10, 100, 1000}; k1 and b overridden at random, corners included.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/store.h"
#include "query/searcher.h"

namespace cascade::query {
namespace {

namespace fs = std::filesystem;

struct CorpusSpec {
  uint32_t seed = 1;
  uint32_t docs = 3000;
  uint32_t vocab = 2000;     // words "t0".."t{vocab-1}", Zipf-distributed
  uint32_t max_length = 120; // words per document, uniform in [1, max]
  uint32_t templates = 0;    // > 0: every document is one of this many texts
  uint32_t segments = 1;     // flushed segments (roughly equal)
  uint32_t deletes = 0;      // documents deleted by id
  uint32_t replaces = 0;     // documents re-added under an existing id
  index::LengthNorm norm = index::LengthNorm::kLucene;
};

std::string Word(uint32_t i) { return "t" + std::to_string(i); }

// Zipf(1) sampler over [0, n).
class Zipf {
 public:
  explicit Zipf(uint32_t n) : cdf_(n) {
    double sum = 0;
    for (uint32_t i = 0; i < n; ++i) cdf_[i] = sum += 1.0 / (i + 1);
    for (double& c : cdf_) c /= sum;
  }
  uint32_t operator()(std::mt19937& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<uint32_t>(
        std::min<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin(),
                         cdf_.size() - 1));
  }

 private:
  std::vector<double> cdf_;
};

class TopKOracleTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("topk_test_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override {
    searcher_.reset();
    reader_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void Build(const CorpusSpec& spec) {
    const fs::path dir = root_ / ("seed" + std::to_string(spec.seed));
    index::StoreOptions options;
    options.create_if_missing = true;
    options.create_options.analyzer.stemmer = "none";
    options.create_options.analyzer.stopwords = false;
    options.create_options.length_norm = spec.norm;
    options.block_cache_mb = 8;
    Result<std::shared_ptr<index::Store>> store = index::Store::Open(dir.string(), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::mt19937 rng(spec.seed);
    Zipf zipf(spec.vocab);
    const auto text = [&] {
      const uint32_t len =
          std::uniform_int_distribution<uint32_t>(1, spec.max_length)(rng);
      std::string t;
      for (uint32_t i = 0; i < len; ++i) t += Word(zipf(rng)) + " ";
      return t;
    };
    std::vector<std::string> templates;
    for (uint32_t i = 0; i < spec.templates; ++i) templates.push_back(text());
    {
      Result<std::unique_ptr<index::IndexWriter>> writer =
          index::IndexWriter::Open(*store, index::WriterOptions());
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      const uint32_t per_segment = (spec.docs + spec.segments - 1) / spec.segments;
      for (uint32_t d = 0; d < spec.docs; ++d) {
        index::Document doc;
        doc.id = "d" + std::to_string(d);
        doc.text = spec.templates
                       ? templates[std::uniform_int_distribution<uint32_t>(
                             0, spec.templates - 1)(rng)]
                       : text();
        ASSERT_TRUE((*writer)->Add(doc).ok());
        if ((d + 1) % per_segment == 0) {
          ASSERT_TRUE((*writer)->Flush().ok());
        }
      }
      std::uniform_int_distribution<uint32_t> any(0, spec.docs - 1);
      for (uint32_t i = 0; i < spec.deletes; ++i) {
        // NotFound for an id deleted twice is fine.
        (*writer)->Delete("d" + std::to_string(any(rng))).IgnoreError();
      }
      for (uint32_t i = 0; i < spec.replaces; ++i) {
        index::Document doc;
        doc.id = "d" + std::to_string(any(rng));
        doc.text = text();
        ASSERT_TRUE((*writer)->Add(doc).ok());
      }
      ASSERT_TRUE((*writer)->Commit().ok());
    }
    Result<std::unique_ptr<index::IndexReader>> reader = index::IndexReader::Open(*store);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::shared_ptr<const index::IndexReader>(std::move(*reader));
    Result<std::unique_ptr<Searcher>> searcher = Searcher::Create(reader_);
    ASSERT_TRUE(searcher.ok()) << searcher.status().ToString();
    searcher_ = std::move(*searcher);
  }

  TopDocs Run(const std::vector<std::pair<std::string, uint32_t>>& terms,
              const SearchParams& params) {
    Result<TopDocs> top = searcher_->SearchTerms(terms, params);
    EXPECT_TRUE(top.ok()) << top.status().ToString();
    return top.ok() ? std::move(*top) : TopDocs();
  }

  // Random queries against the built corpus; every algorithm against
  // exhaustive. Returns how many comparisons ran.
  int CheckRandomQueries(const CorpusSpec& spec, int queries) {
    std::mt19937 rng(spec.seed * 7919 + 1);
    Zipf zipf(spec.vocab);
    int checks = 0;
    for (int q = 0; q < queries; ++q) {
      const uint32_t nterms = std::uniform_int_distribution<uint32_t>(1, 8)(rng);
      std::vector<std::pair<std::string, uint32_t>> terms;
      for (uint32_t i = 0; i < nterms; ++i) {
        const uint32_t pick = std::uniform_int_distribution<uint32_t>(0, 9)(rng);
        std::string w = pick == 0 ? "absent" + std::to_string(i)  // unknown term
                        : pick < 4
                            ? Word(std::uniform_int_distribution<uint32_t>(
                                  0, spec.vocab - 1)(rng))  // rare-ish
                            : Word(zipf(rng));              // frequent
        auto it = std::find_if(terms.begin(), terms.end(),
                               [&](const auto& t) { return t.first == w; });
        if (it != terms.end()) {
          ++it->second;  // a repeated query term
        } else {
          terms.emplace_back(w, 1);
        }
      }
      SearchParams params;
      params.k = std::vector<size_t>{1, 10, 100, 1000}[q % 4];
      switch (q % 5) {
        case 0: break;  // the index's k1 and b
        case 1: params.k1 = 0.0; params.b = 0.0; break;
        case 2: params.k1 = 3.0; params.b = 1.0; break;
        default:
          params.k1 = std::uniform_real_distribution<double>(0, 3)(rng);
          params.b = std::uniform_real_distribution<double>(0, 1)(rng);
      }
      params.algorithm = Algorithm::kExhaustive;
      const TopDocs want = Run(terms, params);
      EXPECT_TRUE(want.total_hits_exact);
      for (Algorithm a : {Algorithm::kWand, Algorithm::kBmw, Algorithm::kMaxScore,
                          Algorithm::kAuto}) {
        for (uint64_t threshold : {uint64_t{0}, uint64_t{1000}}) {
          SearchParams p = params;
          p.algorithm = a;
          p.total_hits_threshold = threshold;
          const TopDocs got = Run(terms, p);
          std::string what = "seed " + std::to_string(spec.seed) + " query " +
                             std::to_string(q) + " " + std::string(AlgorithmName(a)) +
                             " k " + std::to_string(p.k) + " threshold " +
                             std::to_string(threshold);
          ExpectSame(want, got, what);
          ++checks;
        }
      }
    }
    return checks;
  }

  static void ExpectSame(const TopDocs& want, const TopDocs& got,
                         const std::string& what) {
    ASSERT_EQ(got.hits.size(), want.hits.size()) << what;
    for (size_t i = 0; i < want.hits.size(); ++i) {
      ASSERT_EQ(got.hits[i].doc, want.hits[i].doc) << what << " rank " << i;
      // Bit-identical, not merely close.
      uint32_t a, b;
      std::memcpy(&a, &got.hits[i].score, 4);
      std::memcpy(&b, &want.hits[i].score, 4);
      ASSERT_EQ(a, b) << what << " rank " << i << ": " << got.hits[i].score
                      << " vs " << want.hits[i].score;
    }
    if (got.total_hits_exact) {
      EXPECT_EQ(got.total_hits, want.total_hits) << what;
    } else {
      EXPECT_LE(got.total_hits, want.total_hits) << what;
    }
  }

  void ExpectNoDeletedHits() {
    // Every hit of a broad query is live.
    std::vector<std::pair<std::string, uint32_t>> terms = {{"t0", 1}, {"t1", 1}, {"t2", 1}};
    for (Algorithm a : {Algorithm::kExhaustive, Algorithm::kWand, Algorithm::kBmw,
                        Algorithm::kMaxScore}) {
      SearchParams p;
      p.k = 1000;
      p.algorithm = a;
      p.total_hits_threshold = 0;
      for (const ScoredDoc& hit : Run(terms, p).hits) {
        EXPECT_FALSE(reader_->IsDeleted(hit.doc)) << AlgorithmName(a);
      }
    }
  }

  fs::path root_;
  std::shared_ptr<const index::IndexReader> reader_;
  std::unique_ptr<Searcher> searcher_;
};

TEST_F(TopKOracleTest, ZipfCorpusOneSegment) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    CorpusSpec spec;
    spec.seed = seed;
    Build(spec);
    EXPECT_GT(CheckRandomQueries(spec, 60), 0);
  }
}

TEST_F(TopKOracleTest, ZipfCorpusSegmentsDeletesAndReplacements) {
  for (uint32_t seed : {11u, 12u, 13u}) {
    CorpusSpec spec;
    spec.seed = seed;
    spec.segments = 4;
    spec.deletes = 400;
    spec.replaces = 200;
    Build(spec);
    ASSERT_GE(reader_->segments().size(), 4u);
    ASSERT_GT(reader_->stats().deleted_docs, 0u);
    CheckRandomQueries(spec, 60);
    ExpectNoDeletedHits();
  }
}

TEST_F(TopKOracleTest, ExactLengthNorm) {
  CorpusSpec spec;
  spec.seed = 21;
  spec.norm = index::LengthNorm::kExact;
  spec.segments = 2;
  spec.deletes = 100;
  Build(spec);
  CheckRandomQueries(spec, 60);
}

TEST_F(TopKOracleTest, TinyVocabularyManyTies) {
  for (uint32_t seed : {31u, 32u}) {
    CorpusSpec spec;
    spec.seed = seed;
    spec.vocab = 5;
    spec.max_length = 6;
    spec.segments = 3;
    spec.deletes = 50;
    Build(spec);
    CheckRandomQueries(spec, 60);
    ExpectNoDeletedHits();
  }
}

TEST_F(TopKOracleTest, IdenticalDocumentsAllTie) {
  for (uint32_t seed : {41u, 42u}) {
    CorpusSpec spec;
    spec.seed = seed;
    spec.vocab = 30;
    spec.templates = 3;  // every document is one of 3 texts
    spec.segments = 3;
    spec.deletes = 30;
    Build(spec);
    CheckRandomQueries(spec, 60);
  }
}

// With the default threshold (1000), a query with fewer matches than that
// reports an exact count whatever the algorithm; with threshold 0 and a
// small k the pruning algorithms skip, and say so.
TEST_F(TopKOracleTest, TotalHitsExactUpToTheThreshold) {
  CorpusSpec spec;
  spec.seed = 51;
  spec.docs = 5000;
  Build(spec);
  const std::vector<std::pair<std::string, uint32_t>> rare = {{"t1500", 1}, {"t1700", 1}};
  const std::vector<std::pair<std::string, uint32_t>> common = {{"t0", 1}, {"t1", 1}, {"t2", 1}};
  SearchParams p;
  p.k = 10;
  p.algorithm = Algorithm::kExhaustive;
  const TopDocs rare_all = Run(rare, p);
  const TopDocs common_all = Run(common, p);
  ASSERT_LT(rare_all.total_hits, 1000u);
  ASSERT_GT(common_all.total_hits, 2000u);
  for (Algorithm a : {Algorithm::kWand, Algorithm::kBmw, Algorithm::kMaxScore}) {
    p.algorithm = a;
    p.total_hits_threshold = 1000;
    TopDocs got = Run(rare, p);
    EXPECT_TRUE(got.total_hits_exact) << AlgorithmName(a);
    EXPECT_EQ(got.total_hits, rare_all.total_hits) << AlgorithmName(a);
    got = Run(common, p);
    EXPECT_GE(got.total_hits, 1000u) << AlgorithmName(a);
    EXPECT_LE(got.total_hits, common_all.total_hits) << AlgorithmName(a);
    EXPECT_EQ(got.total_hits_exact, got.total_hits == common_all.total_hits)
        << AlgorithmName(a);
    p.total_hits_threshold = 0;
    got = Run(common, p);
    EXPECT_FALSE(got.total_hits_exact) << AlgorithmName(a);
    EXPECT_LT(got.total_hits, common_all.total_hits) << AlgorithmName(a);
    ExpectSame(common_all, got, std::string(AlgorithmName(a)));
  }
}

TEST(AlgorithmNameTest, RoundTripsAndRefusesUnknownNames) {
  for (Algorithm a : {Algorithm::kAuto, Algorithm::kExhaustive, Algorithm::kWand,
                      Algorithm::kBmw, Algorithm::kMaxScore}) {
    Result<Algorithm> parsed = ParseAlgorithm(AlgorithmName(a));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, a);
  }
  Result<Algorithm> bad = ParseAlgorithm("fast");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("maxscore"), std::string::npos);
}

}  // namespace
}  // namespace cascade::query
