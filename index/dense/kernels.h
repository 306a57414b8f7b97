// Distance kernels of dense retrieval: dot products and squared L2
// distances over float vectors, and the float x uint8 dot product that
// scores scalar-quantized (SQ8) codes.
//
// Each kernel exists three times: AVX-512F, AVX2+FMA and portable scalar
// C++. Kernels() picks the widest one the CPU runs once, at first use
// (__builtin_cpu_supports, as gpu/cpu/cpu_encoder.cc does for its GEMM);
// KernelsFor() hands out a given one, so tests compare every instruction
// set with the scalar reference. Builds need no -march flag.
//
// Vectors are plain arrays of `n` floats (any n >= 0, no alignment
// required). Sums run in a different order per instruction set, so results
// differ in the last bits (relative error below 1e-6 * n for finite input).
//
// Thread-safety: the tables are immutable; every kernel is reentrant.
#ifndef CASCADE_INDEX_DENSE_KERNELS_H_
#define CASCADE_INDEX_DENSE_KERNELS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cascade::dense {

enum class Isa { kScalar, kAvx2, kAvx512 };
std::string_view IsaName(Isa isa);

struct KernelTable {
  Isa isa;
  // sum a[i] * b[i]
  float (*dot)(const float* a, const float* b, size_t n);
  // sum (a[i] - b[i])^2
  float (*l2sq)(const float* a, const float* b, size_t n);
  // sum q[i] * code[i] (codes 0..255 as floats)
  float (*dot_u8)(const float* q, const uint8_t* code, size_t n);
};

// The widest table this CPU runs.
const KernelTable& Kernels();
// The table of `isa`, or nullptr when this CPU (or build) lacks it.
const KernelTable* KernelsFor(Isa isa);

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_KERNELS_H_
