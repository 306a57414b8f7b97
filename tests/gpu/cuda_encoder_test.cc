// CudaEncoder against Hugging Face transformers, against the CPU encoder
// and against itself. Every test but the first needs a CUDA device and
// skips without one (GTEST_SKIP), so this suite passes on CPU-only machines
// and CI; bench/gpu/run_device.sh runs it on a GPU machine.
//
// Tolerances:
//  - fp32 mode: 1e-4 absolute against transformers' float64 outputs, as the
//    CPU encoder (tests/gpu/cpu_encoder_test.cc);
//  - fp16: 1e-2 relative, where "relative" is to the larger of the value
//    and the root mean square of all expected values of the test (a logit
//    near zero has no meaningful relative error); bf16: eight times that,
//    as bf16 keeps 8 significant bits to fp16's 11 and so rounds 8x more
//    coarsely;
//  - and for the whole output of a test, the norm-wise relative error
//    |got - want| / |want| at most 5e-3 in fp16, 4e-2 in bf16 and 1e-4 in
//    fp32 (each test prints it). On an H200 (2026-11-27, GEMMs through
//    cuBLASLt with GELU in the epilogue, the tanh approximation, in
//    fp16/bf16) the largest were 0.0022 in fp16, 0.0125 in bf16 and
//    1.2e-6 in fp32 (before the epilogue: 0.0023 and 0.0134);
//  - a sequence alone and inside a batch: 1e-5 (fp32), 2e-3 relative
//    (fp16/bf16: cuBLAS may pick another kernel for another row count).
#include "gpu/cuda/cuda_encoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gpu/backend.h"
#include "gpu/cpu/cpu_encoder.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"
#include "gpu/model/random_bert.h"
#include "tests/gpu/hf_fixtures.h"

namespace cascade::gpu {
namespace {

using namespace ::cascade::gpu::fixtures;  // NOLINT(build/namespaces)

bool HaveDevice() { return !CudaDevices().empty(); }

#define SKIP_WITHOUT_DEVICE()                                  \
  if (!HaveDevice()) GTEST_SKIP() << "no CUDA device visible"; \
  static_assert(true)

using Attention = CudaEncoderOptions::Attention;

struct Mode {
  Precision precision;
  Attention attention;
};

constexpr Mode kModes[] = {
    {Precision::kFp16, Attention::kAuto},  {Precision::kBf16, Attention::kAuto},
    {Precision::kFp32, Attention::kAuto},  {Precision::kFp16, Attention::kPlain},
    {Precision::kBf16, Attention::kPlain},
};

std::string ModeName(const Mode& mode) {
  return std::string(PrecisionName(mode.precision)) +
         (mode.attention == Attention::kPlain ? " plain attention"
                                              : " auto attention");
}

// How much coarser than fp16 a precision's per-element bounds are.
double Coarseness(Precision precision) {
  return precision == Precision::kBf16 ? 8.0 : 1.0;
}

// The allowed error for `expected` given the RMS of all expected values.
double Tolerance(Precision precision, double expected, double rms) {
  if (precision == Precision::kFp32) return 1e-4;
  return 1e-2 * Coarseness(precision) * std::max(std::abs(expected), rms);
}

// Checks |got - want| / |want| over a whole output, and prints it.
template <typename Want>
void ExpectNormwiseClose(const std::vector<float>& got,
                         const std::vector<Want>& want, const Mode& mode) {
  ASSERT_EQ(got.size(), want.size());
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - static_cast<double>(want[i]);
    diff += d * d;
    norm += static_cast<double>(want[i]) * static_cast<double>(want[i]);
  }
  const double relative = norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
  std::printf("[ norm-wise ] %s: %.3g\n", ModeName(mode).c_str(), relative);
  EXPECT_LE(relative, mode.precision == Precision::kFp32
                          ? 1e-4
                          : 5e-3 * Coarseness(mode.precision))
      << "norm-wise relative error";
}

double Rms(const std::vector<double>& values) {
  double squares = 0.0;
  for (double v : values) squares += v * v;
  return values.empty() ? 0.0 : std::sqrt(squares / values.size());
}

Result<std::unique_ptr<CudaEncoder>> OpenFixture(const std::string& model,
                                                 const Mode& mode,
                                                 bool graphs = true) {
  CASCADE_ASSIGN_OR_RETURN(ModelConfig config,
                           LoadModelConfig(kFixtures + "/" + model));
  CASCADE_ASSIGN_OR_RETURN(BertWeights weights, LoadBertWeights(config));
  CudaEncoderOptions options;
  options.precision = mode.precision;
  options.attention = mode.attention;
  options.cuda_graphs = graphs;
  return CudaEncoder::Create(std::move(config), std::move(weights), options);
}

// --- Without a device -----------------------------------------------------------

TEST(CudaEncoderTest, CreateWithoutDeviceIsUnavailable) {
  if (HaveDevice()) GTEST_SKIP() << "a CUDA device is visible";
  auto created = OpenFixture("cross-encoder", kModes[0]);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), Status::Code::kUnavailable)
      << created.status().ToString();
}

