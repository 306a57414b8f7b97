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
#include <string>
#include <vector>

#include "gpu/backend.h"
#include "gpu/cpu/cpu_encoder.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"
#include "gpu/model/random_bert.h"

namespace cascade::gpu {
namespace {

using Gemm = CpuEncoderOptions::Gemm;

// One encoder per GEMM engine, built on first use and kept for all runs:
// generating 22M random weights takes a while.
Result<CpuEncoder*> SharedEncoder(Gemm gemm) {
  static std::map<Gemm, Result<std::unique_ptr<CpuEncoder>>> encoders;
  auto it = encoders.find(gemm);
  if (it == encoders.end()) {
    ModelConfig config = CrossEncoderShape("minilm-l6").value();
    BertWeights weights = RandomBertWeights(config, 42);
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
  const PairBatch batch = RandomPairs(pairs, length, 30522, 7);
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
