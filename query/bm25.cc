#include "query/bm25.h"

#include <bit>
#include <cmath>

namespace cascade::query {

namespace {

// Values below this are stored exactly.
constexpr uint32_t kExactNorms = 24;

// A 4-bit float: 3 mantissa bits with an implicit leading one, and the
// exponent in the high bits; values below 8 are stored as is.
uint32_t EncodeInt4(uint32_t v) {
  const int bits = std::bit_width(v);
  if (bits < 4) return v;
  const int shift = bits - 4;
  return ((v >> shift) & 0x07) | static_cast<uint32_t>(shift + 1) << 3;
}

uint32_t DecodeInt4(uint32_t e) {
  const uint32_t mantissa = e & 0x07;
  const int shift = static_cast<int>(e >> 3) - 1;
  if (shift < 0) return mantissa;
  return (mantissa | 0x08) << shift;
}

}  // namespace

uint8_t LengthToNormByte(uint32_t length) {
  if (length < kExactNorms) return static_cast<uint8_t>(length);
  const uint32_t encoded = kExactNorms + EncodeInt4(length - kExactNorms);
  return static_cast<uint8_t>(encoded > 255 ? 255 : encoded);
}

uint32_t NormByteToLength(uint8_t norm) {
  if (norm < kExactNorms) return norm;
  return kExactNorms + DecodeInt4(norm - kExactNorms);
}

float Bm25Idf(uint64_t doc_freq, uint64_t doc_count) {
  const double df = static_cast<double>(doc_freq);
  const double n = static_cast<double>(doc_count);
  return static_cast<float>(std::log(1.0 + (n - df + 0.5) / (df + 0.5)));
}

Bm25Scorer::Bm25Scorer(const Bm25Params& params,
                       const index::CollectionStats& stats,
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
