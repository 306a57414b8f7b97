// The BERT forward pass on the CPU in fp32. See cpu_encoder.h for the
// contract; this comment is about how the work is laid out.
//
// Layout (written down once here): every activation is row-major
// [tokens][features], all sequences of a batch packed end to end (token t
// of the batch is row t); weights arrive in PyTorch's [out][in] layout
// (model/bert_weights.h), so each dense layer is C = A * W^T, one GEMM over
// the rows it is given. Q, K and V are fused into one [3H][H] matrix, so
// row t of `qkv` is [q_t | k_t | v_t], and the slice of head h is columns
// [h * D, (h + 1) * D) of each third (D = H / heads).
//
// Work per batch, with a barrier between phases:
//   rows:      embeddings + LayerNorm, then layer 0's QKV GEMM
//   per layer: attention, one task per (sequence, head): S = Q K^T / sqrt(D)
//              over the sequence's own rows, softmax, context = S V;
//              rows: attention output GEMM + bias + residual + LayerNorm,
//              FFN GEMM + bias + GELU, GEMM + bias + residual + LayerNorm,
//              then the next layer's QKV GEMM.
// Everything after attention is row-local, so one "rows" task carries a
// block of rows through the whole chain while it is still in cache; the
// FFN intermediate only ever exists per block ([block][I] per worker).
//
// GEMM engines, chosen once in Create():
//  - kAvx512: x86-64 CPUs with AVX-512F (checked at run time): our own
//    packed kernel below. OpenBLAS 0.3.21 (Debian 12) does not recognise
//    recent AMD cores and runs its AVX2 "Haswell" kernels there: on the
//    2-core EPYC we bench on, 98 GFLOP/s per core for our shapes, against
//    187 for its AVX-512 kernels (forced with OPENBLAS_CORETYPE=SkylakeX,
//    an environment switch a library cannot set) and about 200 for ours.
//  - kBlas: cblas_sgemm (CASCADE_HAVE_BLAS), for CPUs without AVX-512.
//  - kPortable: cache-blocked dot products, for builds without BLAS.
// CpuEncoderOptions::gemm can force one (tests run all three).
//
// Elementwise loops are written as blocks of kLanes iterations with a
// constant trip count: at -O2, GCC 12's "very cheap" vectoriser refuses
// loops that would need a scalar epilogue, but it does vectorise these.
// Pointers are __restrict for the same reason (no run-time alias checks
// at -O2). The row-block functions that hold these loops are compiled three
// times (AVX-512, AVX2+FMA, baseline SSE2) and picked at load time
// (CASCADE_CLONES), so a build without -march still runs wide vectors.
#include "gpu/cpu/cpu_encoder.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#ifdef CASCADE_HAVE_BLAS
#include <cblas.h>
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define CASCADE_SANITIZER_WITHOUT_IFUNC 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CASCADE_SANITIZER_WITHOUT_IFUNC 1
#endif

#if defined(__x86_64__) && defined(__linux__) && \
    (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CASCADE_X86_KERNELS 1
#define CASCADE_AVX512 __attribute__((target("avx512f")))
#endif

#if defined(CASCADE_X86_KERNELS) && !defined(CASCADE_SANITIZER_WITHOUT_IFUNC)
// Function multi-versioning through an ifunc (glibc). Not under TSan or
// MSan: the ifunc resolver runs, instrumented, before the sanitizer's
// runtime is up, and the program dies while loading.
#define CASCADE_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CASCADE_CLONES
#endif

// Helpers of the cloned functions must inline into each clone to take its
// instruction set.
#define CASCADE_INLINE inline __attribute__((always_inline))

namespace cascade::gpu {
namespace {

constexpr int kLanes = 16;
// Rows per "rows" task, at most: 20 GEMM tiles. A block's activations stay
// in L2 while each weight panel, read once per block, serves all its rows.
// 120 to 480 measured the same (within 5%) on MiniLM shapes.
constexpr int kRowBlock = 240;

// ---------------------------------------------------------------------------
// Scalar maths written so that the blocked loops calling them vectorise:
// only +, *, /, compares, and integer bit tricks, no libm calls. A float
// `c ? a : b` becomes a branch that -O2 will not if-convert (that needs
// loop versioning), so choices go through Select, which is data flow.

// pick ? if_true : if_false, as a bit mask (a compare and and/andnot/or).
CASCADE_INLINE float Select(bool pick, float if_true, float if_false) {
  const uint32_t mask = 0u - static_cast<uint32_t>(pick);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(if_true) & mask) |
                              (std::bit_cast<uint32_t>(if_false) & ~mask));
}

constexpr float kLog2e = 1.44269504088896341f;
// ln 2 split so that n * kLn2Hi is exact for |n| < 2^10 (Cody and Waite).
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
// Adding 1.5 * 2^23 rounds a float of magnitude < 2^22 to an integer, which
// then sits in the low mantissa bits.
constexpr float kRoundMagic = 12582912.0f;

// e^x within 1e-7 relative (measured over [-87, 88]); clamped to that
// range, where fp32 has nothing useful to say for our uses (softmax after
// max subtraction, erfc, the tanh form of GELU). e^x = 2^n * e^r with
// |r| <= ln2 / 2, e^r by its Taylor series to r^7 (truncation < 6e-9).
CASCADE_INLINE float FastExp(float x) {
  x = Select(x < -87.0f, -87.0f, x);
  x = Select(x > 88.0f, 88.0f, x);
  const float shifted = x * kLog2e + kRoundMagic;
  const int32_t n =
      std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRoundMagic);
  const float nf = shifted - kRoundMagic;
  float r = x - nf * kLn2Hi;
  r = r - nf * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * std::bit_cast<float>((n + 127) << 23);
}