// --- Parity with transformers ----------------------------------------------------

TEST(CudaEncoderTest, CrossEncoderMatchesTransformers) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<Example> examples = ReadExpected("cross-encoder", {"logit"});
  ASSERT_EQ(examples.size(), 48u);
  std::vector<double> expected;
  for (const Example& e : examples) expected.push_back(e.outputs[0][0]);
  const double rms = Rms(expected);
  for (const Mode& mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("cross-encoder", mode));
    ASSERT_OK_AND_ASSIGN(std::vector<float> scores,
                         encoder->Score(Pack(examples)));
    ASSERT_EQ(scores.size(), examples.size());
    ExpectNormwiseClose(scores, expected, mode);
    for (size_t i = 0; i < examples.size(); ++i) {
      EXPECT_NEAR(scores[i], expected[i],
                  Tolerance(mode.precision, expected[i], rms))
          << "pair " << i;
    }
  }
}

TEST(CudaEncoderTest, BiEncoderMatchesTransformers) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<Example> examples =
      ReadExpected("bi-encoder", {"normalized_mean", "cls"});
  ASSERT_EQ(examples.size(), 48u);
  const PairBatch batch = Pack(examples);
  std::vector<double> all;
  for (const Example& e : examples) {
    all.insert(all.end(), e.outputs[0].begin(), e.outputs[0].end());
  }
  const double rms = Rms(all);
  for (const Mode& mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("bi-encoder", mode));
    ASSERT_OK_AND_ASSIGN(std::vector<float> embeddings, encoder->Embed(batch));
    ASSERT_OK_AND_ASSIGN(std::vector<float> hidden, encoder->TEST_Encode(batch));
    const size_t h = examples[0].outputs[0].size();
    ASSERT_EQ(embeddings.size(), examples.size() * h);
    ASSERT_EQ(hidden.size(), batch.token_ids.size() * h);
    ExpectNormwiseClose(embeddings, all, mode);
    for (size_t s = 0; s < examples.size(); ++s) {
      for (size_t i = 0; i < h; ++i) {
        const double want = examples[s].outputs[0][i];
        EXPECT_NEAR(embeddings[s * h + i], want,
                    Tolerance(mode.precision, want, rms))
            << "sequence " << s << " dim " << i;
        const double cls = examples[s].outputs[1][i];
        EXPECT_NEAR(hidden[batch.offsets[s] * h + i], cls,
                    mode.precision == Precision::kFp32
                        ? 1e-4
                        : 2e-2 * Coarseness(mode.precision) *
                              std::max(std::abs(cls), 1.0))
            << "cls, sequence " << s << " dim " << i;
      }
    }
  }
}

TEST(CudaEncoderTest, TokenWeigherMatchesTransformers) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<Example> examples = ReadExpected("tildev2", {"weights"});
  ASSERT_FALSE(examples.empty());
  std::vector<double> all;
  for (const Example& e : examples) {
    all.insert(all.end(), e.outputs[0].begin(), e.outputs[0].end());
  }
  const double rms = Rms(all);
  for (const Mode& mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("tildev2", mode));
    ASSERT_OK_AND_ASSIGN(std::vector<float> weights,
                         encoder->WeighTokens(Pack(examples)));
    ASSERT_EQ(weights.size(), all.size());
    ExpectNormwiseClose(weights, all, mode);
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_NEAR(weights[i], all[i], Tolerance(mode.precision, all[i], rms))
          << "token " << i;
    }
  }
}

