// CpuEncoder against Hugging Face transformers and against itself.
//
// Parity: tests/data/hf-bert/{cross-encoder,bi-encoder,tildev2} are tiny
// random BERTs (hidden 32, 2 layers, 4 heads, FFN 64, erf GELU) with
// outputs computed by transformers in float64 (see the README there); a
// correct fp32 forward pass lands within 1e-4 of every value.
// Shapes the fixtures do not cover (tanh GELU, ReLU, two labels, a hidden
// size that is not a multiple of the vector width, more rows than one
// block) are checked against the naive double-precision forward pass at the
// bottom of this file.
// Invariance: a sequence scores the same alone as inside a batch (1e-5),
// whatever the thread count and GEMM engine.
// Where several GEMM engines exist (CpuEncoderOptions::gemm: AVX-512, BLAS,
// portable), the parity tests run each one this CPU and build have.
#include "gpu/cpu/cpu_encoder.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gpu/backend.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"
#include "tests/gpu/hf_fixtures.h"

namespace cascade::gpu {
namespace {

using namespace ::cascade::gpu::fixtures;  // NOLINT(build/namespaces)

using Gemm = CpuEncoderOptions::Gemm;

std::string GemmName(Gemm gemm) {
  switch (gemm) {
    case Gemm::kAuto:
      return "auto";
    case Gemm::kAvx512:
      return "avx512";
    case Gemm::kBlas:
      return "blas";
    case Gemm::kPortable:
      return "portable";
  }
  return "?";
}

// Every GEMM engine; a test skips those this CPU or build lacks (Create
// says NotSupported).
constexpr Gemm kAllGemms[] = {Gemm::kAvx512, Gemm::kBlas, Gemm::kPortable};

Result<std::unique_ptr<CpuEncoder>> OpenFixture(const std::string& model,
                                                unsigned threads = 0,
                                                Gemm gemm = Gemm::kAuto) {
  CASCADE_ASSIGN_OR_RETURN(ModelConfig config,
                           LoadModelConfig(kFixtures + "/" + model));
  CASCADE_ASSIGN_OR_RETURN(BertWeights weights, LoadBertWeights(config));
  CpuEncoderOptions options;
  options.threads = threads;
  options.gemm = gemm;
  return CpuEncoder::Create(std::move(config), std::move(weights), options);
}

// --- Parity with transformers ------------------------------------------

TEST(CpuEncoderTest, CrossEncoderMatchesTransformers) {
  const std::vector<Example> examples =
      ReadExpected("cross-encoder", {"logit"});
  ASSERT_EQ(examples.size(), 48u);
  for (Gemm gemm : kAllGemms) {
    SCOPED_TRACE("gemm " + GemmName(gemm));
    auto opened = OpenFixture("cross-encoder", 0, gemm);
    if (opened.status().IsNotSupported()) continue;
    ASSERT_OK_AND_ASSIGN(auto encoder, std::move(opened));
    ASSERT_OK_AND_ASSIGN(std::vector<float> scores,
                         encoder->Score(Pack(examples)));
    ASSERT_EQ(scores.size(), examples.size());
    for (size_t i = 0; i < examples.size(); ++i) {
      EXPECT_NEAR(scores[i], examples[i].outputs[0][0], 1e-4) << "pair " << i;
    }
  }
}

TEST(CpuEncoderTest, BiEncoderMatchesTransformers) {
  ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("bi-encoder"));
  const std::vector<Example> examples =
      ReadExpected("bi-encoder", {"normalized_mean", "mean", "cls"});
  ASSERT_EQ(examples.size(), 48u);
  const PairBatch batch = Pack(examples);
  // The checkpoint is configured mean + normalize, so Embed gives the
  // normalised mean; CLS and the plain mean come from the hidden states.
  ASSERT_OK_AND_ASSIGN(std::vector<float> embeddings, encoder->Embed(batch));
  ASSERT_OK_AND_ASSIGN(std::vector<float> hidden, encoder->TEST_Encode(batch));
  const size_t h = examples[0].outputs[0].size();
  ASSERT_EQ(embeddings.size(), examples.size() * h);
  ASSERT_EQ(hidden.size(), batch.token_ids.size() * h);
  for (size_t s = 0; s < examples.size(); ++s) {
    const size_t begin = batch.offsets[s], end = batch.offsets[s + 1];
    for (size_t i = 0; i < h; ++i) {
      EXPECT_NEAR(embeddings[s * h + i], examples[s].outputs[0][i], 1e-4)
          << "sequence " << s << " dim " << i;
      double sum = 0.0;
      for (size_t t = begin; t < end; ++t) sum += hidden[t * h + i];
      EXPECT_NEAR(sum / static_cast<double>(end - begin),
                  examples[s].outputs[1][i], 1e-4)
          << "mean, sequence " << s << " dim " << i;
      EXPECT_NEAR(hidden[begin * h + i], examples[s].outputs[2][i], 1e-4)
          << "cls, sequence " << s << " dim " << i;
    }
  }
}

TEST(CpuEncoderTest, TokenWeigherMatchesTransformers) {
  ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("tildev2"));
  const std::vector<Example> examples = ReadExpected("tildev2", {"weights"});
  ASSERT_EQ(examples.size(), 24u);
  const PairBatch batch = Pack(examples);
  ASSERT_OK_AND_ASSIGN(std::vector<float> weights, encoder->WeighTokens(batch));
  ASSERT_EQ(weights.size(), batch.token_ids.size());
  for (size_t s = 0; s < examples.size(); ++s) {
    ASSERT_EQ(examples[s].outputs[0].size(), examples[s].ids.size());
    for (size_t p = 0; p < examples[s].ids.size(); ++p) {
      EXPECT_NEAR(weights[batch.offsets[s] + p], examples[s].outputs[0][p],
                  1e-4)
          << "sequence " << s << " position " << p;
    }
  }
}