// erfc(z) for z >= 0 with relative error below 4e-7 wherever the result
// is a normal float: erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z / 2).
// P is our degree-9 Chebyshev interpolant of log(erfc(z) / t) + z^2 on
// t in [0, 1] (z in [0, inf)), fitted in float64 (1.6e-7 relative there);
// the same construction as the erfcc of Numerical Recipes.
CASCADE_INLINE float Erfc(float z) {
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 1.820451052e-01f;
  p = p * t - 8.726416525e-01f;
  p = p * t + 1.583596733e+00f;
  p = p * t - 1.231761464e+00f;
  p = p * t + 3.360064737e-01f;
  p = p * t - 2.061395605e-01f;
  p = p * t + 1.006541982e-01f;
  p = p * t + 3.737148406e-01f;
  p = p * t + 1.000037772e+00f;
  p = p * t - 1.265512311e+00f;
  return t * FastExp(p - z * z);
}

// GELU, erf form: x * Phi(x) = 0.5 x erfc(-x / sqrt 2). Through erfc of
// |x| / sqrt 2 the negative side keeps its relative accuracy (no 1 + erf
// cancellation). Within 4e-7 absolute of float64 on [-12, 12].
CASCADE_INLINE float GeluErf(float x) {
  const float z = std::fabs(x) * 0.70710678118654752f;
  const float half_tail = 0.5f * Erfc(z);
  return x * Select(x < 0.0f, half_tail, 1.0f - half_tail);
}

// GELU, tanh form: 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)),
// u = sqrt(2 / pi) (x + 0.044715 x^3).
CASCADE_INLINE float GeluTanh(float x) {
  const float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
  return x / (1.0f + FastExp(-2.0f * u));
}

// ---------------------------------------------------------------------------
// Row kernels. `n` is the row length; blocks of kLanes, then a scalar tail.

// row += values (a bias, or a token's state into a pooled sum).
CASCADE_INLINE void AddTo(const float* __restrict values, int n,
                          float* __restrict row) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) row[i + l] += values[i + l];
  }
  for (; i < n; ++i) row[i] += values[i];
}

template <Activation kAct>
CASCADE_INLINE float Activate(float v) {
  if constexpr (kAct == Activation::kGeluErf) {
    return GeluErf(v);
  } else if constexpr (kAct == Activation::kGeluTanh) {
    return GeluTanh(v);
  } else {
    return Select(v > 0.0f, v, 0.0f);
  }
}

template <Activation kAct>
CASCADE_INLINE void AddBiasActivate(float* __restrict row,
                                    const float* __restrict bias, int n) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      row[i + l] = Activate<kAct>(row[i + l] + bias[i + l]);
    }
  }
  for (; i < n; ++i) row[i] = Activate<kAct>(row[i] + bias[i]);
}

CASCADE_INLINE float Sum(const float* __restrict v, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += v[i + l];
  }
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += acc[l];
  for (; i < n; ++i) sum += v[i];
  return sum;
}

CASCADE_INLINE float SumSquaredDeviation(const float* __restrict v, float mean,
                                         int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float d = v[i + l] - mean;
      acc[l] += d * d;
    }
  }
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += acc[l];
  for (; i < n; ++i) sum += (v[i] - mean) * (v[i] - mean);
  return sum;
}

// out = (in - mean) / sqrt(var + eps) * gamma + beta, with the biased
// variance as torch.nn.LayerNorm. Two passes (mean, then squared
// deviations) so that a large mean does not cancel the variance away.
CASCADE_INLINE void LayerNorm(const float* __restrict in,
                              const float* __restrict gamma,
                              const float* __restrict beta, float eps, int n,
                              float* __restrict out) {
  const float mean = Sum(in, n) / static_cast<float>(n);
  const float variance =
      SumSquaredDeviation(in, mean, n) / static_cast<float>(n);
  const float inv_std = 1.0f / std::sqrt(variance + eps);
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      out[i + l] = (in[i + l] - mean) * inv_std * gamma[i + l] + beta[i + l];
    }
  }
  for (; i < n; ++i) out[i] = (in[i] - mean) * inv_std * gamma[i] + beta[i];
}

CASCADE_INLINE float Max(const float* __restrict v, int n) {
  float acc[kLanes];
  const float first = v[0];
  for (int l = 0; l < kLanes; ++l) acc[l] = first;
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      acc[l] = v[i + l] > acc[l] ? v[i + l] : acc[l];
    }
  }
  float max = first;
  for (int l = 0; l < kLanes; ++l) max = acc[l] > max ? acc[l] : max;
  for (; i < n; ++i) max = v[i] > max ? v[i] : max;
  return max;
}

// row = (row + bias) + residual: a dense output becomes the pre-norm sum
// in the order of transformers' BertOutput, (x W^T + b) + residual.
CASCADE_INLINE void AddBiasResidual(float* __restrict row,
                                    const float* __restrict bias,
                                    const float* __restrict residual, int n) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      row[i + l] = (row[i + l] + bias[i + l]) + residual[i + l];
    }
  }
  for (; i < n; ++i) row[i] = (row[i] + bias[i]) + residual[i];
}

// out = (word + type) + position, the order of BertEmbeddings.
CASCADE_INLINE void AddEmbeddings(const float* __restrict word,
                                  const float* __restrict type,
                                  const float* __restrict position, int n,
                                  float* __restrict out) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      out[i + l] = (word[i + l] + type[i + l]) + position[i + l];
    }
  }
  for (; i < n; ++i) out[i] = (word[i] + type[i]) + position[i];
}

// ---------------------------------------------------------------------------
// Row-block kernels: the loops over rows, cloned per instruction set.

// rows[r][0, n) += bias, for m rows `ld` apart.
CASCADE_CLONES void AddBiasRows(float* rows, int m, int n, size_t ld,
                                const float* bias) {
  for (int r = 0; r < m; ++r) AddTo(bias, n, rows + r * ld);
}

