// Hybrid fusion: merges a BM25 ranking and a kNN ranking into one, by
// reciprocal rank fusion (Cormack et al., SIGIR 2009) or by a weighted sum
// of normalised scores. Pure code; no index.
//
// RRF:      score(d) = sum over lists containing d of 1 / (k + rank), rank
//           1-based.
// Weighted: score(d) = w * dense'(d) + (1 - w) * bm25'(d), where x' is the
//           list's score normalised: min-max to [0, 1] (all equal -> 1), or
//           z-score ((x - mean) / stddev; stddev 0 -> 0). A document absent
//           from a list gets that list's lowest normalised score.
// Ties: higher score first, then lower doc id.
#ifndef CASCADE_QUERY_FUSION_H_
#define CASCADE_QUERY_FUSION_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::query {

enum class FusionMethod { kRrf, kWeighted };
enum class ScoreNormalization { kMinMax, kZScore };

Result<FusionMethod> ParseFusionMethod(std::string_view name);
Result<ScoreNormalization> ParseScoreNormalization(std::string_view name);

struct RankedDoc {
  uint32_t doc = 0;
  float score = 0;
};

struct FusionOptions {
  FusionMethod method = FusionMethod::kRrf;
  double rrf_k = 60;  // > 0
  ScoreNormalization normalization = ScoreNormalization::kMinMax;
  double dense_weight = 0.5;  // in [0, 1]
};

struct FusedDoc {
  uint32_t doc = 0;
  double score = 0;
  // The document's place in each input (1-based rank and raw score).
  std::optional<size_t> bm25_rank, dense_rank;
  float bm25_score = 0, dense_score = 0;
};

// Fuses two rankings (each best first, doc ids distinct within a list).
// InvalidArgument for rrf_k <= 0 or dense_weight outside [0, 1].
Result<std::vector<FusedDoc>> Fuse(std::span<const RankedDoc> bm25,
                                   std::span<const RankedDoc> dense,
                                   const FusionOptions& options);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_FUSION_H_