// --- Invariance --------------------------------------------------------

TEST(CpuEncoderTest, BatchScoresEqualScoresAlone) {
  const std::vector<Example> examples = ReadExpected("cross-encoder", {});
  for (Gemm gemm : kAllGemms) {
    SCOPED_TRACE("gemm " + GemmName(gemm));
    auto opened = OpenFixture("cross-encoder", 0, gemm);
    if (opened.status().IsNotSupported()) continue;
    ASSERT_OK_AND_ASSIGN(auto encoder, std::move(opened));
    ASSERT_OK_AND_ASSIGN(std::vector<float> together,
                         encoder->Score(Pack(examples)));
    for (size_t i = 0; i < examples.size(); ++i) {
      PairBatch alone;
      Append(alone, examples[i].ids, examples[i].types);
      ASSERT_OK_AND_ASSIGN(std::vector<float> score, encoder->Score(alone));
      ASSERT_EQ(score.size(), 1u);
      EXPECT_NEAR(score[0], together[i], 1e-5) << "pair " << i;
    }
  }
}

TEST(CpuEncoderTest, ThreadCountAndGemmDoNotChangeScores) {
  const std::vector<Example> examples = ReadExpected("cross-encoder", {});
  const PairBatch batch = Pack(examples);
  ASSERT_OK_AND_ASSIGN(auto one, OpenFixture("cross-encoder", 1));
  ASSERT_OK_AND_ASSIGN(std::vector<float> reference, one->Score(batch));
  for (Gemm gemm : kAllGemms) {
    for (unsigned threads : {1u, 2u, 3u, 8u}) {
      auto opened = OpenFixture("cross-encoder", threads, gemm);
      if (opened.status().IsNotSupported()) continue;
      ASSERT_OK_AND_ASSIGN(auto encoder, std::move(opened));
      ASSERT_OK_AND_ASSIGN(std::vector<float> scores, encoder->Score(batch));
      ASSERT_EQ(scores.size(), reference.size());
      for (size_t i = 0; i < scores.size(); ++i) {
        EXPECT_NEAR(scores[i], reference[i], 1e-5)
            << GemmName(gemm) << ", " << threads << " threads, pair " << i;
      }
    }
  }
}

TEST(CpuEncoderTest, RepeatedAndShrinkingBatchesReuseBuffers) {
  ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("cross-encoder"));
  const std::vector<Example> examples = ReadExpected("cross-encoder", {});
  const PairBatch big = Pack(examples);
  const PairBatch small =
      Pack(std::vector<Example>(examples.begin(), examples.begin() + 3));
  ASSERT_OK_AND_ASSIGN(std::vector<float> first, encoder->Score(big));
  ASSERT_OK_AND_ASSIGN(std::vector<float> part, encoder->Score(small));
  ASSERT_OK_AND_ASSIGN(std::vector<float> again, encoder->Score(big));
  EXPECT_EQ(first, again);
  for (size_t i = 0; i < part.size(); ++i) EXPECT_NEAR(part[i], first[i], 1e-5);
}