template <Activation kAct>
CASCADE_INLINE void ActivateRowsImpl(float* rows, int m, int n,
                                     const float* bias) {
  for (int r = 0; r < m; ++r) {
    AddBiasActivate<kAct>(rows + static_cast<size_t>(r) * n, bias, n);
  }
}
CASCADE_CLONES void GeluErfRows(float* rows, int m, int n, const float* b) {
  ActivateRowsImpl<Activation::kGeluErf>(rows, m, n, b);
}
CASCADE_CLONES void GeluTanhRows(float* rows, int m, int n, const float* b) {
  ActivateRowsImpl<Activation::kGeluTanh>(rows, m, n, b);
}
CASCADE_CLONES void ReluRows(float* rows, int m, int n, const float* b) {
  ActivateRowsImpl<Activation::kRelu>(rows, m, n, b);
}

// The end of a residual block, for m rows of width n:
// x = LayerNorm((dense + bias) + x). `dense` is overwritten (scratch).
CASCADE_CLONES void ResidualNormRows(float* dense, const float* bias, int m,
                                     int n, const float* gamma,
                                     const float* beta, float eps, float* x) {
  for (int r = 0; r < m; ++r) {
    float* sum = dense + static_cast<size_t>(r) * n;
    float* xr = x + static_cast<size_t>(r) * n;
    AddBiasResidual(sum, bias, xr, n);
    LayerNorm(sum, gamma, beta, eps, n, xr);
  }
}

// out[t] = LayerNorm((word[id_t] + type[type_t]) + position[pos_t]), the
// order in which BertEmbeddings adds them. `sum` is one row of scratch.
CASCADE_CLONES void EmbedRowsKernel(const int32_t* ids, const int32_t* types,
                                    const int32_t* positions, int count, int n,
                                    const float* word, const float* type,
                                    const float* position, const float* gamma,
                                    const float* beta, float eps, float* sum,
                                    float* out) {
  for (int t = 0; t < count; ++t) {
    AddEmbeddings(word + static_cast<size_t>(ids[t]) * n,
                  type + static_cast<size_t>(types[t]) * n,
                  position + static_cast<size_t>(positions[t]) * n, n, sum);
    LayerNorm(sum, gamma, beta, eps, n, out + static_cast<size_t>(t) * n);
  }
}

// Each of m rows of length n (ld apart) becomes softmax(scale * row), as
// transformers' eager attention: softmax(QK^T * scale).
CASCADE_CLONES void SoftmaxRows(float* rows, int m, int n, size_t ld,
                                float scale) {
  for (int r = 0; r < m; ++r) {
    float* __restrict row = rows + r * ld;
    const float max = Max(row, n) * scale;
    float acc[kLanes] = {};
    int i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        const float e = FastExp(row[i + l] * scale - max);
        row[i + l] = e;
        acc[l] += e;
      }
    }
    float sum = 0.0f;
    for (int l = 0; l < kLanes; ++l) sum += acc[l];
    for (; i < n; ++i) {
      row[i] = FastExp(row[i] * scale - max);
      sum += row[i];
    }
    const float inv_sum = 1.0f / sum;
    i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      for (int l = 0; l < kLanes; ++l) row[i + l] *= inv_sum;
    }
    for (; i < n; ++i) row[i] *= inv_sum;
  }
}

// ---------------------------------------------------------------------------
// GEMM. Row-major throughout, leading dimensions in floats; C is
// overwritten (beta = 0).

enum class GemmEngine { kAvx512, kBlas, kPortable };

// --- Packed kernel (kAvx512) ---
//
// B is packed into panels of kPanelWidth columns: panel j holds columns
// [32j, 32j + 32) as [k][32], zero past n; it starts at float 32j * k.
// A is read in place, kTileRows rows at a time: 12 rows times one panel
// slice is 12 x 32 accumulators (24 of the 32 zmm registers). A panel
// slice of kDepthBlock x 32 floats (32 KB) stays in L1 while every row of
// the block passes it. (Packing A as well, GotoBLAS style, measured slower
// here: at n = 64 or 128, as in attention, the copy cost more than the
// strided broadcasts it saves.)
constexpr int kPanelWidth = 32;
constexpr int kTileRows = 12;
constexpr int kDepthBlock = 256;

size_t PackedSize(int n, int k) {
  return static_cast<size_t>((n + kPanelWidth - 1) / kPanelWidth) *
         kPanelWidth * k;
}

// B given as [n][k] (rows of B^T, ldb apart): the weights of a Linear, or
// K in Q K^T.
void PackTransposed(const float* b, size_t ldb, int n, int k, float* out) {
  for (int j0 = 0; j0 < n; j0 += kPanelWidth) {
    float* panel = out + static_cast<size_t>(j0) * k;
    const int width = std::min(kPanelWidth, n - j0);
    for (int j = 0; j < kPanelWidth; ++j) {
      if (j < width) {
        const float* row = b + static_cast<size_t>(j0 + j) * ldb;
        for (int p = 0; p < k; ++p) {
          panel[static_cast<size_t>(p) * kPanelWidth + j] = row[p];
        }
      } else {
        for (int p = 0; p < k; ++p) {
          panel[static_cast<size_t>(p) * kPanelWidth + j] = 0.0f;
        }
      }
    }
  }
}

// B given as [k][n] (rows ldb apart): V in P V.
void PackStraight(const float* b, size_t ldb, int k, int n, float* out) {
  for (int j0 = 0; j0 < n; j0 += kPanelWidth) {
    float* panel = out + static_cast<size_t>(j0) * k;
    const int width = std::min(kPanelWidth, n - j0);
    for (int p = 0; p < k; ++p) {
      const float* row = b + static_cast<size_t>(p) * ldb + j0;
      float* dst = panel + static_cast<size_t>(p) * kPanelWidth;
      std::memcpy(dst, row, sizeof(float) * width);
      std::fill(dst + width, dst + kPanelWidth, 0.0f);
    }
  }
}

