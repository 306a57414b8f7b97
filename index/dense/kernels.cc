// See kernels.h. The SIMD versions keep several independent accumulators
// so that the FMA latency (4 cycles) does not serialise the loop, and
// finish the tail (n not a multiple of the width) with a masked load
// (AVX-512) or scalar code (AVX2).
#include "index/dense/kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CASCADE_DENSE_X86 1
#define CASCADE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define CASCADE_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

#include <algorithm>
#include <cstring>

#include "index/dense/vector_field.h"

namespace cascade::dense {

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "scalar";
}

uint16_t FloatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7FFF + ((bits >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}

float Bf16ToFloat(uint16_t h) {
  const uint32_t bits = uint32_t{h} << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

size_t RowBytes(RowType type, size_t dim) {
  switch (type) {
    case RowType::kF32: return 4 * dim;
    case RowType::kF16: return 2 * dim;
    case RowType::kInt8: return dim;
  }
  return 4 * dim;
}

namespace {

// Calls fn.template operator()<T, L2>() for a runtime (type, l2).
template <class Fn>
inline void Dispatch(RowType type, bool l2, Fn&& fn) {
  switch (type) {
    case RowType::kF32:
      return l2 ? fn.template operator()<RowType::kF32, true>()
                : fn.template operator()<RowType::kF32, false>();
    case RowType::kF16:
      return l2 ? fn.template operator()<RowType::kF16, true>()
                : fn.template operator()<RowType::kF16, false>();
    case RowType::kInt8:
      return l2 ? fn.template operator()<RowType::kInt8, true>()
                : fn.template operator()<RowType::kInt8, false>();
  }
}

// Row kernels from a pair kernel Pair<T, L2>(q, row, scale, dim): every
// pair alone, so both kernels agree trivially (scalar and AVX2 tables).
template <template <RowType, bool> class Pair>
void RowsByPair(const RowSpan& rows, bool l2, const float* q, size_t begin, size_t n,
                float* out) {
  Dispatch(rows.type, l2, [&]<RowType T, bool L2>() {
    const size_t rb = RowBytes(T, rows.dim);
    const auto* base = static_cast<const uint8_t*>(rows.data);
    for (size_t r = 0; r < n; ++r) {
      const size_t row = begin + r;
      out[r] = Pair<T, L2>::Score(q, base + row * rb,
                                  T == RowType::kInt8 ? rows.scales[row] : 1.0f, rows.dim);
    }
  });
}

template <template <RowType, bool> class Pair>
void BlockByPair(const RowSpan& rows, bool l2, const float* const* qs, size_t nq,
                 size_t begin, size_t n, float* out, size_t out_stride) {
  for (size_t i = 0; i < nq; ++i) {
    RowsByPair<Pair>(rows, l2, qs[i], begin, n, out + i * out_stride);
  }
}

// --- Portable reference ---------------------------------------------------

template <RowType T>
inline float ScalarValue(const uint8_t* row, size_t i) {
  if constexpr (T == RowType::kF32) {
    float x;
    std::memcpy(&x, row + 4 * i, 4);
    return x;
  } else if constexpr (T == RowType::kF16) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, 2);
    return HalfToFloat(h);
  } else {
    return static_cast<float>(static_cast<int8_t>(row[i]));
  }
}

template <RowType T, bool L2>
struct ScalarPair {
  static float Score(const float* q, const uint8_t* row, float scale, size_t dim) {
    float acc[4] = {0, 0, 0, 0};
    auto term = [&](size_t i) {
      float x = ScalarValue<T>(row, i);
      if constexpr (L2) {
        if constexpr (T == RowType::kInt8) x *= scale;
        const float d = q[i] - x;
        return d * d;
      } else {
        return q[i] * x;
      }
    };
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) {
      for (int l = 0; l < 4; ++l) acc[l] += term(i + l);
    }
    float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; i < dim; ++i) sum += term(i);
    if constexpr (!L2 && T == RowType::kInt8) sum *= scale;
    return sum;
  }
};

