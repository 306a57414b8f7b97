// TILDEv2 term weights: pooling, 8-bit quantization, the stored encoding,
// and the exact-term score, including weights produced by the fixture
// TILDEv2 model (tests/data/hf-bert/tildev2).
#include "rerank/tilde.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "rerank/neural_model.h"

namespace cascade::rerank {
namespace {

TEST(TildeTest, QuantizerMapsMaxWeightTo255AndZerosToZero) {
  auto q = TildeQuantizer::ForMaxWeight(2.55f);
  ASSERT_TRUE(q.ok());
  EXPECT_FLOAT_EQ(q->scale(), 0.01f);
  EXPECT_EQ(q->Quantize(2.55f), 255);
  EXPECT_EQ(q->Quantize(100.0f), 255);  // clamped
  EXPECT_EQ(q->Quantize(0.0f), 0);
  EXPECT_EQ(q->Quantize(-1.0f), 0);
  EXPECT_EQ(q->Quantize(std::nanf("")), 0);
  EXPECT_EQ(q->Quantize(0.004f), 0);  // below half a step
  EXPECT_EQ(q->Quantize(0.006f), 1);
  EXPECT_EQ(q->Quantize(1.234f), 123);
  EXPECT_FLOAT_EQ(q->Dequantize(123), 1.23f);
  EXPECT_TRUE(TildeQuantizer::ForMaxWeight(0).status().IsInvalidArgument());
  EXPECT_TRUE(TildeQuantizer::ForMaxWeight(-1).status().IsInvalidArgument());
  EXPECT_TRUE(TildeQuantizer::ForMaxWeight(INFINITY).status().IsInvalidArgument());
}

TEST(TildeTest, PoolingKeepsEachTokensMaximumAndSkipsSpecialTokens) {
  const TildeQuantizer q(1.0f / 255);
  // [CLS]=101 and [SEP]=102 carry weights too; they must not be stored.
  const std::vector<int32_t> ids = {101, 5, 9, 5, 7, 102};
  const std::vector<float> weights = {3.0f, 0.5f, 1.0f, 0.8f, 0.0f, 2.0f};
  const std::vector<int32_t> skip = {101, 102};
  const TermWeights pooled = PoolTokenWeights(ids, weights, skip, q);
  EXPECT_EQ(pooled.ids, (std::vector<int32_t>{5, 9}));  // 7 had weight 0
  EXPECT_EQ(pooled.codes, (std::vector<uint8_t>{204, 255}));  // 0.8, 1.0
}

TEST(TildeTest, ScoreOfAHandMadeExample) {
  // Document: "heart" (id 2540) 0.5, "attack" (id 2886) 1.0, "risk" (id
  // 3891) 0.25, with scale 0.01 (codes 50, 100, 25).
  const TildeQuantizer q(0.01f);
  TermWeights doc;
  doc.ids = {2540, 2886, 3891};
  doc.codes = {50, 100, 25};
  // Query "heart attack symptoms attack": 0.5 + 1.0 + 0 + 1.0 = 2.5 (a
  // repeated query token counts each time; an absent one adds 0).
  const std::vector<int32_t> query = {2540, 2886, 8030, 2886};
  EXPECT_NEAR(TildeScore(query, doc, q), 2.5f, 1e-6);
  EXPECT_EQ(TildeScore(std::vector<int32_t>{8030}, doc, q), 0.0f);
  EXPECT_EQ(TildeScore(std::vector<int32_t>{}, doc, q), 0.0f);
  EXPECT_EQ(TildeScore(query, TermWeights{}, q), 0.0f);
}

TEST(TildeTest, ScoreFromTheBytesEqualsScoreOfTheDecodedWeights) {
  const TildeQuantizer q(0.01f);
  TermWeights doc;
  doc.ids = {3, 200, 201, 5000, 70000};
  doc.codes = {1, 50, 255, 7, 100};
  std::string bytes;
  EncodeTermWeights(doc, &bytes);
  const std::vector<std::vector<int32_t>> queries = {
      {}, {3}, {2}, {200, 201}, {201, 201, 5000}, {1, 3, 4, 70000, 80000},
      {70000, 70000, 70000}, {0, 99999}};
  for (std::vector<int32_t> query : queries) {
    std::sort(query.begin(), query.end());
    auto fast = TildeScoreEncoded(query, bytes, q);
    ASSERT_TRUE(fast.ok());
    EXPECT_FLOAT_EQ(*fast, TildeScore(query, doc, q)) << query.size();
  }
  const std::vector<int32_t> query = {3};
  EXPECT_TRUE(TildeScoreEncoded(query, bytes.substr(0, 3), q).status().IsCorruption());
  EXPECT_TRUE(TildeScoreEncoded(query, "", q).status().IsCorruption());
}

TEST(TildeTest, EncodingRoundTripsAndRejectsCorruption) {
  TermWeights w;
  w.ids = {0, 1, 130, 30521, 1 << 20};
  w.codes = {1, 255, 7, 128, 9};
  std::string bytes;
  EncodeTermWeights(w, &bytes);
  auto back = DecodeTermWeights(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ids, w.ids);
  EXPECT_EQ(back->codes, w.codes);
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_TRUE(DecodeTermWeights(bytes.substr(0, len)).status().IsCorruption()) << len;
  }
  EXPECT_TRUE(DecodeTermWeights(bytes + "x").status().IsCorruption());
  std::string zero_code;
  EncodeTermWeights(TermWeights{{3}, {0}}, &zero_code);
  EXPECT_TRUE(DecodeTermWeights(zero_code).status().IsCorruption());
  std::string repeated;
  EncodeTermWeights(TermWeights{{3, 3}, {1, 1}}, &repeated);
  EXPECT_TRUE(DecodeTermWeights(repeated).status().IsCorruption());
  // A huge claimed count in a few bytes is refused, not allocated.
  EXPECT_TRUE(DecodeTermWeights(std::string("\xff\xff\xff\xff\x0f", 5)).status().IsCorruption());
  std::string empty;
  EncodeTermWeights(TermWeights{}, &empty);
  auto none = DecodeTermWeights(empty);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->ids.empty());
}

