// WordPiece tokenizer throughput (MB/s of UTF-8 input) on real text: the
// titles and texts of a BEIR corpus from ../shared/data (default cacm; set
// CASCADE_BENCH_CORPUS to another folder), tokenized one document per call
// with the bert-base-uncased vocabulary of tests/data/hf-bert/cross-encoder.
//
//   build/bench/tokenizer_bench
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "index/corpus_reader.h"
#include "rerank/wordpiece.h"

namespace {

std::vector<std::string> LoadTexts(std::string* error) {
  const char* env = std::getenv("CASCADE_BENCH_CORPUS");
  const std::string corpus =
      env ? env : std::string(CASCADE_SHARED_DIR) + "/data/cacm";
  auto reader = cascade::index::CorpusReader::Open({corpus}, {});
  if (!reader.ok()) {
    *error = reader.status().ToString();
    return {};
  }
  std::vector<std::string> texts;
  cascade::index::CorpusRecord record;
  while (true) {
    auto more = (*reader)->Next(&record);
    if (!more.ok() || !*more) break;
    texts.push_back(record.doc.title + " " + record.doc.text);
  }
  return texts;
}

void BM_WordPiece(benchmark::State& state) {
  std::string error;
  static const std::vector<std::string> texts = LoadTexts(&error);
  if (texts.empty()) {
    state.SkipWithError(("no corpus: " + error).c_str());
    return;
  }
  auto tokenizer = cascade::rerank::WordPieceTokenizer::FromFolder(
      std::string(CASCADE_SOURCE_DIR) + "/tests/data/hf-bert/cross-encoder");
  if (!tokenizer.ok()) {
    state.SkipWithError(tokenizer.status().ToString().c_str());
    return;
  }
  size_t bytes = 0, tokens = 0;
  std::vector<int32_t> ids;
  for (auto _ : state) {
    for (const std::string& text : texts) {
      ids.clear();
      (*tokenizer)->Tokenize(text, &ids);
      bytes += text.size();
      tokens += ids.size();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WordPiece)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