#ifdef CASCADE_X86_KERNELS
// C tile (rows x columns of at most 12 x 32, ldc apart) = or += A tile
// (rows x kc, lda apart) * b_panel. The accumulators must stay in
// registers: every loop over them is unrolled so that no index is a
// run-time value.
CASCADE_AVX512 void TileKernel(int kc, const float* a, size_t lda,
                               const float* b_panel, float* c, size_t ldc,
                               int rows, int columns, bool accumulate) {
  // Rows past the tile repeat its last row (computed, never stored).
  const float* row[kTileRows];
#pragma GCC unroll 12
  for (int r = 0; r < kTileRows; ++r) row[r] = a + std::min(r, rows - 1) * lda;
  __m512 acc[kTileRows][2];
#pragma GCC unroll 12
  for (int r = 0; r < kTileRows; ++r) {
    acc[r][0] = _mm512_setzero_ps();
    acc[r][1] = _mm512_setzero_ps();
  }
  for (int p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b_panel + p * kPanelWidth);
    const __m512 b1 = _mm512_loadu_ps(b_panel + p * kPanelWidth + 16);
#pragma GCC unroll 12
    for (int r = 0; r < kTileRows; ++r) {
      const __m512 av = _mm512_set1_ps(row[r][p]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  const __mmask16 mask0 =
      static_cast<__mmask16>(columns >= 16 ? 0xFFFFu : (1u << columns) - 1u);
  const __mmask16 mask1 =
      static_cast<__mmask16>(columns >= 32   ? 0xFFFFu
                             : columns <= 16 ? 0u
                                             : (1u << (columns - 16)) - 1u);
#pragma GCC unroll 12
  for (int r = 0; r < kTileRows; ++r) {
    if (r < rows) {
      float* cr = c + r * ldc;
      __m512 v0 = acc[r][0], v1 = acc[r][1];
      if (accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, cr));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, cr + 16));
      }
      _mm512_mask_storeu_ps(cr, mask0, v0);
      _mm512_mask_storeu_ps(cr + 16, mask1, v1);
    }
  }
}
#else
// Never selected off x86-64 (CpuHasAvx512() is false there); kept so that
// GemmPacked has one definition everywhere.
void TileKernel(int kc, const float* a, size_t lda, const float* b_panel,
                float* c, size_t ldc, int rows, int columns, bool accumulate) {
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < columns; ++j) {
      float sum = 0.0f;
      for (int p = 0; p < kc; ++p) {
        sum += a[r * lda + p] * b_panel[p * kPanelWidth + j];
      }
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + sum : sum;
    }
  }
}
#endif  // CASCADE_X86_KERNELS

// C[m][n] = A[m][k] * B, B packed by PackTransposed/PackStraight. Depth
// blocks accumulate into C, so each element sums its k products in the
// same order whatever m is: a row's result does not depend on the other
// rows of the batch.
void GemmPacked(int m, int n, int k, const float* a, size_t lda,
                const float* b_packed, float* c, size_t ldc) {
  for (int k0 = 0; k0 < k; k0 += kDepthBlock) {
    const int kc = std::min(kDepthBlock, k - k0);
    for (int j0 = 0; j0 < n; j0 += kPanelWidth) {
      const float* panel = b_packed + static_cast<size_t>(j0) * k +
                           static_cast<size_t>(k0) * kPanelWidth;
      const int columns = std::min(kPanelWidth, n - j0);
      for (int i0 = 0; i0 < m; i0 += kTileRows) {
        TileKernel(kc, a + i0 * lda + k0, lda, panel, c + i0 * ldc + j0, ldc,
                   std::min(kTileRows, m - i0), columns, k0 > 0);
      }
    }
  }
}

bool CpuHasAvx512() {
#ifdef CASCADE_X86_KERNELS
  // libgcc's check includes the OS saving the zmm state (xgetbv).
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

// --- Unpacked GEMMs (kBlas, kPortable) ---

// Four dot products of length k sharing the row b: out[r] = a_r . b.
CASCADE_INLINE void Dot4(const float* __restrict a0, const float* __restrict a1,
                         const float* __restrict a2, const float* __restrict a3,
                         const float* __restrict b, int k, float out[4]) {
  float acc0[kLanes] = {}, acc1[kLanes] = {}, acc2[kLanes] = {},
        acc3[kLanes] = {};
  int p = 0;
  for (; p + kLanes <= k; p += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float bv = b[p + l];
      acc0[l] += a0[p + l] * bv;
      acc1[l] += a1[p + l] * bv;
      acc2[l] += a2[p + l] * bv;
      acc3[l] += a3[p + l] * bv;
    }
  }
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  for (int l = 0; l < kLanes; ++l) {
    s0 += acc0[l];
    s1 += acc1[l];
    s2 += acc2[l];
    s3 += acc3[l];
  }
  for (; p < k; ++p) {
    s0 += a0[p] * b[p];
    s1 += a1[p] * b[p];
    s2 += a2[p] * b[p];
    s3 += a3[p] * b[p];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

// Dot products, four rows of A against one row of B at a time. Columns are
// taken in blocks whose rows of B (kColumns x k floats) stay in L2 while
// every row of A streams past them.
CASCADE_CLONES void PortableGemmNT(int m, int n, int k, const float* a,
                                   size_t lda, const float* b, size_t ldb,
                                   float* c, size_t ldc) {
  constexpr int kColumns = 32;
  for (int j0 = 0; j0 < n; j0 += kColumns) {
    const int j1 = std::min(n, j0 + kColumns);
    for (int i = 0; i < m; i += 4) {
      // Past the last row, repeat it rather than read outside A.
      const float* rows[4];
      for (int r = 0; r < 4; ++r) rows[r] = a + std::min(i + r, m - 1) * lda;
      for (int j = j0; j < j1; ++j) {
        float dots[4];
        Dot4(rows[0], rows[1], rows[2], rows[3], b + j * ldb, k, dots);
        for (int r = 0; r < 4 && i + r < m; ++r) c[(i + r) * ldc + j] = dots[r];
      }
    }
  }
}

// row += scale * b, over n.
CASCADE_INLINE void Axpy(float scale, const float* __restrict b, int n,
                         float* __restrict row) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) row[i + l] += scale * b[i + l];
  }
  for (; i < n; ++i) row[i] += scale * b[i];
}

