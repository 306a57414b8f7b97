// The reranking cascade after the first stage: each stage rescores the top
// `depth` candidates of the stage before it with a costlier model, within an
// optional time budget, and reports what it did.
//
// Stage semantics (the same for every reranker):
//  - the stage takes the first min(depth, n) candidates of the current
//    order and scores them in that order;
//  - if its budget runs out, it stops after the batch in progress: the
//    candidates it scored are sorted by their new score (ties keep the
//    previous order) ahead of the ones it did not reach, which keep their
//    previous order, and the report says budget_exhausted;
//  - candidates below the depth keep their previous order below the
//    reranked ones;
//  - a candidate's `score` is the score of the last stage that scored it.
//
// Stages:
//  tilde  sum of the candidate's stored TILDEv2 weights over the query's
//         tokens (tilde_query.h), optionally interpolated with the previous
//         score: alpha * tilde + (1 - alpha) * previous. No model runs.
//  ce     a cross-encoder over (query, passage). Passages longer than the
//         model's maximum are truncated (longest-first) or, with kChunk,
//         split into overlapping windows scored separately; the passage
//         takes its best window's score.
//
// Thread-safety: RunRerankStages may run on many threads at once if the
// CandidateSource and the cross-encoder runner allow it.
#ifndef CASCADE_RERANK_PIPELINE_H_
#define CASCADE_RERANK_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"
#include "gpu/backend.h"
#include "query/cascade_spec.h"
#include "rerank/tilde.h"
#include "rerank/tilde_query.h"
#include "rerank/wordpiece.h"

namespace cascade::rerank {

// What the stages read of the candidates (the index, in the engine).
class CandidateSource {
 public:
  virtual ~CandidateSource() = default;
  // The stored TILDE weights of each doc (encoded, tilde.h), nullopt for a
  // doc that has none. One call per batch of candidates.
  virtual Status ReadTermWeights(std::span<const uint32_t> docs,
                                 std::vector<std::optional<std::string>>* out) = 0;
  // The passage the cross-encoder reads: title and text.
  virtual Result<std::string> Passage(uint32_t doc) = 0;
};

enum class LongPassages { kTruncate, kChunk };
Result<LongPassages> ParseLongPassages(std::string_view name);  // truncate|chunk

struct RerankOptions {
  // TILDE: weight of the TILDE score against the previous stage's, in [0, 1].
  double tilde_alpha = 1.0;
  LongPassages long_passages = LongPassages::kTruncate;
  // Chunking: tokens shared by consecutive windows (at most half a window),
  // and windows per passage (later text is not read).
  size_t chunk_overlap = 64;
  size_t max_chunks = 16;
};

// Model-side inputs; a stage whose inputs are missing is an error.
struct RerankModels {
  // TILDE: the index's query encoder and weight scale.
  const TildeQueryEncoder* tilde = nullptr;
  std::optional<TildeQuantizer> tilde_quantizer;
  // Cross-encoder: its tokenizer, maximum length, and a runner returning one
  // score per sequence of a batch (e.g. a BatchQueue).
  const WordPieceTokenizer* ce_tokenizer = nullptr;
  size_t ce_max_length = 0;
  std::function<Result<std::vector<float>>(gpu::PairBatch)> ce_run;
  // Sequences per cross-encoder call when the stage has a budget (the
  // clock is checked between calls).
  size_t ce_budget_batch = 16;
};

struct RankedCandidate {
  uint32_t doc = 0;
  float score = 0;
  // One entry per stage (first stage included), when explaining: the
  // candidate's 1-based rank and score after that stage; nullopt where the
  // stage did not score it.
  struct StageScore {
    size_t rank = 0;
    float score = 0;
  };
  std::vector<std::optional<StageScore>> stages;
};

struct StageReport {
  query::StageKind kind = query::StageKind::kBm25;
  size_t depth = 0;       // the spec's depth
  size_t candidates = 0;  // candidates the stage was given to score
  size_t scored = 0;      // of which it scored before its budget ran out
  size_t sequences = 0;   // cross-encoder sequences run (chunks included)
  double took_ms = 0;
  std::optional<double> budget_ms;
  bool budget_exhausted = false;
  // Set when the stage's model or data failed: the candidates kept the
  // previous order (scored = 0), and later stages still ran.
  std::string error;
};

// Checks that every stage after the first can run with `models`:
// InvalidArgument naming the stage and what is missing.
Status CheckRerankModels(std::span<const query::StageSpec> stages,
                         const RerankModels& models);

// Runs stages[1..] over `candidates` (the first stage's output, best first).
// With `explain`, each candidate's `stages` gets one entry per stage
// (callers fill entry 0 for the first stage). Appends one report per stage
// run. A stage that fails is reported (StageReport::error) and skipped,
// except for overload and shutdown (ResourceExhausted, Unavailable) and bad
// options, which are returned.
Status RunRerankStages(std::string_view query,
                       std::span<const query::StageSpec> stages,
                       CandidateSource& source, const RerankModels& models,
                       const RerankOptions& options, bool explain,
                       std::vector<RankedCandidate>* candidates,
                       std::vector<StageReport>* reports);

}  // namespace cascade::rerank

#endif  // CASCADE_RERANK_PIPELINE_H_