float DotScalar(const float* a, const float* b, size_t n) {
  float acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int l = 0; l < 4; ++l) acc[l] += a[i + l] * b[i + l];
  }
  float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float L2sqScalar(const float* a, const float* b, size_t n) {
  float acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int l = 0; l < 4; ++l) {
      const float d = a[i + l] - b[i + l];
      acc[l] += d * d;
    }
  }
  float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < n; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

float DotU8Scalar(const float* q, const uint8_t* code, size_t n) {
  float acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int l = 0; l < 4; ++l) acc[l] += q[i + l] * static_cast<float>(code[i + l]);
  }
  float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < n; ++i) sum += q[i] * static_cast<float>(code[i]);
  return sum;
}

// bf16 dot products with float arithmetic (CPUs without AVX512_BF16).
float DotBf16Pair(const uint16_t* q, const uint16_t* x, size_t dim) {
  float acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    for (int l = 0; l < 4; ++l) acc[l] += Bf16ToFloat(q[i + l]) * Bf16ToFloat(x[i + l]);
  }
  float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < dim; ++i) sum += Bf16ToFloat(q[i]) * Bf16ToFloat(x[i]);
  return sum;
}

void DotRowsBf16Generic(const uint16_t* q, const uint16_t* rows, size_t dim, size_t begin,
                        size_t n, float* out) {
  for (size_t r = 0; r < n; ++r) out[r] = DotBf16Pair(q, rows + (begin + r) * dim, dim);
}

void DotBlockBf16Generic(const uint16_t* const* qs, size_t nq, const uint16_t* rows,
                         size_t dim, size_t begin, size_t n, float* out, size_t out_stride) {
  for (size_t i = 0; i < nq; ++i) {
    DotRowsBf16Generic(qs[i], rows, dim, begin, n, out + i * out_stride);
  }
}

constexpr KernelTable kScalarTable{Isa::kScalar, DotScalar, L2sqScalar, DotU8Scalar,
                                   RowsByPair<ScalarPair>, BlockByPair<ScalarPair>,
                                   DotRowsBf16Generic, DotBlockBf16Generic};

#ifdef CASCADE_DENSE_X86

// --- AVX-512F ---------------------------------------------------------------

// GCC 12's _mm512_undefined_*() (inside _mm512_cvtepu8_epi32 and
// _mm512_reduce_add_ps) trips -Wuninitialized: GCC bug 105593.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

CASCADE_AVX512 float DotAvx512(const float* a, const float* b, size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

CASCADE_AVX512 float L2sqAvx512(const float* a, const float* b, size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
    __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
    acc2 = _mm512_fmadd_ps(d2, d2, acc2);
    acc3 = _mm512_fmadd_ps(d3, d3, acc3);
  }
  for (; i + 16 <= n; i += 16) {
    __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    acc0 = _mm512_fmadd_ps(d, d, acc0);
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    acc1 = _mm512_fmadd_ps(d, d, acc1);
  }
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

CASCADE_AVX512 float DotU8Avx512(const float* q, const uint8_t* code, size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 c0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i))));
    __m512 c1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i + 16))));
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), c0, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), c1, acc1);
  }
  for (; i + 16 <= n; i += 16) {
    __m512 c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i))));
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), c, acc0);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += q[i] * static_cast<float>(code[i]);
  return sum;
}


// Row kernels. Chunk j of a row is its values [16 j, 16 j + 16) as floats;
// the last chunk of a dimension that is not a multiple of 16 is loaded
// masked (zeros beyond the row, which add nothing).
template <RowType T>
CASCADE_AVX512 inline __m512 LoadChunk(const uint8_t* row, size_t j) {
  if constexpr (T == RowType::kF32) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + 16 * j);
  } else if constexpr (T == RowType::kF16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row) + j));
  } else {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row) + j)));
  }
}