CASCADE_CLONES void PortableGemmNN(int m, int n, int k, const float* a,
                                   size_t lda, const float* b, size_t ldb,
                                   float* c, size_t ldc) {
  for (int i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    std::fill(ci, ci + n, 0.0f);
    const float* ai = a + i * lda;
    for (int p = 0; p < k; ++p) Axpy(ai[p], b + p * ldb, n, ci);
  }
}

// C[m][n] = A[m][k] * B[n][k]^T, by BLAS or the portable loops (kAvx512
// packs B instead; see GemmPacked).
void GemmNT([[maybe_unused]] GemmEngine engine, int m, int n, int k,
            const float* a, size_t lda, const float* b, size_t ldb, float* c,
            size_t ldc) {
#ifdef CASCADE_HAVE_BLAS
  if (engine != GemmEngine::kPortable) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c,
                static_cast<int>(ldc));
    return;
  }
#endif
  PortableGemmNT(m, n, k, a, lda, b, ldb, c, ldc);
}

// C[m][n] = A[m][k] * B[k][n], likewise.
void GemmNN([[maybe_unused]] GemmEngine engine, int m, int n, int k,
            const float* a, size_t lda, const float* b, size_t ldb, float* c,
            size_t ldc) {
#ifdef CASCADE_HAVE_BLAS
  if (engine != GemmEngine::kPortable) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c,
                static_cast<int>(ldc));
    return;
  }
#endif
  PortableGemmNN(m, n, k, a, lda, b, ldb, c, ldc);
}

// The engine that options.gemm asks for, if this CPU and build have it.
Result<GemmEngine> ChooseEngine(CpuEncoderOptions::Gemm wanted) {
  constexpr bool kHaveBlas =
#ifdef CASCADE_HAVE_BLAS
      true;
#else
      false;
#endif
  using Gemm = CpuEncoderOptions::Gemm;
  switch (wanted) {
    case Gemm::kAuto:
      if (CpuHasAvx512()) return GemmEngine::kAvx512;
      return kHaveBlas ? GemmEngine::kBlas : GemmEngine::kPortable;
    case Gemm::kAvx512:
      if (CpuHasAvx512()) return GemmEngine::kAvx512;
      return Status::NotSupported("gemm kAvx512",
                                  "this CPU (or build) has no AVX-512F");
    case Gemm::kBlas:
      if (kHaveBlas) return GemmEngine::kBlas;
      return Status::NotSupported("gemm kBlas",
                                  "built without CASCADE_HAVE_BLAS");
    case Gemm::kPortable:
      return GemmEngine::kPortable;
  }
  return Status::InvalidArgument("gemm", "unknown CpuEncoderOptions::Gemm");
}

// ---------------------------------------------------------------------------
// A fixed set of threads that run the tasks of one parallel loop at a time;
// the calling thread takes tasks too. Tasks are handed out through an
// atomic counter, so uneven tasks (sequences of different lengths) balance.
class WorkerPool {
 public:
  // Starts threads - 1 workers; throws std::system_error if it cannot.
  explicit WorkerPool(unsigned threads) {
    try {
      for (unsigned w = 1; w < threads; ++w) {
        workers_.emplace_back([this, w] { WorkerLoop(w); });
      }
    } catch (...) {
      Stop();
      throw;
    }
  }
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  // Calls fn(task, worker) for every task in [0, tasks), worker in
  // [0, size()), and returns when all have returned. fn must not throw.
  template <typename Fn>
  void Run(int tasks, Fn& fn) {
    if (tasks <= 0) return;
    if (workers_.empty() || tasks == 1) {
      for (int t = 0; t < tasks; ++t) fn(t, 0);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      invoke_ = [](void* job, int task, unsigned worker) {
        (*static_cast<Fn*>(job))(task, worker);
      };
      tasks_ = tasks;
      next_task_.store(0, std::memory_order_relaxed);
      busy_workers_ = workers_.size();
      ++generation_;
    }
    start_.notify_all();
    TakeTasks(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return busy_workers_ == 0; });
  }

 private:
  void TakeTasks(unsigned worker) {
    for (;;) {
      const int task = next_task_.fetch_add(1, std::memory_order_relaxed);
      if (task >= tasks_) return;
      invoke_(job_, task, worker);
    }
  }

  void WorkerLoop(unsigned worker) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        start_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      // job_, invoke_ and tasks_ were written under the mutex before
      // generation_ changed, and stay put until busy_workers_ reaches 0.
      TakeTasks(worker);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_workers_ == 0) done_.notify_one();
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    start_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  bool stop_ = false;
  uint64_t generation_ = 0;
  size_t busy_workers_ = 0;
  void* job_ = nullptr;
  void (*invoke_)(void*, int, unsigned) = nullptr;
  int tasks_ = 0;
  std::atomic<int> next_task_{0};
};

// A Linear in the form the GEMM engine reads: packed panels (kAvx512) or
// PyTorch's [out][in] (kBlas, kPortable).
struct Dense {
  int in = 0, out = 0;
  std::vector<float> weight;
  std::vector<float> bias;  // [out]
};

Dense MakeDense(LinearWeights linear, GemmEngine engine) {
  Dense d;
  d.in = linear.in;
  d.out = linear.out;
  if (engine == GemmEngine::kAvx512) {
    d.weight.resize(PackedSize(d.out, d.in));
    PackTransposed(linear.weight.data(), d.in, d.out, d.in, d.weight.data());
  } else {
    d.weight = std::move(linear.weight);
  }
  d.bias = std::move(linear.bias);
  return d;
}

// One layer's parameters, Q/K/V fused.
struct LayerParams {
  Dense qkv;  // [3H][H]: query rows, then key rows, then value rows
  Dense attention_output;
  LayerNormWeights attention_norm;
  Dense intermediate, output;
  LayerNormWeights output_norm;
};

