// Posting-list encode/decode throughput (postings/s) for a sweep of list
// lengths and average gaps. Lists are generated outside the timed loop with
// a fixed seed.
//
//   build/bench/posting_codec_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "index/posting_codec.h"

namespace {

struct List {
  std::vector<uint32_t> docs, tfs;
};

List MakeList(size_t n, uint32_t mean_gap) {
  std::mt19937 rng(42);
  std::geometric_distribution<uint32_t> gap(1.0 / mean_gap);
  std::geometric_distribution<uint32_t> tf(0.6);
  List list;
  uint32_t doc = 0;
  for (size_t i = 0; i < n; ++i) {
    doc += gap(rng) + (i ? 1 : 0);
    list.docs.push_back(doc);
    list.tfs.push_back(1 + tf(rng));
  }
  return list;
}

void BM_Encode(benchmark::State& state) {
  const List list = MakeList(state.range(0), static_cast<uint32_t>(state.range(1)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    cascade::index::EncodePostings(list.docs, list.tfs, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["bytes_per_posting"] =
      static_cast<double>(out.size()) / static_cast<double>(state.range(0));
}

void BM_Decode(benchmark::State& state) {
  const List list = MakeList(state.range(0), static_cast<uint32_t>(state.range(1)));
  std::string bytes;
  cascade::index::EncodePostings(list.docs, list.tfs, &bytes);
  std::vector<uint32_t> docs, tfs;
  for (auto _ : state) {
    cascade::Status s = cascade::index::DecodePostings(bytes, &docs, &tfs);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(docs.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_Encode)->ArgsProduct({{128, 10000, 1000000}, {2, 64}});
BENCHMARK(BM_Decode)->ArgsProduct({{128, 10000, 1000000}, {2, 64}});

}  // namespace

BENCHMARK_MAIN();
