// BM25 as Lucene (and so Anserini) computes it:
//   score(q, d) = sum over query terms t of
//       qtf(t) * idf(t) * tf / (tf + k1 * (1 - b + b * dl / avgdl))
//   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
// in single precision, where N counts documents with at least one term,
// avgdl = sum of lengths / N, and dl is either exact or Lucene's one-byte
// norm (SmallFloat.intToByte4), decoded. qtf is the term's count in the
// query (Anserini's bag-of-words query weights repeated terms so).
// Lucene 8+ dropped the constant (k1 + 1) factor; so do we, so that scores
// line up with Anserini's.
#ifndef CASCADE_QUERY_BM25_H_
#define CASCADE_QUERY_BM25_H_

#include <array>
#include <cstdint>

#include "index/index_options.h"
#include "index/index_reader.h"
#include "index/length_norm.h"

namespace cascade::query {

// Lucene's one-byte length norm (index/length_norm.h).
using index::LengthToNormByte;
using index::NormByteToLength;

struct Bm25Params {
  double k1 = 0.9;
  double b = 0.4;
};

float Bm25Idf(uint64_t doc_freq, uint64_t doc_count);

// Per-query scorer: precomputes the length factor for each norm byte.
class Bm25Scorer {
 public:
  Bm25Scorer(const Bm25Params& params, const index::CollectionStats& stats,
             index::LengthNorm norm);
  // For a text field: its own N and summed lengths.
  Bm25Scorer(const Bm25Params& params, const index::FieldStats& stats,
             index::LengthNorm norm);
  // k1 * (1 - b + b * dl / avgdl) for a document of `length` terms.
  float LengthFactor(uint32_t length) const {
    if (norm_ == index::LengthNorm::kLucene) {
      return cache_[LengthToNormByte(length)];
    }
    return static_cast<float>(k1_ * (1 - b_ + b_ * length / avgdl_));
  }
  // LengthFactor of local document `local` of `seg`: with Lucene norms,
  // from the reader's norm bytes (1 byte per document, where the lengths
  // take 4: fewer cache misses in a large segment); the same value.
  float LengthFactor(const index::SegmentInfo& seg, uint32_t local) const {
    if (norm_ == index::LengthNorm::kLucene) return cache_[seg.norms[local]];
    return LengthFactor(seg.lengths[local]);
  }
  // The same for a text field's lengths in a segment.
  float LengthFactor(const index::FieldLengths& field, uint32_t local) const {
    if (norm_ == index::LengthNorm::kLucene) return cache_[field.norms[local]];
    return LengthFactor(field.lengths[local]);
  }
  static float Score(float weight, uint32_t tf, float length_factor) {
    const auto f = static_cast<float>(tf);
    return weight * (f / (f + length_factor));
  }

 private:
  double k1_, b_;
  float avgdl_;
  index::LengthNorm norm_;
  std::array<float, 256> cache_{};
};

}  // namespace cascade::query

#endif  // CASCADE_QUERY_BM25_H_
