// Hybrid fusion against hand-computed examples, and dense/hybrid searches
// through the public library. Fixture: four documents whose text and 2-d
// vectors disagree on purpose:
//   a "apple pie"            (1, 0)
//   b "apple apple tart"     (0.8, 0.6)
//   c "banana bread"         (0, 1)
//   d "cherry apple crumble" (0.6, 0.8)
// BM25 "apple" ranks b (tf 2), then a and d (a shorter); query vector (1, 0)
// ranks a, b, d, c by cosine.
#include "query/fusion.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "cascade/engine.h"

namespace cascade::query {
namespace {

namespace fs = std::filesystem;

TEST(FusionTest, ReciprocalRankFusionByHand) {
  // bm25: 7, 3, 5; dense: 3, 9. k = 60.
  const std::vector<RankedDoc> bm25 = {{7, 9.0f}, {3, 5.0f}, {5, 1.0f}};
  const std::vector<RankedDoc> dense = {{3, 0.9f}, {9, 0.8f}};
  auto fused = Fuse(bm25, dense, {});
  ASSERT_TRUE(fused.ok());
  ASSERT_EQ(fused->size(), 4u);
  // 3: 1/62 + 1/61; 7: 1/61; 9: 1/62; 5: 1/63.
  EXPECT_EQ((*fused)[0].doc, 3u);
  EXPECT_NEAR((*fused)[0].score, 1.0 / 62 + 1.0 / 61, 1e-12);
  EXPECT_EQ((*fused)[0].bm25_rank, 2u);
  EXPECT_EQ((*fused)[0].dense_rank, 1u);
  EXPECT_FLOAT_EQ((*fused)[0].dense_score, 0.9f);
  EXPECT_EQ((*fused)[1].doc, 7u);
  EXPECT_FALSE((*fused)[1].dense_rank.has_value());
  EXPECT_EQ((*fused)[2].doc, 9u);
  EXPECT_EQ((*fused)[3].doc, 5u);
  // k = 1 changes the weights: 7: 1/2 = 0.5; 3: 1/3 + 1/2 = 0.833.
  FusionOptions small;
  small.rrf_k = 1;
  fused = Fuse(bm25, dense, small);
  ASSERT_TRUE(fused.ok());
  EXPECT_NEAR((*fused)[0].score, 1.0 / 3 + 1.0 / 2, 1e-12);
  EXPECT_NEAR((*fused)[1].score, 0.5, 1e-12);
}

TEST(FusionTest, WeightedMinMaxAndZScoreByHand) {
  const std::vector<RankedDoc> bm25 = {{1, 10.0f}, {2, 6.0f}, {3, 2.0f}};
  const std::vector<RankedDoc> dense = {{3, 0.9f}, {4, 0.5f}, {1, 0.1f}};
  FusionOptions options;
  options.method = FusionMethod::kWeighted;
  options.dense_weight = 0.25;
  auto fused = Fuse(bm25, dense, options);
  ASSERT_TRUE(fused.ok());
  // min-max: bm25 1 -> 1, 2 -> 0.5, 3 -> 0; dense 3 -> 1, 4 -> 0.5, 1 -> 0;
  // missing -> 0. Scores: 1: 0.75; 2: 0.375; 3: 0.25; 4: 0.125.
  ASSERT_EQ(fused->size(), 4u);
  const double want_minmax[][2] = {{1, 0.75}, {2, 0.375}, {3, 0.25}, {4, 0.125}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*fused)[i].doc, want_minmax[i][0]) << i;
    EXPECT_NEAR((*fused)[i].score, want_minmax[i][1], 1e-6) << i;
  }
  // z-score: bm25 mean 6, sd sqrt(32/3) = 3.266: 1 -> 1.2247, 2 -> 0,
  // 3 -> -1.2247. dense mean 0.5, sd 0.3266: 3 -> 1.2247, 4 -> 0, 1 -> -1.2247.
  // Missing: each list's lowest, -1.2247. w = 0.5:
  // 1: 0; 2: (0 - 1.2247) / 2 = -0.612; 3: 0; 4: -0.612. Ties by doc id.
  options.normalization = ScoreNormalization::kZScore;
  options.dense_weight = 0.5;
  fused = Fuse(bm25, dense, options);
  ASSERT_TRUE(fused.ok());
  // (Float inputs make the pairs tie only to about 1e-7: check each pair
  // as a set.)
  const double z = std::sqrt(1.5);
  std::vector<uint32_t> top = {(*fused)[0].doc, (*fused)[1].doc};
  std::vector<uint32_t> bottom = {(*fused)[2].doc, (*fused)[3].doc};
  std::sort(top.begin(), top.end());
  std::sort(bottom.begin(), bottom.end());
  EXPECT_EQ(top, (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(bottom, (std::vector<uint32_t>{2, 4}));
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR((*fused)[i].score, i < 2 ? 0 : -z / 2, 1e-6) << i;
  }
  options.dense_weight = 1.5;
  EXPECT_FALSE(Fuse(bm25, dense, options).ok());
  options.method = FusionMethod::kRrf;
  options.rrf_k = 0;
  EXPECT_FALSE(Fuse(bm25, dense, options).ok());
  EXPECT_FALSE(ParseFusionMethod("max").ok());
  EXPECT_FALSE(ParseScoreNormalization("l2").ok());
}

class DenseEngineTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::path(testing::TempDir()) /
             ("dense_engine_test_" + std::to_string(getpid()) + "_" +
              testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    fs::remove_all(path_);
    OpenOptions options;
    options.create_if_missing = true;
    options.analysis.stemmer = "none";
    options.vector_fields = {"emb:2:cosine"};
    auto index = Index::Open(path_, options);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = std::move(*index);
    auto doc = [](std::string id, std::string text, std::vector<float> v) {
      Document d;
      d.id = std::move(id);
      d.text = std::move(text);
      d.vectors = {{"emb", std::move(v)}};
      return d;
    };
    const std::vector<Document> docs = {doc("a", "apple pie", {1, 0}),
                                        doc("b", "apple apple tart", {0.8f, 0.6f}),
                                        doc("c", "banana bread", {0, 1}),
                                        doc("d", "cherry apple crumble", {0.6f, 0.8f})};
    ASSERT_TRUE(index_->AddBatch(docs).ok());
    ASSERT_TRUE(index_->Commit().ok());
  }
  void TearDown() override {
    index_.reset();
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  static std::vector<std::string> Ids(const SearchResult& r) {
    std::vector<std::string> ids;
    for (const Hit& h : r.hits) ids.push_back(h.id);
    return ids;
  }

  std::string path_;
  std::unique_ptr<Index> index_;
};

TEST_F(DenseEngineTest, KnnAndLexicalFilter) {
  SearchOptions options;
  options.mode = "dense";
  options.vector = {1, 0};
  options.explain = true;
  auto result = index_->Search("", options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(Ids(*result), (std::vector<std::string>{"a", "b", "d", "c"}));
  EXPECT_FLOAT_EQ(result->hits[1].score, 0.8f);
  ASSERT_EQ(result->hits[1].explain.size(), 1u);
  EXPECT_EQ(result->hits[1].explain[0].stage, "dense");
  EXPECT_EQ(result->hits[1].explain[0].rank, 2u);
  // Filtered by "apple": c goes.
  result = index_->Search("apple", options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(Ids(*result), (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_EQ(result->total_hits, 3u);
  // A deleted document disappears from kNN after the commit.
  ASSERT_TRUE(index_->Delete("a").ok());
  ASSERT_TRUE(index_->Commit().ok());
  result = index_->Search("", options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(Ids(*result), (std::vector<std::string>{"b", "d", "c"}));
}

TEST_F(DenseEngineTest, HybridRrfWithExplain) {
  SearchOptions options;
  options.mode = "hybrid";
  options.vector = {1, 0};
  options.explain = true;
  auto result = index_->Search("apple", options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // BM25: b 1, a 2, d 3 (check below). Dense: a 1, b 2, d 3, c 4.
  // RRF: a = b = 1/61 + 1/62 (tie: lower doc id, a was added first), d = 2/63, c = 1/64.
  ASSERT_EQ(Ids(*result), (std::vector<std::string>{"a", "b", "d", "c"}));
  const Hit& a = result->hits[0];
  ASSERT_EQ(a.explain.size(), 2u);
  EXPECT_EQ(a.explain[0].stage, "bm25");
  EXPECT_EQ(a.explain[0].rank, 2u);
  EXPECT_EQ(a.explain[1].stage, "dense");
  EXPECT_EQ(a.explain[1].rank, 1u);
  EXPECT_FLOAT_EQ(a.explain[1].score, 1.0f);
  EXPECT_NEAR(a.score, 1.0 / 61 + 1.0 / 62, 1e-6);
  const Hit& c = result->hits[3];
  EXPECT_FALSE(c.explain[0].scored);  // no "apple"
  EXPECT_NEAR(c.score, 1.0 / 64, 1e-6);
  // Weighted, all dense: the kNN order.
  options.fusion = "weighted";
  options.dense_weight = 1;
  result = index_->Search("apple", options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(Ids(*result), (std::vector<std::string>{"a", "b", "d", "c"}));
  // All BM25: b first. Min-max maps BM25's last (d) to 0, the value of a
  // document absent from BM25 (c): they tie at 0, c first by doc id.
  options.dense_weight = 0;
  result = index_->Search("apple", options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(Ids(*result), (std::vector<std::string>{"b", "a", "c", "d"}));
  EXPECT_FLOAT_EQ(result->hits[0].score, 1.0f);
  EXPECT_FLOAT_EQ(result->hits[2].score, 0.0f);
  EXPECT_FLOAT_EQ(result->hits[3].score, 0.0f);
}

TEST_F(DenseEngineTest, BadRequestsAreRefused) {
  SearchOptions options;
  options.mode = "dense";
  EXPECT_EQ(index_->Search("", options).status().code(), Status::Code::kInvalidArgument);
  options.vector = {1, 0, 0};
  auto r = index_->Search("", options);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("dimension 3"), std::string::npos);
  options.vector = {NAN, 0};
  EXPECT_EQ(index_->Search("", options).status().code(), Status::Code::kInvalidArgument);
  options.vector = {1, 0};
  options.vector_field = "nope";
  EXPECT_EQ(index_->Search("", options).status().code(), Status::Code::kNotFound);
  options.vector_field.clear();
  options.mode = "hybrid";
  EXPECT_EQ(index_->Search("", options).status().code(), Status::Code::kInvalidArgument);
  options.mode = "sparse";
  EXPECT_EQ(index_->Search("x", options).status().code(), Status::Code::kInvalidArgument);
  // A document without its vector is refused whole.
  Document bare{"e", "", "elderberry", {}, {}};
  EXPECT_EQ(index_->Add(bare).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(index_->Commit().ok());
  EXPECT_EQ(index_->Stats().documents, 4u);
  // ParseDocumentJson carries vectors.
  auto parsed = ParseDocumentJson(R"({"_id":"e","text":"x","vectors":{"emb":[0.5,0.5]}})");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->vectors.size(), 1u);
  EXPECT_TRUE(index_->Add(*parsed).ok());
}

}  // namespace
}  // namespace cascade::query
