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
#include "rerank/neural_model.h"

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

// kNN by text (OpenOptions::embedding_model) with the tiny random
// bi-encoder of tests/data/hf-bert (hidden size 32). The
// documents' vectors are the model's own embeddings of their texts, so a
// query equal to a document's text embeds to that document's vector
// (cosine 1) and finds it first, whatever else the random model thinks.
class EmbeddingSearchTest : public testing::Test {
 protected:
  static inline const std::string kBiEncoder =
      std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/bi-encoder";
  static inline const std::string kCrossEncoder =
      std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/cross-encoder";
  const std::vector<std::string> texts_ = {
      "the rocket engine burns liquid oxygen", "green tea grows on hillsides",
      "solar panels make electricity",         "sourdough bread needs wild yeast",
      "a glacier carved the valley",           "coral reefs shelter many fish"};

  void SetUp() override {
    path_ = (fs::path(testing::TempDir()) /
             ("embedding_search_test_" + std::to_string(getpid()) + "_" +
              testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    fs::remove_all(path_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }

  static std::string Id(size_t i) { return std::string("t").append(std::to_string(i)); }

  // The model's embeddings of texts_, computed here as the oracle.
  std::vector<std::vector<float>> Embeddings() {
    rerank::ModelOptions options;
    options.device = rerank::Device::kCpu;
    options.threads = 1;
    auto model = rerank::NeuralModel::Open(kBiEncoder, options);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    if (!model.ok()) return {};
    EXPECT_EQ((*model)->config().bert.hidden_size, 32);
    auto embeddings = (*model)->Embed(texts_);
    EXPECT_TRUE(embeddings.ok()) << embeddings.status().ToString();
    return embeddings.ok() ? *embeddings : std::vector<std::vector<float>>{};
  }

  // A new index of texts_ (ids t0..t5) with `field`, opened with `model`.
  Result<std::unique_ptr<Index>> Build(const std::string& field, const std::string& model,
                                       const std::vector<std::vector<float>>& vectors) {
    OpenOptions options;
    options.create_if_missing = true;
    options.vector_fields = {field};
    options.embedding_model = model;
    options.device = "cpu";
    options.model_threads = 1;
    CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(path_, options));
    for (size_t i = 0; i < texts_.size(); ++i) {
      Document d;
      d.id = Id(i);
      d.text = texts_[i];
      d.vectors = {{"emb", vectors[i]}};
      CASCADE_RETURN_IF_ERROR(index->Add(d));
    }
    CASCADE_RETURN_IF_ERROR(index->Commit());
    return index;
  }

  std::string path_;
};

TEST_F(EmbeddingSearchTest, TextQueryFindsTheDocumentWithItsEmbedding) {
  const std::vector<std::vector<float>> embeddings = Embeddings();
  ASSERT_EQ(embeddings.size(), texts_.size());
  ASSERT_EQ(embeddings[0].size(), 32u);
  auto index = Build("emb:32:cosine", kBiEncoder, embeddings);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  SearchOptions options;
  options.mode = "dense";
  options.k = 3;
  options.explain = true;
  for (size_t i = 0; i < texts_.size(); ++i) {
    SCOPED_TRACE(texts_[i]);
    auto result = (*index)->Search(texts_[i], options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->hits.size(), 3u);
    EXPECT_EQ(result->hits[0].id, Id(i));
    EXPECT_NEAR(result->hits[0].score, 1.0, 1e-4);  // cosine with itself
    EXPECT_LT(result->hits[1].score, result->hits[0].score);
    ASSERT_FALSE(result->stages.empty());
    EXPECT_EQ(result->stages[0].stage, "embed");
    // The text was embedded, not used as a filter: all six are candidates.
    EXPECT_EQ(result->total_hits, texts_.size());
  }
  // Words no document holds still find neighbours.
  auto unmatched = (*index)->Search("zyzzyva quux", options);
  ASSERT_TRUE(unmatched.ok()) << unmatched.status().ToString();
  EXPECT_EQ(unmatched->hits.size(), 3u);
  // Hybrid: BM25 over the words and kNN of their embedding agree on t2.
  options.mode = "hybrid";
  auto hybrid = (*index)->Search(texts_[2], options);
  ASSERT_TRUE(hybrid.ok()) << hybrid.status().ToString();
  EXPECT_EQ(hybrid->hits[0].id, "t2");
  ASSERT_EQ(hybrid->hits[0].explain.size(), 2u);
  EXPECT_EQ(hybrid->hits[0].explain[0].rank, 1u);  // bm25
  EXPECT_EQ(hybrid->hits[0].explain[1].rank, 1u);  // dense
  // A vector given with the search is used, and the words filter again
  // (t1 and t4 match them).
  options.mode = "dense";
  options.vector = embeddings[4];
  auto by_vector = (*index)->Search(texts_[1] + " " + texts_[4], options);
  ASSERT_TRUE(by_vector.ok()) << by_vector.status().ToString();
  ASSERT_EQ(by_vector->hits.size(), 2u);
  EXPECT_EQ(by_vector->hits[0].id, "t4");
  EXPECT_NEAR(by_vector->hits[0].score, 1.0, 1e-4);
  EXPECT_EQ(by_vector->stages[0].stage, "filter");
  // Neither vector nor text: refused.
  options.vector.clear();
  auto nothing = (*index)->Search("  ", options);
  EXPECT_EQ(nothing.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(EmbeddingSearchTest, EmbeddingSizeMustEqualTheFieldsDimension) {
  std::vector<std::vector<float>> small(texts_.size(), std::vector<float>{1, 0, 0});
  auto index = Build("emb:3:cosine", kBiEncoder, small);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  SearchOptions options;
  options.mode = "dense";
  auto result = (*index)->Search("rocket", options);
  ASSERT_EQ(result.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(result.status().message().find("gives 32-d vectors"), std::string::npos)
      << result.status().ToString();
  EXPECT_NE(result.status().message().find("field emb has dimension 3"), std::string::npos)
      << result.status().ToString();
}

TEST_F(EmbeddingSearchTest, OnlyABiEncoderEmbeds) {
  OpenOptions options;
  options.create_if_missing = true;
  options.vector_fields = {"emb:32:cosine"};
  options.embedding_model = kCrossEncoder;
  options.device = "cpu";
  auto index = Index::Open(path_, options);
  ASSERT_EQ(index.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(index.status().message().find("not a bi-encoder"), std::string::npos)
      << index.status().ToString();
  options.embedding_model = path_ + "/no-such-model";
  EXPECT_FALSE(Index::Open(path_, options).ok());
}

}  // namespace
}  // namespace cascade::query
