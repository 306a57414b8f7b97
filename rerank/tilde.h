// TILDEv2 exact-term scoring: the pieces shared by index time (turning a
// token weigher's per-position output into stored per-document weights) and
// query time (scoring candidates with no model at all).
//
// A document's TermWeights are its distinct WordPiece ids (special tokens
// left out) with the maximum weight each reached over its positions,
// quantized to 8 bits with a per-index scale (weight ~= code * scale). The
// TILDE score of a candidate is the sum, over the query's WordPiece ids
// (special and stop tokens removed; a repeated token counts each time), of
// the candidate's weight for that id, 0 where it has none.
//
// Encoding of TermWeights (for the index; never change without a format
// version bump): varint32 count, then count x (varint32 id gap from the
// previous id, 1 byte code), ids strictly increasing, first gap from 0.
//
// Thread-safety: plain values and pure functions.
#ifndef CASCADE_RERANK_TILDE_H_
#define CASCADE_RERANK_TILDE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::rerank {

// Weight <-> 8-bit code. Codes 1..255 cover (0, max_weight]; weights <= 0
// (ReLU output) are code 0 and are not stored.
class TildeQuantizer {
 public:
  // InvalidArgument unless max_weight is finite and > 0.
  static Result<TildeQuantizer> ForMaxWeight(float max_weight);
  explicit TildeQuantizer(float scale) : scale_(scale) {}
  float scale() const { return scale_; }
  uint8_t Quantize(float weight) const;
  float Dequantize(uint8_t code) const { return code * scale_; }

 private:
  float scale_;
};

struct TermWeights {
  std::vector<int32_t> ids;     // strictly increasing
  std::vector<uint8_t> codes;   // one per id, >= 1
};

// Max-pools per-position weights into TermWeights: for each distinct id not
// in `skip_ids` (e.g. [CLS], [SEP], [PAD]), the largest weight it got;
// ids whose largest weight quantizes to 0 are dropped.
TermWeights PoolTokenWeights(std::span<const int32_t> ids,
                             std::span<const float> weights,
                             std::span<const int32_t> skip_ids,
                             const TildeQuantizer& quantizer);

void EncodeTermWeights(const TermWeights& weights, std::string* out);
// Corruption for truncated bytes, a non-increasing id or a zero code.
Result<TermWeights> DecodeTermWeights(std::string_view bytes);

// The TILDE score straight from the stored bytes, without decoding: the
// fast path of the tilde stage. `query_ids` sorted ascending, repeats kept
// (each counts). Corruption as DecodeTermWeights.
Result<float> TildeScoreEncoded(std::span<const int32_t> sorted_query_ids,
                                std::string_view bytes,
                                const TildeQuantizer& quantizer);

// The TILDE score: sum over query ids of the document's dequantized weight.
// Query ids need not be sorted; duplicates count once per occurrence.
float TildeScore(std::span<const int32_t> query_ids, const TermWeights& doc,
                 const TildeQuantizer& quantizer);

}  // namespace cascade::rerank

#endif  // CASCADE_RERANK_TILDE_H_