// --- Against itself -------------------------------------------------------------

TEST(CudaEncoderTest, BatchScoresEqualScoresAlone) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<Example> examples = ReadExpected("cross-encoder", {"logit"});
  for (const Mode& mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("cross-encoder", mode));
    ASSERT_OK_AND_ASSIGN(std::vector<float> together,
                         encoder->Score(Pack(examples)));
    for (size_t i = 0; i < examples.size(); ++i) {
      ASSERT_OK_AND_ASSIGN(std::vector<float> alone,
                           encoder->Score(Pack({examples[i]})));
      ASSERT_EQ(alone.size(), 1u);
      const double tolerance =
          mode.precision == Precision::kFp32
              ? 1e-5
              : 2e-3 * std::max(1.0, std::abs(static_cast<double>(alone[0])));
      EXPECT_NEAR(together[i], alone[0], tolerance) << "pair " << i;
    }
  }
}

TEST(CudaEncoderTest, GraphReplayGivesTheSameScores) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<Example> examples = ReadExpected("cross-encoder", {"logit"});
  const PairBatch batch = Pack(examples);
  ASSERT_OK_AND_ASSIGN(auto direct,
                       OpenFixture("cross-encoder", kModes[0], false));
  ASSERT_OK_AND_ASSIGN(auto graphed,
                       OpenFixture("cross-encoder", kModes[0], true));
  ASSERT_OK_AND_ASSIGN(std::vector<float> want, direct->Score(batch));
  for (int run = 0; run < 4; ++run) {
    ASSERT_OK_AND_ASSIGN(std::vector<float> got, graphed->Score(batch));
    EXPECT_EQ(got, want) << "run " << run;
  }
  // First run direct, second captures, later ones replay.
  EXPECT_EQ(graphed->TEST_GraphReplays(), 3u);
  EXPECT_EQ(direct->TEST_GraphReplays(), 0u);
}

TEST(CudaEncoderTest, BuffersGrowForLargerBatches) {
  SKIP_WITHOUT_DEVICE();
  ASSERT_OK_AND_ASSIGN(ModelConfig config,
                       LoadModelConfig(kFixtures + "/cross-encoder"));
  ASSERT_OK_AND_ASSIGN(BertWeights weights, LoadBertWeights(config));
  CudaEncoderOptions small;
  small.reserve_tokens = 16;
  ASSERT_OK_AND_ASSIGN(auto grown,
                       CudaEncoder::Create(config, weights, small));
  CudaEncoderOptions big;
  big.reserve_tokens = 1 << 16;
  ASSERT_OK_AND_ASSIGN(auto roomy, CudaEncoder::Create(config, weights, big));
  for (int pairs : {1, 40, 200, 3}) {
    const PairBatch batch = RandomMixedPairs(pairs, 3, 128,
                                             config.bert.vocab_size, pairs);
    ASSERT_OK_AND_ASSIGN(std::vector<float> a, grown->Score(batch));
    ASSERT_OK_AND_ASSIGN(std::vector<float> b, roomy->Score(batch));
    ASSERT_EQ(a.size(), static_cast<size_t>(pairs));
    for (int i = 0; i < pairs; ++i) {
      EXPECT_NEAR(a[i], b[i], 2e-3 * std::max(1.0f, std::abs(b[i])))
          << pairs << " pairs, pair " << i;
    }
  }
}

TEST(CudaEncoderTest, BadBatchesAreRefusedAndLeaveTheEncoderHealthy) {
  SKIP_WITHOUT_DEVICE();
  ASSERT_OK_AND_ASSIGN(auto encoder, OpenFixture("cross-encoder", kModes[0]));
  PairBatch bad;
  bad.token_ids = {101, 999999, 102};
  bad.segment_ids = {0, 0, 0};
  bad.offsets = {0, 3};
  Status s = encoder->Score(bad).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("sequence 0"), std::string::npos) << s.ToString();
  EXPECT_TRUE(encoder->Healthy().ok());
  s = encoder->Embed(Pack(ReadExpected("cross-encoder", {"logit"}))).status();
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  ASSERT_OK_AND_ASSIGN(std::vector<float> none, encoder->Score(PairBatch()));
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(encoder->Healthy().ok());
}