template <RowType T>
CASCADE_AVX512 inline __m512 LoadTail(const uint8_t* row, size_t j, __mmask16 m) {
  if constexpr (T == RowType::kF32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + 16 * j);
  } else if constexpr (T == RowType::kF16) {
    return _mm512_cvtph_ps(
        _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + 16 * j));
  } else {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, row + 16 * j)));
  }
}

// acc + q * x, or acc + (q - x)^2 (int8: x times the row's scale s).
template <RowType T, bool L2>
CASCADE_AVX512 inline __m512 Step(__m512 acc, __m512 q, __m512 x, __m512 s) {
  if constexpr (L2) {
    const __m512 d = T == RowType::kInt8 ? _mm512_fnmadd_ps(x, s, q) : _mm512_sub_ps(q, x);
    return _mm512_fmadd_ps(d, d, acc);
  } else {
    return _mm512_fmadd_ps(q, x, acc);
  }
}

// The fold every pair's 16 lanes go through: i + i+8, then + i+4, + i+2,
// + i+1. Reduce16 folds 16 accumulators the same way at once.
CASCADE_AVX512 inline float Reduce1(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
}

// Lane 4 c + j of the result is the fold of acc[4 j + c].
CASCADE_AVX512 inline __m512 Reduce16(const __m512* acc) {
  __m512 c[8], d[4], e[2];
  for (int k = 0; k < 8; ++k) {  // lanes 0-7: acc[2k] halves, 8-15: acc[2k+1]
    c[k] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * k], acc[2 * k + 1], 0x44),
                         _mm512_shuffle_f32x4(acc[2 * k], acc[2 * k + 1], 0xEE));
  }
  for (int m = 0; m < 4; ++m) {  // 128-bit chunk t: acc[4m + t], 4 lanes
    d[m] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * m], c[2 * m + 1], 0x88),
                         _mm512_shuffle_f32x4(c[2 * m], c[2 * m + 1], 0xDD));
  }
  for (int p = 0; p < 2; ++p) {  // chunk t: acc[8p + t] and acc[8p + 4 + t], 2 lanes each
    e[p] = _mm512_add_ps(_mm512_shuffle_ps(d[2 * p], d[2 * p + 1], 0x44),
                         _mm512_shuffle_ps(d[2 * p], d[2 * p + 1], 0xEE));
  }
  return _mm512_add_ps(_mm512_shuffle_ps(e[0], e[1], 0x88), _mm512_shuffle_ps(e[0], e[1], 0xDD));
}

template <RowType T, bool L2>
CASCADE_AVX512 inline float Pair1(const float* q, const uint8_t* row, float scale, size_t dim) {
  const size_t full = dim / 16;
  const __m512 s = _mm512_set1_ps(scale);
  __m512 acc = _mm512_setzero_ps();
  for (size_t j = 0; j < full; ++j) {
    acc = Step<T, L2>(acc, _mm512_loadu_ps(q + 16 * j), LoadChunk<T>(row, j), s);
  }
  if (dim % 16 != 0) {
    const __mmask16 m = static_cast<__mmask16>((1u << (dim % 16)) - 1);
    acc = Step<T, L2>(acc, _mm512_maskz_loadu_ps(m, q + 16 * full), LoadTail<T>(row, full, m), s);
  }
  float sum = Reduce1(acc);
  if constexpr (!L2 && T == RowType::kInt8) sum *= scale;
  return sum;
}

// Software prefetch runs this many 16-row blocks ahead of the block being
// scored, so that the lines of the 16 interleaved row streams are requested
// early. One block, not more: the block being scored and the one prefetched
// into L1 should fit there together (384 f32 dimensions: 24 KiB each, an L1
// of 32 KiB). Measured against two, three and four blocks on 10^6 x 384
// rows, each configuration's scans interleaved with reads of the same rows
// (bench/README, "Dense retrieval"): the f32 scan 14-17% faster than with
// two, f16 4% faster, int8 the same; three or four were slower for all.
constexpr size_t kPrefetchBlocks = 1;

