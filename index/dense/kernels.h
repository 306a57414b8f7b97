// Distance kernels of dense retrieval: dot products and squared L2
// distances over float vectors, and the float x uint8 dot product that
// scores scalar-quantized (SQ8) codes.
//
// Each kernel exists three times: AVX-512 (F, BW, VL, DQ), AVX2 (with FMA
// and F16C) and portable scalar C++. Kernels() picks the widest one the CPU runs once, at first use
// (__builtin_cpu_supports, as gpu/cpu/cpu_encoder.cc does for its GEMM);
// KernelsFor() hands out a given one, so tests compare every instruction
// set with the scalar reference. Builds need no -march flag.
//
// Vectors are plain arrays of `n` floats (any n >= 0, no alignment
// required). Sums run in a different order per instruction set, so results
// differ in the last bits (relative error below 1e-6 * n for finite input).
//
// The row kernels (score_rows, score_block) score stored rows of any
// RowType against one or many queries. Within one table they are exact
// twins: the score of a (query, row) pair is bit for bit the same whichever
// of them computed it, with whatever neighbours, because each pair's sum
// runs in one fixed order (AVX-512: 16 lanes accumulated over the
// dimension, then folded by halves: lane i + i+8, + i+4, + i+2, + i+1).
// VectorIndex relies on this so that a batch of queries returns exactly
// what each query returns alone. score_block reads each row once for up to
// four queries (a 4 x 4 register tile), score_rows streams rows 16 at a
// time with software prefetch, for single queries at memory bandwidth.
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

// How rows are held in memory (vector_field.h's storages): f32 floats,
// f16 IEEE binary16, int8 codes times a per-row scale (x = code * scale).
enum class RowType { kF32, kF16, kInt8 };
// Bytes of one row of `dim` values (int8 scales are held apart).
size_t RowBytes(RowType type, size_t dim);

// The rows that row kernels read: row r of `type` at bytes
// data + r * RowBytes(type, dim); scales[r] for int8 rows (else unused).
struct RowSpan {
  RowType type = RowType::kF32;
  const void* data = nullptr;
  const float* scales = nullptr;
  size_t dim = 0;
};

struct KernelTable {
  Isa isa;
  // sum a[i] * b[i]
  float (*dot)(const float* a, const float* b, size_t n);
  // sum (a[i] - b[i])^2
  float (*l2sq)(const float* a, const float* b, size_t n);
  // sum q[i] * code[i] (codes 0..255 as floats)
  float (*dot_u8)(const float* q, const uint8_t* code, size_t n);
  // out[r] = score of rows [begin, begin + n) against q (dim floats):
  // q.x (l2 false) or |q - x|^2 (l2 true).
  void (*score_rows)(const RowSpan& rows, bool l2, const float* q, size_t begin, size_t n,
                     float* out);
  // out[i * out_stride + r] = the score of row begin + r against qs[i],
  // for i < nq and r < n: the same bits as score_rows gives.
  void (*score_block)(const RowSpan& rows, bool l2, const float* const* qs, size_t nq,
                      size_t begin, size_t n, float* out, size_t out_stride);
  // bf16 dot products, for a coarse first pass that a float pass then
  // checks (IVF centroids): out[r] = q . row(begin + r), rows of `dim` bf16
  // values each. The twins of each other as the float pair above; with
  // AVX512_BF16 (vdpbf16ps: 32 products per instruction, twice the float
  // FMA rate), else float products of the bf16 values.
  void (*dot_rows_bf16)(const uint16_t* q, const uint16_t* rows, size_t dim, size_t begin,
                        size_t n, float* out);
  void (*dot_block_bf16)(const uint16_t* const* qs, size_t nq, const uint16_t* rows,
                         size_t dim, size_t begin, size_t n, float* out, size_t out_stride);
};

// bfloat16: the top 16 bits of a float32, rounded to nearest even (finite
// input).
uint16_t FloatToBf16(float f);
float Bf16ToFloat(uint16_t h);

// The widest table this CPU runs.
const KernelTable& Kernels();
// The table of `isa`, or nullptr when this CPU (or build) lacks it.
const KernelTable* KernelsFor(Isa isa);

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_KERNELS_H_