TEST(CpuEncoderTest, EmptyBatchGivesEmptyResult) {
  ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("cross-encoder"));
  ASSERT_OK_AND_ASSIGN(std::vector<float> none, encoder->Score(PairBatch()));
  EXPECT_TRUE(none.empty());
  PairBatch zero;
  zero.offsets = {0};
  ASSERT_OK_AND_ASSIGN(none, encoder->Score(zero));
  EXPECT_TRUE(none.empty());
}

// --- Errors ------------------------------------------------------------

PairBatch TwoGoodSequences() {
  PairBatch batch;
  Append(batch, {101, 2054, 102}, {0, 0, 0});
  Append(batch, {101, 7592, 102, 2088, 102}, {0, 0, 0, 1, 1});
  return batch;
}

void ExpectInvalid(const PairBatch& batch, const std::string& needle) {
  const Status s = ValidateBatch(batch, 30522, 2, 8);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos)
      << "\"" << s.message() << "\" lacks \"" << needle << "\"";
}

TEST(ValidateBatchTest, AcceptsAGoodBatch) {
  EXPECT_TRUE(ValidateBatch(TwoGoodSequences(), 30522, 2, 8).ok());
  EXPECT_TRUE(ValidateBatch(PairBatch(), 30522, 2, 8).ok());
}

TEST(ValidateBatchTest, NamesTheSequenceAndTheProblem) {
  PairBatch bad_id = TwoGoodSequences();
  bad_id.token_ids[4] = 30522;
  ExpectInvalid(bad_id, "sequence 1: token 1 has id 30522");

  PairBatch negative_id = TwoGoodSequences();
  negative_id.token_ids[0] = -1;
  ExpectInvalid(negative_id, "sequence 0: token 0 has id -1");

  PairBatch bad_type = TwoGoodSequences();
  bad_type.segment_ids[6] = 2;
  ExpectInvalid(bad_type, "sequence 1: token 3 has token type id 2");

  PairBatch empty = TwoGoodSequences();
  empty.offsets = {0, 3, 3, 8};
  ExpectInvalid(empty, "sequence 1: empty");

  PairBatch too_long;
  Append(too_long, std::vector<int32_t>(9, 1000), std::vector<int32_t>(9, 0));
  ExpectInvalid(too_long,
                "sequence 0: 9 tokens, more than the model's "
                "maximum of 8");

  PairBatch decreasing = TwoGoodSequences();
  decreasing.offsets = {0, 5, 3, 8};
  ExpectInvalid(decreasing, "sequence 1: offsets decrease");

  PairBatch late_start = TwoGoodSequences();
  late_start.offsets[0] = 1;
  ExpectInvalid(late_start, "sequence 0: starts at offset 1");

  PairBatch past_end = TwoGoodSequences();
  past_end.offsets.back() = 9;
  ExpectInvalid(past_end, "sequence 1: ends at offset 9");

  PairBatch short_end = TwoGoodSequences();
  short_end.offsets.back() = 7;
  ExpectInvalid(short_end, "ends at offset 7 but token_ids has 8");

  PairBatch no_offsets = TwoGoodSequences();
  no_offsets.offsets.clear();
  ExpectInvalid(no_offsets, "offsets is empty");

  PairBatch segments = TwoGoodSequences();
  segments.segment_ids.pop_back();
  ExpectInvalid(segments, "segment_ids has 7 entries but token_ids has 8");
}

TEST(CpuEncoderTest, RunsValidateBatch) {
  ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("cross-encoder"));
  PairBatch batch = TwoGoodSequences();
  batch.token_ids[1] = 40000;
  const Status s = encoder->Score(batch).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("sequence 0"), std::string::npos);

  PairBatch too_long;
  Append(too_long, std::vector<int32_t>(513, 1000),
         std::vector<int32_t>(513, 0));
  EXPECT_TRUE(encoder->Score(too_long).status().IsInvalidArgument());
}

TEST(CpuEncoderTest, MissingHeadIsNotSupported) {
  ASSERT_OK_AND_ASSIGN(auto cross, OpenFixture("cross-encoder"));
  const Status embed = cross->Embed(TwoGoodSequences()).status();
  EXPECT_TRUE(embed.IsNotSupported()) << embed.ToString();
  EXPECT_NE(embed.message().find("cross-encoder"), std::string::npos)
      << embed.message();
  EXPECT_TRUE(cross->WeighTokens(TwoGoodSequences()).status().IsNotSupported());

  ASSERT_OK_AND_ASSIGN(auto bi, OpenFixture("bi-encoder"));
  const Status score = bi->Score(TwoGoodSequences()).status();
  EXPECT_TRUE(score.IsNotSupported()) << score.ToString();
  EXPECT_NE(score.message().find("bi-encoder"), std::string::npos)
      << score.message();
}