// One query, 16 rows at a time; accumulator a holds row 4 (a % 4) + a / 4 so
// that Reduce16's lanes come out in row order.
template <RowType T, bool L2>
CASCADE_AVX512 void RowsAvx512T(const RowSpan& rows, const float* q, size_t begin, size_t n,
                                float* out) {
  const size_t dim = rows.dim, rb = RowBytes(T, dim), full = dim / 16;
  const auto* base = static_cast<const uint8_t*>(rows.data) + begin * rb;
  const float* scales = T == RowType::kInt8 ? rows.scales + begin : nullptr;
  const __mmask16 m = static_cast<__mmask16>((1u << (dim % 16)) - 1);
  const size_t block_bytes = 16 * rb;
  const size_t lines = (block_bytes + 63) / 64;
  const size_t per_step = (lines + full) / (full + 1);  // lines to prefetch per chunk
  size_t r = 0;
  for (; r + 16 <= n; r += 16) {
    const uint8_t* blk = base + r * rb;
    // An address, not a pointer: it may lie past the rows (a prefetch
    // there is harmless, forming such a pointer is not).
    const uintptr_t ahead = reinterpret_cast<uintptr_t>(blk) + kPrefetchBlocks * block_bytes;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int a = 0; a < 16; ++a) acc[a] = _mm512_setzero_ps();
    for (size_t j = 0; j <= full; ++j) {
      const bool tail = j == full;
      if (tail && dim % 16 == 0) break;
      const __m512 qv = tail ? _mm512_maskz_loadu_ps(m, q + 16 * j) : _mm512_loadu_ps(q + 16 * j);
      const size_t l_end = tail ? lines : std::min(lines, (j + 1) * per_step);
      for (size_t l = j * per_step; l < l_end; ++l) {
        _mm_prefetch(reinterpret_cast<const char*>(ahead + 64 * l), _MM_HINT_T0);
      }
#pragma GCC unroll 16
      for (int a = 0; a < 16; ++a) {
        const size_t k = size_t(4 * (a % 4) + a / 4);
        const uint8_t* row = blk + k * rb;
        const __m512 x = tail ? LoadTail<T>(row, j, m) : LoadChunk<T>(row, j);
        const __m512 s = L2 && T == RowType::kInt8 ? _mm512_set1_ps(scales[r + k]) : qv;
        acc[a] = Step<T, L2>(acc[a], qv, x, s);
      }
    }
    __m512 sum = Reduce16(acc);
    if constexpr (!L2 && T == RowType::kInt8) sum = _mm512_mul_ps(sum, _mm512_loadu_ps(scales + r));
    _mm512_storeu_ps(out + r, sum);
  }
  for (; r < n; ++r) {
    out[r] = Pair1<T, L2>(q, base + r * rb, scales ? scales[r] : 1.0f, dim);
  }
}

