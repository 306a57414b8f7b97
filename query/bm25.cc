#include "query/bm25.h"

#include <cmath>

namespace cascade::query {

float Bm25Idf(uint64_t doc_freq, uint64_t doc_count) {
  const double df = static_cast<double>(doc_freq);
  const double n = static_cast<double>(doc_count);
  return static_cast<float>(std::log(1.0 + (n - df + 0.5) / (df + 0.5)));
}

Bm25Scorer::Bm25Scorer(const Bm25Params& params,
                       const index::CollectionStats& stats,
                       index::LengthNorm norm)
    : Bm25Scorer(params, index::FieldStats{stats.docs_with_terms, stats.sum_lengths}, norm) {}

Bm25Scorer::Bm25Scorer(const Bm25Params& params, const index::FieldStats& stats,
                       index::LengthNorm norm)
    : k1_(params.k1), b_(params.b), norm_(norm) {
  avgdl_ = stats.docs_with_terms == 0
               ? 1.0f
               : static_cast<float>(static_cast<double>(stats.sum_lengths) /
                                    static_cast<double>(stats.docs_with_terms));
  for (int i = 0; i < 256; ++i) {
    const float dl = static_cast<float>(NormByteToLength(static_cast<uint8_t>(i)));
    cache_[i] = static_cast<float>(k1_ * ((1 - b_) + b_ * dl / avgdl_));
  }
}

}  // namespace cascade::query
