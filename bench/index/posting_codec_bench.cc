// Posting-list encode/decode throughput (postings/s) for a sweep of list
// lengths and average gaps. Lists are generated outside the timed loop with
// a fixed seed.
//
// Also the bit-unpacking kernels alone (scalar vs AVX-512) and a cursor
// walk.
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

// One block of 128 values at a given bit width: the portable kernel
// (arg 0) against AVX-512 VBMI (arg 1). Values/s.
void BM_Unpack(benchmark::State& state) {
  const auto width = static_cast<uint32_t>(state.range(0));
  const bool simd = state.range(1) != 0;
  if (simd && !cascade::index::HaveAvx512Unpack()) {
    state.SkipWithError("no AVX-512 VBMI on this CPU");
    return;
  }
  std::mt19937 rng(7);
  const uint64_t limit = width == 32 ? 0xffffffffull : (1ull << width) - 1;
  std::uniform_int_distribution<uint64_t> value(0, limit);
  std::vector<uint32_t> values(cascade::index::kBlockSize);
  for (uint32_t& v : values) v = static_cast<uint32_t>(value(rng));
  std::string packed;
  cascade::index::PackBits(values, width, &packed);
  const auto* in = reinterpret_cast<const unsigned char*>(packed.data());
  uint32_t out[cascade::index::kBlockSize];
  for (auto _ : state) {
    if (simd) {
      cascade::index::UnpackBitsAvx512(in, cascade::index::kBlockSize, width, out);
    } else {
      cascade::index::UnpackBitsScalar(in, cascade::index::kBlockSize, width, out);
    }
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * cascade::index::kBlockSize);
}

// A PostingCursor walking a whole list, reading every tf: what
// document-at-a-time scoring pays per posting when it cannot skip.
void BM_CursorScan(benchmark::State& state) {
  const List list = MakeList(state.range(0), static_cast<uint32_t>(state.range(1)));
  std::string bytes;
  cascade::index::EncodePostings(list.docs, list.tfs, &bytes);
  cascade::index::PostingCursor cursor;
  uint64_t sum = 0;
  for (auto _ : state) {
    cascade::Status s = cursor.Reset(bytes, UINT32_MAX);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    while (cursor.doc() != cascade::index::PostingCursor::kEnd) {
      sum += cursor.tf();
      cursor.Next();
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_Encode)->ArgsProduct({{128, 10000, 1000000}, {2, 64}});
BENCHMARK(BM_Unpack)->ArgsProduct({{1, 3, 5, 8, 13, 20, 32}, {0, 1}});
BENCHMARK(BM_CursorScan)->ArgsProduct({{10000, 1000000}, {2, 64}});
BENCHMARK(BM_Decode)->ArgsProduct({{128, 10000, 1000000}, {2, 64}});

}  // namespace

BENCHMARK_MAIN();
