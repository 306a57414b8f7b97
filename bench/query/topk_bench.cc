// Top-k per algorithm on a generated corpus: queries/s of Searcher for
// exhaustive, WAND, block-max WAND, block-max MaxScore and kAuto, k 10, 100
// and 1000. The corpus (seeded) is indexed once, outside the timed loops,
// into a temporary folder: 100,000 documents of 10..150 words drawn from a
// Zipf(1) vocabulary of 50,000 words (~8 M postings, one segment). Queries
// are 1..5 words, also Zipf-drawn (so they mix long and short lists), run
// in turn, one per iteration, through SearchTerms (no analysis).
// total_hits_threshold is 0 so pruning starts at once (engine default:
// 1000).
//
// The second corpus (fields 1) is the same with a title of 3..12 words per
// document, indexed as a text field of weight 2 beside contents
// (field_values.h): each query word is then two lists, contents' and the
// title's, each scored with its own length statistics.
//
//   build/bench/topk_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/store.h"
#include "query/searcher.h"

namespace {

namespace fs = std::filesystem;
using cascade::query::Algorithm;

constexpr uint32_t kDocs = 100000;
constexpr uint32_t kVocab = 50000;
constexpr int kQueries = 500;

class Zipf {
 public:
  explicit Zipf(uint32_t n) : cdf_(n) {
    double sum = 0;
    for (uint32_t i = 0; i < n; ++i) cdf_[i] = sum += 1.0 / (i + 1);
    for (double& c : cdf_) c /= sum;
  }
  uint32_t operator()(std::mt19937& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<uint32_t>(std::min<size_t>(
        std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin(), cdf_.size() - 1));
  }

 private:
  std::vector<double> cdf_;
};

struct Fixture {
  fs::path dir;
  std::shared_ptr<const cascade::index::IndexReader> reader;
  std::vector<std::vector<std::pair<std::string, uint32_t>>> queries;
  cascade::Status status;
  ~Fixture() {
    reader.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Fixture* Build(bool fields) {
  auto* f = new Fixture;
  f->dir = fs::temp_directory_path() / ("cascade_topk_bench_" + std::to_string(getpid()) +
                                        (fields ? "_fields" : ""));
  {
    fs::remove_all(f->dir);
    cascade::index::StoreOptions options;
    options.create_if_missing = true;
    options.create_options.analyzer.stemmer = "none";
    options.create_options.analyzer.stopwords = false;
    if (fields) options.create_options.fields.text_fields = {{"title", 2}};
    auto store = cascade::index::Store::Open(f->dir.string(), options);
    if (!store.ok()) {
      f->status = store.status();
      return f;
    }
    std::mt19937 rng(2024);
    Zipf zipf(kVocab);
    {
      auto writer = cascade::index::IndexWriter::Open(*store, {});
      if (!writer.ok()) {
        f->status = writer.status();
        return f;
      }
      for (uint32_t d = 0; d < kDocs; ++d) {
        cascade::index::Document doc;
        doc.id = "d" + std::to_string(d);
        const uint32_t len = std::uniform_int_distribution<uint32_t>(10, 150)(rng);
        for (uint32_t i = 0; i < len; ++i) doc.text += "w" + std::to_string(zipf(rng)) + " ";
        if (fields) {
          const uint32_t title = std::uniform_int_distribution<uint32_t>(3, 12)(rng);
          for (uint32_t i = 0; i < title; ++i) {
            doc.title.append("w").append(std::to_string(zipf(rng))).append(" ");
          }
        }
        f->status = (*writer)->Add(doc);
        if (!f->status.ok()) return f;
      }
      f->status = (*writer)->Commit();
      if (!f->status.ok()) return f;
    }
    auto reader = cascade::index::IndexReader::Open(*store);
    if (!reader.ok()) {
      f->status = reader.status();
      return f;
    }
    f->reader = std::move(*reader);
    for (int q = 0; q < kQueries; ++q) {
      const uint32_t n = std::uniform_int_distribution<uint32_t>(1, 5)(rng);
      std::vector<std::pair<std::string, uint32_t>> terms;
      for (uint32_t i = 0; i < n; ++i) {
        // Skip the 20 most frequent words: stop-word-like lists.
        const std::string w = "w" + std::to_string(20 + zipf(rng) % (kVocab - 20));
        if (std::none_of(terms.begin(), terms.end(),
                         [&](const auto& t) { return t.first == w; })) {
          terms.emplace_back(w, 1);
        }
      }
      f->queries.push_back(std::move(terms));
    }
  }
  return f;
}

Fixture* Get(bool fields) {
  static Fixture* plain = Build(false);
  if (!fields) return plain;
  static Fixture* with_fields = Build(true);
  return with_fields;
}

void BM_TopK(benchmark::State& state) {
  Fixture* f = Get(state.range(2) != 0);
  if (!f->status.ok()) {
    state.SkipWithError(f->status.ToString().c_str());
    return;
  }
  auto searcher = cascade::query::Searcher::Create(f->reader);
  if (!searcher.ok()) {
    state.SkipWithError(searcher.status().ToString().c_str());
    return;
  }
  cascade::query::SearchParams params;
  params.algorithm = static_cast<Algorithm>(state.range(0));
  params.k = static_cast<size_t>(state.range(1));
  params.total_hits_threshold = 0;
  size_t q = 0;
  uint64_t hits = 0;
  for (auto _ : state) {
    auto top = (*searcher)->SearchTerms(f->queries[q], params);
    if (!top.ok()) {
      state.SkipWithError(top.status().ToString().c_str());
      break;
    }
    hits += top->hits.size();
    q = (q + 1) % f->queries.size();
  }
  benchmark::DoNotOptimize(hits);
  state.SetLabel(std::string(cascade::query::AlgorithmName(params.algorithm)));
  state.SetItemsProcessed(state.iterations());  // queries
}

BENCHMARK(BM_TopK)
    ->ArgsProduct({{static_cast<int>(Algorithm::kExhaustive), static_cast<int>(Algorithm::kWand),
                    static_cast<int>(Algorithm::kBmw), static_cast<int>(Algorithm::kMaxScore),
                    static_cast<int>(Algorithm::kAuto)},
                   {10, 100, 1000},
                   {0, 1}})
    ->ArgNames({"algorithm", "k", "fields"})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