// Scratch owned by one worker; sized for the largest batch seen.
struct WorkerScratch {
  std::vector<float> rows;    // [row block][H]: dense outputs before norm
  std::vector<float> ffn;     // [row block][I]
  std::vector<float> scores;  // [L][L] of the longest sequence
  std::vector<float> panels;  // packed K or V of one head (kAvx512)
};

template <typename T>
void GrowTo(std::vector<T>& v, size_t size) {
  if (v.size() < size) v.resize(size);
}

LinearWeights FuseQkv(BertLayerWeights& layer) {
  LinearWeights fused;
  fused.in = layer.query.in;
  fused.out = layer.query.out + layer.key.out + layer.value.out;
  fused.weight.reserve(static_cast<size_t>(fused.in) * fused.out);
  fused.bias.reserve(fused.out);
  for (LinearWeights* part : {&layer.query, &layer.key, &layer.value}) {
    fused.weight.insert(fused.weight.end(), part->weight.begin(),
                        part->weight.end());
    fused.bias.insert(fused.bias.end(), part->bias.begin(), part->bias.end());
    *part = LinearWeights();  // release the unfused copy
  }
  return fused;
}


}  // namespace

struct CpuEncoder::Impl {
  Impl(ModelConfig model_config, BertWeights model_weights, unsigned threads,
       GemmEngine gemm_engine)
      : config(std::move(model_config)),
        weights(std::move(model_weights)),
        engine(gemm_engine),
        pool(threads),
        scratch(pool.size()) {
    layers.reserve(weights.layers.size());
    for (BertLayerWeights& l : weights.layers) {
      LayerParams p;
      p.qkv = MakeDense(FuseQkv(l), engine);
      p.attention_output = MakeDense(std::move(l.attention_output), engine);
      p.attention_norm = std::move(l.attention_norm);
      p.intermediate = MakeDense(std::move(l.intermediate), engine);
      p.output = MakeDense(std::move(l.output), engine);
      p.output_norm = std::move(l.output_norm);
      layers.push_back(std::move(p));
    }
    weights.layers.clear();
  }

  Status Validate(const PairBatch& batch) const {
    return ValidateBatch(batch, config.bert.vocab_size,
                         config.bert.type_vocab_size,
                         config.bert.max_position_embeddings);
  }

  // Runs the encoder over a validated, non-empty batch; the final hidden
  // states are then in hidden[0 .. tokens * H).
  Status Encode(const PairBatch& batch);

  // Pieces of Encode, each on one block of rows or one (sequence, head).
  void EmbedRows(int begin, int end, unsigned worker);
  void AttentionTask(int sequence, int head, unsigned worker);
  void LayerTailRows(const LayerParams& layer, int begin, int end,
                     unsigned worker);
  void QkvRows(const LayerParams& layer, int begin, int end);
  // y[m][out] = x[m][in] * W^T, without the bias.
  void Apply(const Dense& dense, int m, const float* x, size_t ldx, float* y,
             size_t ldy) const;

  ModelConfig config;
  BertWeights weights;  // embeddings and heads; layers live in `layers`
  GemmEngine engine;
  std::vector<LayerParams> layers;
  WorkerPool pool;

  // The batch being encoded (valid during Encode).
  const PairBatch* batch = nullptr;
  int row_block = 0;

  // Buffers, grown to the largest batch seen and kept.
  std::vector<float> hidden;       // [T][H]
  std::vector<float> qkv;          // [T][3H]
  std::vector<float> context;      // [T][H]
  std::vector<int32_t> positions;  // [T]: position within its sequence
  std::vector<WorkerScratch> scratch;
  std::vector<float> head_in, head_mid, head_out;  // [sequences][...]
};

void CpuEncoder::Impl::Apply(const Dense& dense, int m, const float* x,
                             size_t ldx, float* y, size_t ldy) const {
  if (engine == GemmEngine::kAvx512) {
    GemmPacked(m, dense.out, dense.in, x, ldx, dense.weight.data(), y, ldy);
  } else {
    GemmNT(engine, m, dense.out, dense.in, x, ldx, dense.weight.data(),
           dense.in, y, ldy);
  }
}

void CpuEncoder::Impl::EmbedRows(int begin, int end, unsigned worker) {
  const LayerNormWeights& norm = weights.embedding_norm;
  const int h = config.bert.hidden_size;
  EmbedRowsKernel(
      batch->token_ids.data() + begin, batch->segment_ids.data() + begin,
      positions.data() + begin, end - begin, h, weights.word_embeddings.data(),
      weights.token_type_embeddings.data(), weights.position_embeddings.data(),
      norm.gamma.data(), norm.beta.data(), config.bert.layer_norm_eps,
      scratch[worker].rows.data(),
      hidden.data() + static_cast<size_t>(begin) * h);
}

void CpuEncoder::Impl::QkvRows(const LayerParams& layer, int begin, int end) {
  const size_t h = config.bert.hidden_size;
  const size_t width = 3 * h;
  float* out = qkv.data() + begin * width;
  Apply(layer.qkv, end - begin, hidden.data() + begin * h, h, out, width);
  AddBiasRows(out, end - begin, static_cast<int>(width), width,
              layer.qkv.bias.data());
}

void CpuEncoder::Impl::AttentionTask(int sequence, int head, unsigned worker) {
  const size_t h = config.bert.hidden_size;
  const int d = static_cast<int>(h) / config.bert.num_heads;
  const size_t width = 3 * h;
  const int begin = batch->offsets[sequence];
  const int length = batch->offsets[sequence + 1] - begin;
  const float* q = qkv.data() + begin * width + head * d;
  const float* k = q + h;
  const float* v = q + 2 * h;
  float* out = context.data() + begin * h + head * d;
  WorkerScratch& s = scratch[worker];
  float* scores = s.scores.data();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  if (engine == GemmEngine::kAvx512) {
    PackTransposed(k, width, length, d, s.panels.data());
    GemmPacked(length, length, d, q, width, s.panels.data(), scores, length);
    SoftmaxRows(scores, length, length, length, scale);
    PackStraight(v, width, length, d, s.panels.data());
    GemmPacked(length, d, length, scores, length, s.panels.data(), out, h);
  } else {
    GemmNT(engine, length, length, d, q, width, k, width, scores, length);
    SoftmaxRows(scores, length, length, length, scale);
    GemmNN(engine, length, d, length, scores, length, v, width, out, h);
  }
}