// Four queries x four rows per register tile: accumulator 4 j + c holds
// (query c, row j), so Reduce16's chunk c is query c's four scores.
template <RowType T, bool L2>
CASCADE_AVX512 void BlockAvx512T(const RowSpan& rows, const float* const* qs, size_t nq,
                                 size_t begin, size_t n, float* out, size_t out_stride) {
  const size_t dim = rows.dim, rb = RowBytes(T, dim), full = dim / 16;
  const auto* base = static_cast<const uint8_t*>(rows.data) + begin * rb;
  const float* scales = T == RowType::kInt8 ? rows.scales + begin : nullptr;
  const __mmask16 m = static_cast<__mmask16>((1u << (dim % 16)) - 1);
  size_t i = 0;
  for (; i + 4 <= nq; i += 4) {
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
      const uint8_t* row = base + r * rb;
      __m512 acc[16];
#pragma GCC unroll 16
      for (int a = 0; a < 16; ++a) acc[a] = _mm512_setzero_ps();
      __m512 sv[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        sv[j] = L2 && T == RowType::kInt8 ? _mm512_set1_ps(scales[r + j]) : _mm512_setzero_ps();
      }
      for (size_t j = 0; j <= full; ++j) {
        const bool tail = j == full;
        if (tail && dim % 16 == 0) break;
        __m512 x[4], qv[4];
#pragma GCC unroll 4
        for (int t = 0; t < 4; ++t) {
          x[t] = tail ? LoadTail<T>(row + t * rb, j, m) : LoadChunk<T>(row + t * rb, j);
          qv[t] = tail ? _mm512_maskz_loadu_ps(m, qs[i + t] + 16 * j)
                       : _mm512_loadu_ps(qs[i + t] + 16 * j);
        }
#pragma GCC unroll 4
        for (int t = 0; t < 4; ++t) {
#pragma GCC unroll 4
          for (int c = 0; c < 4; ++c) {
            acc[4 * t + c] = Step<T, L2>(acc[4 * t + c], qv[c], x[t], sv[t]);
          }
        }
      }
      __m512 sum = Reduce16(acc);
      if constexpr (!L2 && T == RowType::kInt8) {
        sum = _mm512_mul_ps(sum, _mm512_broadcast_f32x4(_mm_loadu_ps(scales + r)));
      }
      _mm_storeu_ps(out + i * out_stride + r, _mm512_castps512_ps128(sum));
      _mm_storeu_ps(out + (i + 1) * out_stride + r, _mm512_extractf32x4_ps(sum, 1));
      _mm_storeu_ps(out + (i + 2) * out_stride + r, _mm512_extractf32x4_ps(sum, 2));
      _mm_storeu_ps(out + (i + 3) * out_stride + r, _mm512_extractf32x4_ps(sum, 3));
    }
    for (; r < n; ++r) {
      const uint8_t* row = base + r * rb;
      const float scale = scales ? scales[r] : 1.0f;
      for (size_t c = 0; c < 4; ++c) {
        out[(i + c) * out_stride + r] = Pair1<T, L2>(qs[i + c], row, scale, dim);
      }
    }
  }
  for (; i < nq; ++i) RowsAvx512T<T, L2>(rows, qs[i], begin, n, out + i * out_stride);
}

void RowsAvx512(const RowSpan& rows, bool l2, const float* q, size_t begin, size_t n,
                float* out) {
  Dispatch(rows.type, l2,
           [&]<RowType T, bool L2>() { RowsAvx512T<T, L2>(rows, q, begin, n, out); });
}

void BlockAvx512(const RowSpan& rows, bool l2, const float* const* qs, size_t nq, size_t begin,
                 size_t n, float* out, size_t out_stride) {
  Dispatch(rows.type, l2, [&]<RowType T, bool L2>() {
    BlockAvx512T<T, L2>(rows, qs, nq, begin, n, out, out_stride);
  });
}


// --- AVX512_BF16 --------------------------------------------------------------

#define CASCADE_AVX512BF16 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// Chunk j of a bf16 row: values [32 j, 32 j + 32); the last one masked.
CASCADE_AVX512BF16 inline __m512bh LoadBf16(const uint16_t* p, size_t j, size_t dim) {
  if (32 * j + 32 <= dim) return (__m512bh)_mm512_loadu_si512(p + 32 * j);
  const __mmask32 m = static_cast<__mmask32>((uint64_t{1} << (dim - 32 * j)) - 1);
  return (__m512bh)_mm512_maskz_loadu_epi16(m, p + 32 * j);
}

CASCADE_AVX512BF16 inline float PairBf16(const uint16_t* q, const uint16_t* x, size_t dim) {
  __m512 acc = _mm512_setzero_ps();
  for (size_t j = 0; 32 * j < dim; ++j) {
    acc = _mm512_dpbf16_ps(acc, LoadBf16(q, j, dim), LoadBf16(x, j, dim));
  }
  return Reduce1(acc);
}