// --- Against a naive double-precision forward pass ---------------------

// A random model; every parameter (LayerNorm too) drawn so that a wrong
// formula shows. hidden 20 with 4 heads: rows are not a multiple of the
// 8-wide loops, and heads are 5 wide.
struct RandomModel {
  ModelConfig config;
  BertWeights weights;
};

RandomModel MakeRandomModel(ModelKind kind, Activation activation,
                            int num_labels, uint32_t seed) {
  RandomModel m;
  BertConfig& c = m.config.bert;
  c.vocab_size = 50;
  c.hidden_size = 20;
  c.num_layers = 2;
  c.num_heads = 4;
  c.intermediate_size = 36;
  c.max_position_embeddings = 80;
  c.type_vocab_size = 2;
  c.layer_norm_eps = 1e-5f;
  c.activation = activation;
  m.config.kind = kind;
  m.config.num_labels = num_labels;
  m.config.pooling = Pooling::kMean;
  m.config.normalize = true;

  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  auto fill = [&](size_t n, float scale, float offset = 0.0f) {
    std::vector<float> v(n);
    for (float& x : v) x = offset + scale * uniform(rng);
    return v;
  };
  auto linear = [&](int in, int out) {
    LinearWeights l;
    l.in = in;
    l.out = out;
    l.weight = fill(static_cast<size_t>(in) * out, 2.0f / std::sqrt(in));
    l.bias = fill(out, 0.5f);
    return l;
  };
  auto norm = [&](int n) {
    LayerNormWeights l;
    l.gamma = fill(n, 0.8f, 1.0f);
    l.beta = fill(n, 0.4f);
    return l;
  };
  const int h = c.hidden_size;
  BertWeights& w = m.weights;
  w.word_embeddings = fill(static_cast<size_t>(c.vocab_size) * h, 2.0f);
  w.position_embeddings =
      fill(static_cast<size_t>(c.max_position_embeddings) * h, 1.0f);
  w.token_type_embeddings =
      fill(static_cast<size_t>(c.type_vocab_size) * h, 1.0f);
  w.embedding_norm = norm(h);
  for (int l = 0; l < c.num_layers; ++l) {
    BertLayerWeights layer;
    layer.query = linear(h, h);
    layer.key = linear(h, h);
    layer.value = linear(h, h);
    layer.attention_output = linear(h, h);
    layer.attention_norm = norm(h);
    layer.intermediate = linear(h, c.intermediate_size);
    layer.output = linear(c.intermediate_size, h);
    layer.output_norm = norm(h);
    w.layers.push_back(std::move(layer));
  }
  if (kind == ModelKind::kCrossEncoder) {
    w.pooler = linear(h, h);
    w.classifier = linear(h, num_labels);
  }
  if (kind == ModelKind::kTokenWeigher) w.token_projection = linear(h, 1);
  return m;
}

using Matrix = std::vector<std::vector<double>>;

Matrix Dense(const Matrix& x, const LinearWeights& l) {
  Matrix y(x.size(), std::vector<double>(l.out));
  for (size_t t = 0; t < x.size(); ++t) {
    for (int o = 0; o < l.out; ++o) {
      double sum = l.bias[o];
      for (int i = 0; i < l.in; ++i) {
        sum += x[t][i] * static_cast<double>(l.weight[o * l.in + i]);
      }
      y[t][o] = sum;
    }
  }
  return y;
}

void NormalizeRows(Matrix& x, const LayerNormWeights& n, double eps) {
  for (std::vector<double>& row : x) {
    double mean = 0.0, var = 0.0;
    for (double v : row) mean += v;
    mean /= row.size();
    for (double v : row) var += (v - mean) * (v - mean);
    var /= row.size();
    for (size_t i = 0; i < row.size(); ++i) {
      row[i] = (row[i] - mean) / std::sqrt(var + eps) * n.gamma[i] + n.beta[i];
    }
  }
}

double Activate(double x, Activation a) {
  switch (a) {
    case Activation::kGeluErf:
      return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Activation::kGeluTanh:
      return 0.5 * x *
             (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) *
                              (x + 0.044715 * x * x * x)));
    case Activation::kRelu:
      return std::max(x, 0.0);
  }
  return x;
}