void CpuEncoder::Impl::LayerTailRows(const LayerParams& layer, int begin,
                                     int end, unsigned worker) {
  const size_t h = config.bert.hidden_size;
  const int inter = config.bert.intermediate_size;
  const float eps = config.bert.layer_norm_eps;
  const int m = end - begin;
  float* x = hidden.data() + begin * h;
  float* rows = scratch[worker].rows.data();
  float* ffn = scratch[worker].ffn.data();

  // Attention output: x = LayerNorm((context W^T + b) + x).
  Apply(layer.attention_output, m, context.data() + begin * h, h, rows, h);
  ResidualNormRows(rows, layer.attention_output.bias.data(), m,
                   static_cast<int>(h), layer.attention_norm.gamma.data(),
                   layer.attention_norm.beta.data(), eps, x);

  // Feed-forward: ffn = act(x W1^T + b1); x = LayerNorm((ffn W2^T + b2) + x).
  Apply(layer.intermediate, m, x, h, ffn, inter);
  const float* b1 = layer.intermediate.bias.data();
  switch (config.bert.activation) {
    case Activation::kGeluErf:
      GeluErfRows(ffn, m, inter, b1);
      break;
    case Activation::kGeluTanh:
      GeluTanhRows(ffn, m, inter, b1);
      break;
    case Activation::kRelu:
      ReluRows(ffn, m, inter, b1);
      break;
  }
  Apply(layer.output, m, ffn, inter, rows, h);
  ResidualNormRows(rows, layer.output.bias.data(), m, static_cast<int>(h),
                   layer.output_norm.gamma.data(),
                   layer.output_norm.beta.data(), eps, x);
}

Status CpuEncoder::Impl::Encode(const PairBatch& pairs) {
  const BertConfig& c = config.bert;
  const size_t tokens = pairs.token_ids.size();
  const int sequences = static_cast<int>(pairs.size());
  const size_t h = c.hidden_size;
  const int d = c.hidden_size / c.num_heads;
  int longest = 0;
  for (int s = 0; s < sequences; ++s) {
    longest = std::max(longest, pairs.offsets[s + 1] - pairs.offsets[s]);
  }
  // At most kRowBlock rows per task, and a multiple of the worker count of
  // tasks so that no worker is left with one extra block at the end; blocks
  // are whole GEMM tiles where the rows allow.
  const size_t workers = pool.size();
  size_t tasks = (tokens + kRowBlock - 1) / kRowBlock;
  tasks = (tasks + workers - 1) / workers * workers;
  size_t block = (tokens + tasks - 1) / tasks;
  block = (block + kTileRows - 1) / kTileRows * kTileRows;
  row_block = static_cast<int>(std::min<size_t>(block, kRowBlock));
  try {
    GrowTo(hidden, tokens * h);
    GrowTo(qkv, tokens * 3 * h);
    GrowTo(context, tokens * h);
    GrowTo(positions, tokens);
    for (WorkerScratch& s : scratch) {
      GrowTo(s.rows, static_cast<size_t>(row_block) * h);
      GrowTo(s.ffn, static_cast<size_t>(row_block) * c.intermediate_size);
      GrowTo(s.scores, static_cast<size_t>(longest) * longest);
      if (engine == GemmEngine::kAvx512) {
        GrowTo(s.panels,
               std::max(PackedSize(longest, d), PackedSize(d, longest)));
      }
    }
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("cpu encoder buffers",
                                     std::to_string(tokens) + " tokens");
  }
  for (int s = 0; s < sequences; ++s) {
    for (int t = pairs.offsets[s]; t < pairs.offsets[s + 1]; ++t) {
      positions[t] = t - pairs.offsets[s];
    }
  }
  batch = &pairs;

  const int row_tasks = static_cast<int>((tokens + row_block - 1) / row_block);
  auto rows_of = [&](int task) {
    const int begin = task * row_block;
    return std::pair<int, int>(
        begin, std::min<int>(static_cast<int>(tokens), begin + row_block));
  };

  auto embed = [&](int task, unsigned worker) {
    auto [begin, end] = rows_of(task);
    EmbedRows(begin, end, worker);
    if (!layers.empty()) QkvRows(layers[0], begin, end);
  };
  pool.Run(row_tasks, embed);

  const int heads = c.num_heads;
  for (size_t l = 0; l < layers.size(); ++l) {
    auto attention = [&](int task, unsigned worker) {
      AttentionTask(task / heads, task % heads, worker);
    };
    pool.Run(sequences * heads, attention);
    auto tail = [&](int task, unsigned worker) {
      auto [begin, end] = rows_of(task);
      LayerTailRows(layers[l], begin, end, worker);
      if (l + 1 < layers.size()) QkvRows(layers[l + 1], begin, end);
    };
    pool.Run(row_tasks, tail);
  }
  batch = nullptr;
  return Status::OK();
}

CpuEncoder::CpuEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CpuEncoder::~CpuEncoder() = default;

Result<std::unique_ptr<CpuEncoder>> CpuEncoder::Create(
    ModelConfig config, BertWeights weights, const CpuEncoderOptions& options) {
  CASCADE_RETURN_IF_ERROR(CheckBertWeights(config, weights));
  unsigned threads = options.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  CASCADE_ASSIGN_OR_RETURN(const GemmEngine engine, ChooseEngine(options.gemm));
#if defined(CASCADE_HAVE_BLAS) && defined(OPENBLAS_VERSION)
  // We split each GEMM across our own workers (see cpu_encoder.h).
  openblas_set_num_threads(1);
#endif
  try {
    auto impl = std::make_unique<Impl>(std::move(config), std::move(weights),
                                       threads, engine);
    return std::unique_ptr<CpuEncoder>(new CpuEncoder(std::move(impl)));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("cpu encoder", "out of memory");
  } catch (const std::system_error& e) {
    return Status::ResourceExhausted("cpu encoder threads", e.what());
  }
}