// Stored weights of real model output equal the weigher's per-token maximum
// within half a quantization step.
TEST(TildeTest, PooledFixtureModelWeightsMatchWithinOneStep) {
  ModelOptions options;
  options.device = Device::kCpu;
  options.max_length = 192;
  auto model = NeuralModel::Open(std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/tildev2",
                                 options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<std::string> passages = {
      "The Danube flows through ten countries and four capital cities.",
      "Statin drugs lower cholesterol; do they cause breast cancer? Statin statin.",
  };
  auto weighed = (*model)->Weigh(passages);
  ASSERT_TRUE(weighed.ok()) << weighed.status().ToString();
  float max_weight = 0;
  for (const TokenWeights& tw : *weighed) {
    for (float w : tw.weights) max_weight = std::max(max_weight, w);
  }
  ASSERT_GT(max_weight, 0);
  auto q = TildeQuantizer::ForMaxWeight(max_weight);
  ASSERT_TRUE(q.ok());
  const std::vector<int32_t> skip = {(*model)->tokenizer().cls_id(),
                                     (*model)->tokenizer().sep_id(),
                                     (*model)->tokenizer().pad_id()};
  for (const TokenWeights& tw : *weighed) {
    const TermWeights pooled = PoolTokenWeights(tw.input_ids, tw.weights, skip, *q);
    std::map<int32_t, float> expected;
    for (size_t i = 0; i < tw.input_ids.size(); ++i) {
      if (std::find(skip.begin(), skip.end(), tw.input_ids[i]) != skip.end()) continue;
      expected[tw.input_ids[i]] = std::max(expected[tw.input_ids[i]], tw.weights[i]);
    }
    size_t stored = 0;
    for (const auto& [id, weight] : expected) {
      auto it = std::lower_bound(pooled.ids.begin(), pooled.ids.end(), id);
      if (it == pooled.ids.end() || *it != id) {
        EXPECT_LT(weight, q->scale() / 2 + 1e-7) << "id " << id << " dropped";
        continue;
      }
      ++stored;
      const float got = q->Dequantize(pooled.codes[it - pooled.ids.begin()]);
      EXPECT_LE(std::fabs(got - weight), q->scale() / 2 + 1e-6) << "id " << id;
    }
    EXPECT_EQ(stored, pooled.ids.size());
    EXPECT_GT(stored, 0u);
  }
}

}  // namespace
}  // namespace cascade::rerank