// --- Against the CPU encoder on other shapes ----------------------------------------
//
// Head sizes 5 (padded to 16), 32, 64 and 128; every activation; every
// head; sequences from 1 to 300 tokens, so that queries and keys span
// several 64-row tiles with ragged ends.

struct Shape {
  int hidden, heads;
  Activation activation;
  ModelKind kind;
  int labels;
};

void PrintTo(const Shape& s, std::ostream* os) {
  *os << "hidden " << s.hidden << ", " << s.heads << " heads, "
      << ModelKindName(s.kind);
}

class CpuParityTest : public ::testing::TestWithParam<Shape> {};

TEST_P(CpuParityTest, MatchesTheCpuEncoder) {
  SKIP_WITHOUT_DEVICE();
  const Shape shape = GetParam();
  ModelConfig config;
  config.kind = shape.kind;
  config.num_labels = shape.labels;
  config.pooling = Pooling::kMean;
  config.normalize = true;
  BertConfig& c = config.bert;
  c.vocab_size = 500;
  c.hidden_size = shape.hidden;
  c.num_heads = shape.heads;
  c.num_layers = 2;
  c.intermediate_size = 2 * shape.hidden + 8;
  c.max_position_embeddings = 300;
  c.type_vocab_size = 2;
  c.layer_norm_eps = 1e-5f;
  c.activation = shape.activation;
  const BertWeights weights = RandomBertWeights(
      config, 17, 1.5f / std::sqrt(static_cast<float>(shape.hidden)), true);
  const PairBatch batch = RandomMixedPairs(12, 1, 300, c.vocab_size, 5);

  ASSERT_OK_AND_ASSIGN(auto cpu, CpuEncoder::Create(config, weights, {}));
  auto run = [&](Backend& b) -> Result<std::vector<float>> {
    switch (config.kind) {
      case ModelKind::kCrossEncoder:
        return b.Score(batch);
      case ModelKind::kBiEncoder:
        return b.Embed(batch);
      case ModelKind::kTokenWeigher:
        return b.WeighTokens(batch);
    }
    return Status::Internal("kind");
  };
  ASSERT_OK_AND_ASSIGN(std::vector<float> want, run(*cpu));
  std::vector<double> want_d(want.begin(), want.end());
  const double rms = Rms(want_d);
  for (const Mode& mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    CudaEncoderOptions options;
    options.precision = mode.precision;
    options.attention = mode.attention;
    ASSERT_OK_AND_ASSIGN(auto gpu, CudaEncoder::Create(config, weights, options));
    ASSERT_OK_AND_ASSIGN(std::vector<float> got, run(*gpu));
    ASSERT_EQ(got.size(), want.size());
    ExpectNormwiseClose(got, want_d, mode);
    for (size_t i = 0; i < got.size(); ++i) {
      // Against another float implementation: 1e-4 relative in fp32.
      const double tolerance =
          mode.precision == Precision::kFp32
              ? 1e-4 * std::max(1.0, std::abs(want_d[i]))
              : 2e-2 * Coarseness(mode.precision) *
                    std::max(std::abs(want_d[i]), rms);
      ASSERT_NEAR(got[i], want_d[i], tolerance) << "output " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuParityTest,
    ::testing::Values(
        Shape{20, 4, Activation::kGeluErf, ModelKind::kCrossEncoder, 1},
        Shape{384, 12, Activation::kGeluErf, ModelKind::kCrossEncoder, 1},
        Shape{256, 4, Activation::kGeluTanh, ModelKind::kCrossEncoder, 2},
        Shape{256, 2, Activation::kRelu, ModelKind::kBiEncoder, 1},
        Shape{96, 3, Activation::kGeluErf, ModelKind::kTokenWeigher, 1}),
    [](const ::testing::TestParamInfo<Shape>& info) {
      const Shape& s = info.param;
      std::string name = "hidden" + std::to_string(s.hidden) + "_heads" +
                         std::to_string(s.heads) + "_" +
                         std::string(ModelKindName(s.kind));
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace cascade::gpu