Result<std::vector<float>> CpuEncoder::TEST_Encode(const PairBatch& batch) {
  CASCADE_RETURN_IF_ERROR(impl_->Validate(batch));
  if (batch.size() == 0) return std::vector<float>();
  CASCADE_RETURN_IF_ERROR(impl_->Encode(batch));
  const size_t values = batch.token_ids.size() * impl_->config.bert.hidden_size;
  return std::vector<float>(impl_->hidden.begin(),
                            impl_->hidden.begin() + values);
}

Result<std::vector<float>> CpuEncoder::Score(const PairBatch& batch) {
  Impl& m = *impl_;
  CASCADE_RETURN_IF_ERROR(m.Validate(batch));
  if (m.config.kind != ModelKind::kCrossEncoder) {
    return MissingHead("Score", "cross-encoder", m.config.kind);
  }
  const int n = static_cast<int>(batch.size());
  if (n == 0) return std::vector<float>();
  CASCADE_RETURN_IF_ERROR(m.Encode(batch));

  const int h = m.config.bert.hidden_size;
  const int labels = m.config.num_labels;
  const LinearWeights& pooler = *m.weights.pooler;
  const LinearWeights& classifier = *m.weights.classifier;
  try {
    GrowTo(m.head_in, static_cast<size_t>(n) * h);
    GrowTo(m.head_mid, static_cast<size_t>(n) * h);
    GrowTo(m.head_out, static_cast<size_t>(n) * labels);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("cpu encoder buffers", "scores");
  }
  // BertPooler: tanh(dense(h[CLS])), the first token of each sequence.
  for (int s = 0; s < n; ++s) {
    std::memcpy(m.head_in.data() + static_cast<size_t>(s) * h,
                m.hidden.data() + static_cast<size_t>(batch.offsets[s]) * h,
                sizeof(float) * h);
  }
  GemmNT(m.engine, n, h, h, m.head_in.data(), h, pooler.weight.data(), h,
         m.head_mid.data(), h);
  for (int s = 0; s < n; ++s) {
    float* row = m.head_mid.data() + static_cast<size_t>(s) * h;
    for (int i = 0; i < h; ++i) row[i] = std::tanh(row[i] + pooler.bias[i]);
  }
  GemmNT(m.engine, n, labels, h, m.head_mid.data(), h, classifier.weight.data(),
         h, m.head_out.data(), labels);
  std::vector<float> scores(n);
  for (int s = 0; s < n; ++s) {
    const float* logits = m.head_out.data() + static_cast<size_t>(s) * labels;
    const float first = logits[0] + classifier.bias[0];
    if (labels == 1) {
      scores[s] = first;
    } else {
      // softmax(logits)[1] = 1 / (1 + e^(l0 - l1)).
      const float second = logits[1] + classifier.bias[1];
      scores[s] = 1.0f / (1.0f + std::exp(first - second));
    }
  }
  return scores;
}

Result<std::vector<float>> CpuEncoder::Embed(const PairBatch& batch) {
  Impl& m = *impl_;
  CASCADE_RETURN_IF_ERROR(m.Validate(batch));
  if (m.config.kind != ModelKind::kBiEncoder) {
    return MissingHead("Embed", "bi-encoder", m.config.kind);
  }
  const int n = static_cast<int>(batch.size());
  if (n == 0) return std::vector<float>();
  CASCADE_RETURN_IF_ERROR(m.Encode(batch));

  const int h = m.config.bert.hidden_size;
  std::vector<float> out(static_cast<size_t>(n) * h);
  for (int s = 0; s < n; ++s) {
    float* e = out.data() + static_cast<size_t>(s) * h;
    const int begin = batch.offsets[s], end = batch.offsets[s + 1];
    if (m.config.pooling == Pooling::kCls) {
      std::memcpy(e, m.hidden.data() + static_cast<size_t>(begin) * h,
                  sizeof(float) * h);
    } else {
      for (int t = begin; t < end; ++t) {
        AddTo(m.hidden.data() + static_cast<size_t>(t) * h, h, e);
      }
      const float inv_count = 1.0f / static_cast<float>(end - begin);
      for (int i = 0; i < h; ++i) e[i] *= inv_count;
    }
    if (m.config.normalize) {
      // torch.nn.functional.normalize: x / max(||x||, 1e-12).
      double squares = 0.0;
      for (int i = 0; i < h; ++i) squares += static_cast<double>(e[i]) * e[i];
      const float norm =
          std::max(static_cast<float>(std::sqrt(squares)), 1e-12f);
      for (int i = 0; i < h; ++i) e[i] /= norm;
    }
  }
  return out;
}

Result<std::vector<float>> CpuEncoder::WeighTokens(const PairBatch& batch) {
  Impl& m = *impl_;
  CASCADE_RETURN_IF_ERROR(m.Validate(batch));
  if (m.config.kind != ModelKind::kTokenWeigher) {
    return MissingHead("WeighTokens", "token weigher", m.config.kind);
  }
  if (batch.size() == 0) return std::vector<float>();
  CASCADE_RETURN_IF_ERROR(m.Encode(batch));

  const int h = m.config.bert.hidden_size;
  const LinearWeights& projection = *m.weights.token_projection;
  const size_t tokens = batch.token_ids.size();
  std::vector<float> weights(tokens);
  // ReLU(tok_proj(h_t)): a [T][H] x [H] product, small next to the encoder.
  GemmNT(m.engine, static_cast<int>(tokens), 1, h, m.hidden.data(), h,
         projection.weight.data(), h, weights.data(), 1);
  for (size_t t = 0; t < tokens; ++t) {
    weights[t] = std::max(weights[t] + projection.bias[0], 0.0f);
  }
  return weights;
}

}  // namespace cascade::gpu
