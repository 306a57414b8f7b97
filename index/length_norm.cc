#include "index/length_norm.h"

#include <bit>

namespace cascade::index {

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

}  // namespace cascade::index
