// CpuEncoder::Score throughput (pairs/s) on a cross-encoder of the shape of
// cross-encoder/ms-marco-MiniLM-L-6-v2: hidden 384, 6 layers, 12 heads,
// FFN 1536, vocab 30522, 512 positions. The weights are random (fixed seed):
// speed does not depend on their values, and the bench needs no checkpoint.
// Every pair in a batch has the same length, as when candidates are
// truncated to max_length, to line up with PyTorch figures at fixed padding.
//
// Arguments: seq_len (tokens per pair) x batch (pairs per Score call). The
// encoder uses every core (CpuEncoderOptions::threads = 0); timings are wall
// clock, since the work runs on several threads. BM_CpuEncoderScore runs
// what Create() picks for this CPU (gemm kAuto: our AVX-512 kernel where
// the CPU has it); BM_CpuEncoderScore_Blas forces cblas_sgemm for
// comparison (skipped in builds without BLAS).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gpu/backend.h"
#include "gpu/cpu/cpu_encoder.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"

namespace cascade::gpu {
namespace {

ModelConfig MiniLmConfig() {
  ModelConfig config;
  config.architecture = "BertForSequenceClassification";
  config.kind = ModelKind::kCrossEncoder;
  config.num_labels = 1;
  BertConfig& b = config.bert;
  b.vocab_size = 30522;
  b.hidden_size = 384;
  b.num_layers = 6;
  b.num_heads = 12;
  b.intermediate_size = 1536;
  b.max_position_embeddings = 512;
  b.type_vocab_size = 2;
  b.layer_norm_eps = 1e-12f;
  b.activation = Activation::kGeluErf;
  return config;
}

// Uniform weights of about BERT's initialiser scale (std 0.02 -> +-0.035),
// LayerNorm at its initial identity, so activations stay in a normal range.
BertWeights RandomWeights(const ModelConfig& config, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-0.035f, 0.035f);
  auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = uniform(rng);
    return v;
  };
  const BertConfig& c = config.bert;
  const size_t h = c.hidden_size;
  auto linear = [&](int in, int out) {
    LinearWeights l;
    l.in = in;
    l.out = out;
    l.weight = fill(static_cast<size_t>(in) * out);
    l.bias = fill(out);
    return l;
  };
  auto norm = [&] {
    LayerNormWeights n;
    n.gamma.assign(h, 1.0f);
    n.beta.assign(h, 0.0f);
    return n;
  };
  BertWeights w;
  w.word_embeddings = fill(c.vocab_size * h);
  w.position_embeddings = fill(c.max_position_embeddings * h);
  w.token_type_embeddings = fill(c.type_vocab_size * h);
  w.embedding_norm = norm();
  for (int i = 0; i < c.num_layers; ++i) {
    BertLayerWeights layer;
    layer.query = linear(c.hidden_size, c.hidden_size);
    layer.key = linear(c.hidden_size, c.hidden_size);
    layer.value = linear(c.hidden_size, c.hidden_size);
    layer.attention_output = linear(c.hidden_size, c.hidden_size);
    layer.attention_norm = norm();
    layer.intermediate = linear(c.hidden_size, c.intermediate_size);
    layer.output = linear(c.intermediate_size, c.hidden_size);
    layer.output_norm = norm();
    w.layers.push_back(std::move(layer));
  }
  w.pooler = linear(c.hidden_size, c.hidden_size);
  w.classifier = linear(c.hidden_size, config.num_labels);
  return w;
}

// `pairs` sequences of `length` tokens: [CLS] query [SEP] passage [SEP],
// the query a quarter of the tokens.
PairBatch MakeBatch(int pairs, int length, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> word(1000, 29999);
  PairBatch batch;
  batch.offsets.push_back(0);
  const int query_end = std::max(2, length / 4);
  for (int p = 0; p < pairs; ++p) {
    for (int t = 0; t < length; ++t) {
      int32_t id = word(rng);
      if (t == 0) id = 101;                             // [CLS]
      if (t == query_end || t == length - 1) id = 102;  // [SEP]
      batch.token_ids.push_back(id);
      batch.segment_ids.push_back(t > query_end ? 1 : 0);
    }
    batch.offsets.push_back(static_cast<int32_t>(batch.token_ids.size()));
  }
  return batch;
}

using Gemm = CpuEncoderOptions::Gemm;

// One encoder per GEMM engine, built on first use and kept for all runs:
// generating 22M random weights takes a while.
Result<CpuEncoder*> SharedEncoder(Gemm gemm) {
  static std::map<Gemm, Result<std::unique_ptr<CpuEncoder>>> encoders;
  auto it = encoders.find(gemm);
  if (it == encoders.end()) {
    ModelConfig config = MiniLmConfig();
    BertWeights weights = RandomWeights(config, 42);
    CpuEncoderOptions options;
    options.gemm = gemm;
    it = encoders
             .emplace(gemm, CpuEncoder::Create(std::move(config),
                                               std::move(weights), options))
             .first;
  }
  if (!it->second.ok()) return it->second.status();
  return it->second->get();
}

void RunScore(benchmark::State& state, Gemm gemm) {
  const int length = static_cast<int>(state.range(0));
  const int pairs = static_cast<int>(state.range(1));
  Result<CpuEncoder*> encoder = SharedEncoder(gemm);
  if (!encoder.ok()) {
    state.SkipWithError(encoder.status().ToString().c_str());
    return;
  }
  const PairBatch batch = MakeBatch(pairs, length, 7);
  // The first call grows the encoder's buffers; keep it out of the timing.
  Status warm = (*encoder)->Score(batch).status();
  if (!warm.ok()) {
    state.SkipWithError(warm.ToString().c_str());
    return;
  }
  for (auto _ : state) {
    Result<std::vector<float>> scores = (*encoder)->Score(batch);
    if (!scores.ok()) {
      state.SkipWithError(scores.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(scores->data());
  }
  const double runs = static_cast<double>(state.iterations());
  state.counters["pairs/s"] =
      benchmark::Counter(runs * pairs, benchmark::Counter::kIsRate);
  state.counters["tokens/s"] =
      benchmark::Counter(runs * pairs * length, benchmark::Counter::kIsRate);
}

void BM_CpuEncoderScore(benchmark::State& state) {
  RunScore(state, Gemm::kAuto);
}
void BM_CpuEncoderScore_Blas(benchmark::State& state) {
  RunScore(state, Gemm::kBlas);
}

BENCHMARK(BM_CpuEncoderScore)
    ->ArgNames({"seq_len", "batch"})
    ->ArgsProduct({{128, 256}, {32, 100}})
    ->UseRealTime()
    ->MinTime(3.0)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CpuEncoderScore_Blas)
    ->ArgNames({"seq_len", "batch"})
    ->ArgsProduct({{128, 256}, {32, 100}})
    ->UseRealTime()
    ->MinTime(3.0)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cascade::gpu

BENCHMARK_MAIN();
