// TILDE stage arithmetic: decode the stored TermWeights of N candidates and
// score a query against each (the work the stage does after fetching the
// candidates' weights from the index). Documents have 80 distinct
// WordPiece ids out of a 30,522 vocabulary with Zipf-like ids (fixed seed),
// queries 8 tokens. Reports candidates/s; one thread.
//
//   build/bench/tilde_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rerank/tilde.h"

namespace {

using cascade::rerank::TermWeights;

int32_t ZipfId(std::mt19937& rng) {
  // 1/x-shaped ids: many common tokens, a long tail.
  std::uniform_real_distribution<double> u(0.0, 1.0);
  return static_cast<int32_t>(std::pow(30522.0, u(rng))) - 1;
}

void BM_TildeRerank(benchmark::State& state) {
  const size_t candidates = static_cast<size_t>(state.range(0));
  std::mt19937 rng(7);
  std::vector<std::string> stored(candidates);
  for (std::string& bytes : stored) {
    std::set<int32_t> ids;
    while (ids.size() < 80) ids.insert(ZipfId(rng));
    TermWeights w;
    w.ids.assign(ids.begin(), ids.end());
    for (size_t i = 0; i < w.ids.size(); ++i) w.codes.push_back(1 + rng() % 255);
    cascade::rerank::EncodeTermWeights(w, &bytes);
  }
  std::vector<int32_t> query;
  for (int i = 0; i < 8; ++i) query.push_back(ZipfId(rng));
  const cascade::rerank::TildeQuantizer quantizer(0.01f);
  std::vector<float> scores(candidates);
  for (auto _ : state) {
    for (size_t c = 0; c < candidates; ++c) {
      auto w = cascade::rerank::DecodeTermWeights(stored[c]);
      if (!w.ok()) {
        state.SkipWithError(w.status().ToString().c_str());
        return;
      }
      scores[c] = cascade::rerank::TildeScore(query, *w, quantizer);
    }
    std::partial_sort(scores.begin(), scores.begin() + std::min<size_t>(200, candidates),
                      scores.end(), std::greater<float>());
    benchmark::DoNotOptimize(scores.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * candidates));
}
BENCHMARK(BM_TildeRerank)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