// Final hidden states of one sequence, straight from the definitions.
Matrix ReferenceEncode(const RandomModel& m, const std::vector<int32_t>& ids,
                       const std::vector<int32_t>& types) {
  const BertConfig& c = m.config.bert;
  const BertWeights& w = m.weights;
  const int h = c.hidden_size, heads = c.num_heads, d = h / heads;
  const size_t n = ids.size();
  Matrix x(n, std::vector<double>(h));
  for (size_t t = 0; t < n; ++t) {
    for (int i = 0; i < h; ++i) {
      x[t][i] = static_cast<double>(w.word_embeddings[ids[t] * h + i]) +
                w.token_type_embeddings[types[t] * h + i] +
                w.position_embeddings[t * h + i];
    }
  }
  NormalizeRows(x, w.embedding_norm, c.layer_norm_eps);
  for (const BertLayerWeights& layer : w.layers) {
    const Matrix q = Dense(x, layer.query), k = Dense(x, layer.key),
                 v = Dense(x, layer.value);
    Matrix context(n, std::vector<double>(h, 0.0));
    for (int head = 0; head < heads; ++head) {
      for (size_t i = 0; i < n; ++i) {
        std::vector<double> p(n);
        double max = -1e300, sum = 0.0;
        for (size_t j = 0; j < n; ++j) {
          double dot = 0.0;
          for (int e = 0; e < d; ++e)
            dot += q[i][head * d + e] * k[j][head * d + e];
          p[j] = dot / std::sqrt(static_cast<double>(d));
          max = std::max(max, p[j]);
        }
        for (double& s : p) sum += (s = std::exp(s - max));
        for (size_t j = 0; j < n; ++j) {
          for (int e = 0; e < d; ++e) {
            context[i][head * d + e] += p[j] / sum * v[j][head * d + e];
          }
        }
      }
    }
    Matrix attention = Dense(context, layer.attention_output);
    for (size_t t = 0; t < n; ++t) {
      for (int i = 0; i < h; ++i) attention[t][i] += x[t][i];
    }
    NormalizeRows(attention, layer.attention_norm, c.layer_norm_eps);
    Matrix inner = Dense(attention, layer.intermediate);
    for (auto& row : inner) {
      for (double& value : row) value = Activate(value, c.activation);
    }
    x = Dense(inner, layer.output);
    for (size_t t = 0; t < n; ++t) {
      for (int i = 0; i < h; ++i) x[t][i] += attention[t][i];
    }
    NormalizeRows(x, layer.output_norm, c.layer_norm_eps);
  }
  return x;
}

// 20 sequences of 1 to 80 tokens (the maximum), about 800 rows in all:
// several row blocks per worker.
PairBatch RandomBatch(const ModelConfig& config, uint32_t seed) {
  std::mt19937 rng(seed);
  PairBatch batch;
  for (int s = 0; s < 20; ++s) {
    const int length = s == 0   ? 1
                       : s == 1 ? 80
                                : 1 + static_cast<int>(rng() % 80);
    std::vector<int32_t> ids(length), types(length);
    for (int t = 0; t < length; ++t) {
      ids[t] = static_cast<int32_t>(rng() % config.bert.vocab_size);
      types[t] = t >= length / 2 ? 1 : 0;
    }
    Append(batch, ids, types);
  }
  return batch;
}