CASCADE_AVX512BF16 void DotRowsBf16Avx512(const uint16_t* q, const uint16_t* rows, size_t dim,
                                          size_t begin, size_t n, float* out) {
  const uint16_t* base = rows + begin * dim;
  const size_t chunks = (dim + 31) / 32;
  size_t r = 0;
  for (; r + 16 <= n; r += 16) {
    const uint16_t* blk = base + r * dim;
    __m512 acc[16];
#pragma GCC unroll 16
    for (int a = 0; a < 16; ++a) acc[a] = _mm512_setzero_ps();
    for (size_t j = 0; j < chunks; ++j) {
      const __m512bh qv = LoadBf16(q, j, dim);
#pragma GCC unroll 16
      for (int a = 0; a < 16; ++a) {
        const uint16_t* row = blk + size_t(4 * (a % 4) + a / 4) * dim;
        acc[a] = _mm512_dpbf16_ps(acc[a], qv, LoadBf16(row, j, dim));
      }
    }
    _mm512_storeu_ps(out + r, Reduce16(acc));
  }
  for (; r < n; ++r) out[r] = PairBf16(q, base + r * dim, dim);
}

CASCADE_AVX512BF16 void DotBlockBf16Avx512(const uint16_t* const* qs, size_t nq,
                                           const uint16_t* rows, size_t dim, size_t begin,
                                           size_t n, float* out, size_t out_stride) {
  const uint16_t* base = rows + begin * dim;
  const size_t chunks = (dim + 31) / 32;
  size_t i = 0;
  for (; i + 4 <= nq; i += 4) {
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
      const uint16_t* row = base + r * dim;
      __m512 acc[16];
#pragma GCC unroll 16
      for (int a = 0; a < 16; ++a) acc[a] = _mm512_setzero_ps();
      for (size_t j = 0; j < chunks; ++j) {
        __m512bh x[4], qv[4];
#pragma GCC unroll 4
        for (int t = 0; t < 4; ++t) {
          x[t] = LoadBf16(row + t * dim, j, dim);
          qv[t] = LoadBf16(qs[i + t], j, dim);
        }
#pragma GCC unroll 4
        for (int t = 0; t < 4; ++t) {
#pragma GCC unroll 4
          for (int c = 0; c < 4; ++c) {
            acc[4 * t + c] = _mm512_dpbf16_ps(acc[4 * t + c], qv[c], x[t]);
          }
        }
      }
      const __m512 sum = Reduce16(acc);
      _mm_storeu_ps(out + i * out_stride + r, _mm512_castps512_ps128(sum));
      _mm_storeu_ps(out + (i + 1) * out_stride + r, _mm512_extractf32x4_ps(sum, 1));
      _mm_storeu_ps(out + (i + 2) * out_stride + r, _mm512_extractf32x4_ps(sum, 2));
      _mm_storeu_ps(out + (i + 3) * out_stride + r, _mm512_extractf32x4_ps(sum, 3));
    }
    for (; r < n; ++r) {
      for (size_t c = 0; c < 4; ++c) {
        out[(i + c) * out_stride + r] = PairBf16(qs[i + c], base + r * dim, dim);
      }
    }
  }
  for (; i < nq; ++i) DotRowsBf16Avx512(qs[i], rows, dim, begin, n, out + i * out_stride);
}

bool HasBf16() {
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
}

void DotRowsBf16Dispatch(const uint16_t* q, const uint16_t* rows, size_t dim, size_t begin,
                         size_t n, float* out) {
  if (HasBf16()) return DotRowsBf16Avx512(q, rows, dim, begin, n, out);
  DotRowsBf16Generic(q, rows, dim, begin, n, out);
}

void DotBlockBf16Dispatch(const uint16_t* const* qs, size_t nq, const uint16_t* rows,
                          size_t dim, size_t begin, size_t n, float* out, size_t out_stride) {
  if (HasBf16()) return DotBlockBf16Avx512(qs, nq, rows, dim, begin, n, out, out_stride);
  DotBlockBf16Generic(qs, nq, rows, dim, begin, n, out, out_stride);
}

#pragma GCC diagnostic pop

// --- AVX2 + FMA -------------------------------------------------------------

CASCADE_AVX2 inline float Sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

