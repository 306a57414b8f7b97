// NeuralModel end to end, from text: the tokenizer and the CPU encoder
// together must reproduce the Hugging Face transformers outputs stored in
// tests/data/hf-bert/*/expected.jsonl (copied from
// ../shared/fixtures/hf-bert; random-weight checkpoints, see its README).
#include "rerank/neural_model.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

namespace cascade::rerank {
namespace {

const std::string kData = std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/";
constexpr double kTolerance = 1e-4;  // the fixture README's fp32 bound

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing fixture " << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<double> Doubles(simdjson::dom::element e) {
  std::vector<double> out;
  for (auto v : e.get_array()) out.push_back(v.get_double().value());
  return out;
}

std::unique_ptr<NeuralModel> Open(const std::string& name, size_t max_length,
                                  size_t max_batch = 64) {
  ModelOptions options;
  options.device = Device::kCpu;
  options.threads = 2;
  options.max_length = max_length;
  options.max_batch = max_batch;
  auto model = NeuralModel::Open(kData + name, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(*model) : nullptr;
}

TEST(NeuralModelTest, CrossEncoderScoresMatchTransformers) {
  auto model = Open("cross-encoder", 128);
  ASSERT_NE(model, nullptr);
  simdjson::dom::parser parser;
  size_t checked = 0;
  for (const std::string& line : Lines(kData + "cross-encoder/expected.jsonl")) {
    simdjson::dom::element doc = parser.parse(line);
    ASSERT_EQ(int64_t(doc["max_length"]), 128);
    const std::string query{std::string_view(doc["query"])};
    const std::vector<std::string> passage = {std::string(std::string_view(doc["passage"]))};
    auto scores = model->Score(query, passage);
    ASSERT_TRUE(scores.ok()) << scores.status().ToString();
    ASSERT_EQ(scores->size(), 1u);
    EXPECT_NEAR((*scores)[0], double(doc["logit"]), kTolerance) << "line " << checked;
    ++checked;
  }
  EXPECT_EQ(checked, 48u);
}

TEST(NeuralModelTest, ManyPassagesOfOneQueryScoreAsEachAlone) {
  auto model = Open("cross-encoder", 64, /*max_batch=*/3);
  ASSERT_NE(model, nullptr);
  const std::vector<std::string> passages = {
      "the danube flows through ten countries",
      "a passage about operating systems and their schedulers",
      "short", "cholesterol and statin drugs", "x y z", "braille output"};
  auto together = model->Score("operating system scheduling", passages);
  ASSERT_TRUE(together.ok()) << together.status().ToString();
  ASSERT_EQ(together->size(), passages.size());
  for (size_t i = 0; i < passages.size(); ++i) {
    auto alone = model->Score("operating system scheduling", {&passages[i], 1});
    ASSERT_TRUE(alone.ok());
    EXPECT_NEAR((*together)[i], (*alone)[0], 1e-5) << passages[i];
  }
}

TEST(NeuralModelTest, BiEncoderEmbeddingsMatchTransformers) {
  auto model = Open("bi-encoder", 0);
  ASSERT_NE(model, nullptr);
  simdjson::dom::parser parser;
  size_t checked = 0;
  for (const std::string& line : Lines(kData + "bi-encoder/expected.jsonl")) {
    simdjson::dom::element doc = parser.parse(line);
    const std::vector<std::string> text = {std::string(std::string_view(doc["text"]))};
    auto embeddings = model->Embed(text);
    ASSERT_TRUE(embeddings.ok()) << embeddings.status().ToString();
    const std::vector<double> expected = Doubles(doc["normalized_mean"]);
    ASSERT_EQ((*embeddings)[0].size(), expected.size());
    for (size_t d = 0; d < expected.size(); ++d) {
      EXPECT_NEAR((*embeddings)[0][d], expected[d], kTolerance) << "line " << checked;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 48u);
}

TEST(NeuralModelTest, TildeTokenWeightsMatchTransformers) {
  auto model = Open("tildev2", 192);
  ASSERT_NE(model, nullptr);
  simdjson::dom::parser parser;
  size_t checked = 0;
  for (const std::string& line : Lines(kData + "tildev2/expected.jsonl")) {
    simdjson::dom::element doc = parser.parse(line);
    ASSERT_EQ(int64_t(doc["max_length"]), 192);
    const std::vector<std::string> passage = {std::string(std::string_view(doc["passage"]))};
    auto weights = model->Weigh(passage);
    ASSERT_TRUE(weights.ok()) << weights.status().ToString();
    std::vector<int32_t> ids;
    for (auto v : doc["input_ids"].get_array()) ids.push_back(int32_t(int64_t(v)));
    EXPECT_EQ((*weights)[0].input_ids, ids) << "line " << checked;
    const std::vector<double> expected = Doubles(doc["weights"]);
    ASSERT_EQ((*weights)[0].weights.size(), expected.size());
    for (size_t t = 0; t < expected.size(); ++t) {
      EXPECT_NEAR((*weights)[0].weights[t], expected[t], kTolerance);
      EXPECT_GE((*weights)[0].weights[t], 0.0f);  // ReLU
    }
    ++checked;
  }
  EXPECT_EQ(checked, 24u);
}

TEST(NeuralModelTest, WrongCallForTheModelKindIsNotSupported) {
  auto model = Open("bi-encoder", 0);
  ASSERT_NE(model, nullptr);
  const std::vector<std::string> passages = {"a passage"};
  auto scores = model->Score("query", passages);
  ASSERT_FALSE(scores.ok());
  EXPECT_TRUE(scores.status().IsNotSupported()) << scores.status().ToString();
  EXPECT_NE(scores.status().message().find("cross-encoder"), std::string::npos);
  EXPECT_TRUE(model->Weigh(passages).status().IsNotSupported());
}

TEST(NeuralModelTest, BadOptionsAndFoldersAreRefused) {
  ModelOptions options;
  options.device = Device::kCpu;
  EXPECT_TRUE(NeuralModel::Open(kData + "no-such-model", options).status().IsNotFound());
  options.max_length = 513;
  auto too_long = NeuralModel::Open(kData + "cross-encoder", options);
  EXPECT_TRUE(too_long.status().IsInvalidArgument());
  EXPECT_NE(too_long.status().message().find("512"), std::string::npos);
  options.max_length = 0;
  options.max_batch = 0;
  EXPECT_TRUE(NeuralModel::Open(kData + "cross-encoder", options).status().IsInvalidArgument());
  EXPECT_TRUE(ParseDevice("tpu").status().IsInvalidArgument());
}

TEST(NeuralModelTest, CudaWithoutADeviceIsUnavailable) {
  if (gpu::CudaCompiledIn() && !gpu::CudaDevices().empty()) {
    GTEST_SKIP() << "a CUDA device is present";
  }
  ModelOptions options;
  options.device = Device::kCuda;
  auto model = NeuralModel::Open(kData + "cross-encoder", options);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Status::Code::kUnavailable) << model.status().ToString();
}

TEST(NeuralModelTest, AutoWithoutADeviceRunsOnTheCpu) {
  if (gpu::CudaCompiledIn() && !gpu::CudaDevices().empty()) {
    GTEST_SKIP() << "a CUDA device is present";
  }
  ModelOptions options;
  options.device = Device::kAuto;
  auto model = NeuralModel::Open(kData + "cross-encoder", options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->backend_name(), "cpu");
}

// On a GPU machine: device cuda (fp16) scores the fixture pairs like the
// CPU within the fixture README's fp16 bound, about 1e-2 relative.
TEST(NeuralModelTest, CudaScoresLikeTheCpu) {
  if (!gpu::CudaCompiledIn() || gpu::CudaDevices().empty()) {
    GTEST_SKIP() << "no CUDA device";
  }
  auto cpu = Open("cross-encoder", 128);
  ASSERT_NE(cpu, nullptr);
  ModelOptions options;
  options.device = Device::kCuda;
  options.max_length = 128;
  auto cuda = NeuralModel::Open(kData + "cross-encoder", options);
  ASSERT_TRUE(cuda.ok()) << cuda.status().ToString();
  EXPECT_EQ((*cuda)->backend_name(), "cuda");
  const std::vector<std::string> passages = {
      "the cat sat on the mat", "a dog barked all night long at the moon",
      "nothing to see here"};
  auto want = cpu->Score("where did the cat sit", passages);
  auto got = (*cuda)->Score("where did the cat sit", passages);
  ASSERT_TRUE(want.ok() && got.ok());
  for (size_t i = 0; i < passages.size(); ++i) {
    EXPECT_NEAR((*got)[i], (*want)[i], 1e-2 * std::max(1.0f, std::abs((*want)[i])));
  }
}

TEST(NeuralModelTest, RunTokensRejectsSequencesOverMaxLength) {
  auto model = Open("cross-encoder", 16);
  ASSERT_NE(model, nullptr);
  gpu::PairBatch batch;
  batch.offsets = {0, 20};
  batch.token_ids.assign(20, 1000);
  batch.segment_ids.assign(20, 0);
  auto out = model->RunTokens(batch);
  EXPECT_TRUE(out.status().IsInvalidArgument()) << out.status().ToString();
}

}  // namespace
}  // namespace cascade::rerank