// What the model's head should return for `batch`, from the reference
// hidden states of each sequence (checked on the way against `hidden`).
void ExpectMatchesReference(const RandomModel& model, const PairBatch& batch,
                            CpuEncoder& encoder) {
  ASSERT_OK_AND_ASSIGN(std::vector<float> hidden, encoder.TEST_Encode(batch));
  const ModelKind kind = model.config.kind;
  const BertWeights& w = model.weights;
  const int h = model.config.bert.hidden_size;
  std::vector<double> expected;
  for (size_t s = 0; s < batch.size(); ++s) {
    const int begin = batch.offsets[s], end = batch.offsets[s + 1];
    const Matrix x =
        ReferenceEncode(model,
                        std::vector<int32_t>(batch.token_ids.begin() + begin,
                                             batch.token_ids.begin() + end),
                        std::vector<int32_t>(batch.segment_ids.begin() + begin,
                                             batch.segment_ids.begin() + end));
    for (int t = 0; t < end - begin; ++t) {
      for (int i = 0; i < h; ++i) {
        ASSERT_NEAR(hidden[(begin + t) * h + i], x[t][i], 1e-4)
            << "sequence " << s << " token " << t << " dim " << i;
      }
    }
    if (kind == ModelKind::kCrossEncoder) {
      Matrix pooled = Dense({x[0]}, *w.pooler);
      for (double& v : pooled[0]) v = std::tanh(v);
      const Matrix logits = Dense(pooled, *w.classifier);
      expected.push_back(
          model.config.num_labels == 1
              ? logits[0][0]
              : 1.0 / (1.0 + std::exp(logits[0][0] - logits[0][1])));
    } else if (kind == ModelKind::kBiEncoder) {
      std::vector<double> mean(h, 0.0);
      for (const auto& row : x) {
        for (int i = 0; i < h; ++i) mean[i] += row[i] / x.size();
      }
      double norm = 0.0;
      for (double v : mean) norm += v * v;
      for (double v : mean) expected.push_back(v / std::sqrt(norm));
    } else {
      for (const auto& row : Dense(x, *w.token_projection)) {
        expected.push_back(std::max(row[0], 0.0));
      }
    }
  }
  std::vector<float> heads;
  if (kind == ModelKind::kCrossEncoder) {
    ASSERT_OK_AND_ASSIGN(heads, encoder.Score(batch));
  } else if (kind == ModelKind::kBiEncoder) {
    ASSERT_OK_AND_ASSIGN(heads, encoder.Embed(batch));
  } else {
    ASSERT_OK_AND_ASSIGN(heads, encoder.WeighTokens(batch));
  }
  ASSERT_EQ(heads.size(), expected.size());
  for (size_t i = 0; i < heads.size(); ++i) {
    EXPECT_NEAR(heads[i], expected[i], 1e-4) << "output " << i;
  }
}

class ReferenceTest : public ::testing::TestWithParam<Activation> {};

TEST_P(ReferenceTest, HiddenStatesAndHeadsMatch) {
  struct Head {
    ModelKind kind;
    int labels;
  };
  for (Head head :
       {Head{ModelKind::kCrossEncoder, 1}, Head{ModelKind::kCrossEncoder, 2},
        Head{ModelKind::kBiEncoder, 1}, Head{ModelKind::kTokenWeigher, 1}}) {
    const RandomModel model =
        MakeRandomModel(head.kind, GetParam(), head.labels, 7);
    const PairBatch batch = RandomBatch(model.config, 11);
    for (Gemm gemm : kAllGemms) {
      SCOPED_TRACE(std::string(ModelKindName(head.kind)) + ", " +
                   std::to_string(head.labels) + " labels, gemm " +
                   GemmName(gemm));
      CpuEncoderOptions options;
      options.threads = 2;
      options.gemm = gemm;
      auto created = CpuEncoder::Create(model.config, model.weights, options);
      if (created.status().IsNotSupported()) continue;
      ASSERT_OK_AND_ASSIGN(auto encoder, std::move(created));
      ExpectMatchesReference(model, batch, *encoder);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Activations, ReferenceTest,
                         ::testing::Values(Activation::kGeluErf,
                                           Activation::kGeluTanh,
                                           Activation::kRelu));

TEST(CpuEncoderTest, CreateChecksWeightsAgainstConfig) {
  RandomModel model =
      MakeRandomModel(ModelKind::kCrossEncoder, Activation::kGeluErf, 1, 3);
  RandomModel short_weight = model;
  short_weight.weights.layers[1].intermediate.weight.pop_back();
  Status s = CpuEncoder::Create(short_weight.config, short_weight.weights, {})
                 .status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("encoder.layer.1.intermediate.dense.weight"),
            std::string::npos)
      << s.message();

  RandomModel no_pooler = model;
  no_pooler.weights.pooler.reset();
  EXPECT_TRUE(CpuEncoder::Create(no_pooler.config, no_pooler.weights, {})
                  .status()
                  .IsInvalidArgument());

  RandomModel three_labels = model;
  three_labels.config.num_labels = 3;
  EXPECT_TRUE(CpuEncoder::Create(three_labels.config, three_labels.weights, {})
                  .status()
                  .IsNotSupported());

  RandomModel odd_heads = model;
  odd_heads.config.bert.num_heads = 3;
  EXPECT_TRUE(CpuEncoder::Create(odd_heads.config, odd_heads.weights, {})
                  .status()
                  .IsInvalidArgument());
}

}  // namespace
}  // namespace cascade::gpu