CASCADE_AVX2 float DotAvx2(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  float sum = Sum8(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

CASCADE_AVX2 float L2sqAvx2(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
    __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
    acc2 = _mm256_fmadd_ps(d2, d2, acc2);
    acc3 = _mm256_fmadd_ps(d3, d3, acc3);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc0 = _mm256_fmadd_ps(d, d, acc0);
  }
  float sum = Sum8(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

CASCADE_AVX2 float DotU8Avx2(const float* q, const uint8_t* code, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + i));
    __m256 c0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
    __m256 c1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8)));
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), c0, acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), c1, acc1);
  }
  float sum = Sum8(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += q[i] * static_cast<float>(code[i]);
  return sum;
}


template <RowType T>
CASCADE_AVX2 inline __m256 LoadChunk8(const uint8_t* row, size_t i) {
  if constexpr (T == RowType::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else if constexpr (T == RowType::kF16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
  } else {
    int64_t bytes;
    std::memcpy(&bytes, row + i, 8);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes)));
  }
}

template <RowType T, bool L2>
struct Avx2Pair {
  CASCADE_AVX2 static inline __m256 Step(__m256 acc, const float* q, const uint8_t* row,
                                         __m256 s, size_t i) {
    const __m256 x = LoadChunk8<T>(row, i), qv = _mm256_loadu_ps(q + i);
    if constexpr (L2) {
      const __m256 d = T == RowType::kInt8 ? _mm256_fnmadd_ps(x, s, qv) : _mm256_sub_ps(qv, x);
      return _mm256_fmadd_ps(d, d, acc);
    } else {
      return _mm256_fmadd_ps(qv, x, acc);
    }
  }
  CASCADE_AVX2 static float Score(const float* q, const uint8_t* row, float scale, size_t dim) {
    const __m256 s = _mm256_set1_ps(scale);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
      acc0 = Step(acc0, q, row, s, i);
      acc1 = Step(acc1, q, row, s, i + 8);
    }
    for (; i + 8 <= dim; i += 8) acc0 = Step(acc0, q, row, s, i);
    float sum = Sum8(_mm256_add_ps(acc0, acc1));
    for (; i < dim; ++i) {
      float x = ScalarValue<T>(row, i);
      if constexpr (L2) {
        if constexpr (T == RowType::kInt8) x *= scale;
        const float d = q[i] - x;
        sum += d * d;
      } else {
        sum += q[i] * x;
      }
    }
    if constexpr (!L2 && T == RowType::kInt8) sum *= scale;
    return sum;
  }
};

constexpr KernelTable kAvx512Table{Isa::kAvx512, DotAvx512, L2sqAvx512, DotU8Avx512,
                                   RowsAvx512, BlockAvx512, DotRowsBf16Dispatch,
                                   DotBlockBf16Dispatch};
constexpr KernelTable kAvx2Table{Isa::kAvx2, DotAvx2, L2sqAvx2, DotU8Avx2,
                                 RowsByPair<Avx2Pair>, BlockByPair<Avx2Pair>,
                                 DotRowsBf16Generic, DotBlockBf16Generic};

bool CpuHas(Isa isa) {
  // libgcc's checks include the OS saving the wide registers (xgetbv).
  switch (isa) {
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    case Isa::kScalar: return true;
  }
  return false;
}

#endif  // CASCADE_DENSE_X86

}  // namespace

const KernelTable* KernelsFor(Isa isa) {
  if (isa == Isa::kScalar) return &kScalarTable;
#ifdef CASCADE_DENSE_X86
  if (!CpuHas(isa)) return nullptr;
  return isa == Isa::kAvx512 ? &kAvx512Table : &kAvx2Table;
#else
  return nullptr;
#endif
}

const KernelTable& Kernels() {
  static const KernelTable* best = [] {
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
      if (const KernelTable* t = KernelsFor(isa)) return t;
    }
    return &kScalarTable;
  }();
  return *best;
}

}  // namespace cascade::dense
