// Lucene's one-byte document length norm (SmallFloat.intToByte4): lengths
// 0..23 exactly, then a float with a 3-bit mantissa (monotonic, lossy).
// Written from the description of the format: 24 exact values, then
// (exponent, 3 mantissa bits) pairs. The index keeps exact lengths
// (keys.h, "segments"); readers derive these bytes from them at open, and
// BM25 with LengthNorm::kLucene scores with the decoded byte.
#ifndef CASCADE_INDEX_LENGTH_NORM_H_
#define CASCADE_INDEX_LENGTH_NORM_H_

#include <cstdint>

namespace cascade::index {

uint8_t LengthToNormByte(uint32_t length);
// The inverse (the smallest length that encodes to `norm`).
uint32_t NormByteToLength(uint8_t norm);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_LENGTH_NORM_H_
