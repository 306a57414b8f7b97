// The CUDA kernels of the encoder (cuda_encoder.cu launches them). T is the
// storage type of activations and weights: float, __half or
// __nv_bfloat16; every kernel computes in float.
//
// Layouts: activations are row-major [tokens][columns]; a sequence's tokens
// are the rows [offsets[s], offsets[s + 1]); the fused Q/K/V activations are
// [tokens][3 * hidden] with Q, K and V side by side and head h at columns
// h * head_dim of each.
#ifndef CASCADE_GPU_CUDA_ENCODER_KERNELS_CUH_
#define CASCADE_GPU_CUDA_ENCODER_KERNELS_CUH_

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cstdint>

namespace cascade::gpu::kernels {

// --- Conversions ----------------------------------------------------------

template <typename T>
__device__ __forceinline__ float ToFloat(T v);
template <>
__device__ __forceinline__ float ToFloat<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ float ToFloat<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ float ToFloat<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <typename T>
__device__ __forceinline__ T FromFloat(float v);
template <>
__device__ __forceinline__ float FromFloat<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half FromFloat<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

template <typename T>
__global__ void ConvertFromFloat(const float* __restrict in,
                                 T* __restrict out, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
       i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    out[i] = FromFloat<T>(in[i]);
  }
}

template <typename T>
__global__ void ConvertToFloat(const T* __restrict in, float* __restrict out,
                               size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
       i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    out[i] = ToFloat<T>(in[i]);
  }
}

// --- Reductions -------------------------------------------------------------

__device__ __forceinline__ float WarpSum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  }
  return v;
}

// --- Activations (as transformers: erf GELU, tanh GELU, ReLU) ---------------

enum class Act { kGeluErf, kGeluTanh, kRelu };

template <Act kAct>
__device__ __forceinline__ float Activate(float x) {
  if constexpr (kAct == Act::kGeluErf) {
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
  } else if constexpr (kAct == Act::kGeluTanh) {
    const float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
  } else {
    return fmaxf(x, 0.0f);
  }
}

// --- LayerNorm rows: one warp per row ---------------------------------------

// Up to 32 values per lane: hidden sizes up to 1024.
constexpr int kMaxPerLane = 32;
constexpr int kMaxHidden = 32 * kMaxPerLane;

// Normalises the `n` values a warp holds (lane i holds columns i, i + 32,
// ...) and writes gamma * x_hat + beta to `out`. The variance is the biased
// one, as torch.nn.LayerNorm computes it.
template <typename T>
__device__ __forceinline__ void NormalizeWarpRow(float (&v)[kMaxPerLane],
                                                 int n, float eps,
                                                 const float* __restrict gamma,
                                                 const float* __restrict beta,
                                                 T* __restrict out) {
  const int lane = threadIdx.x & 31;
  float sum = 0.0f;
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    if (lane + 32 * k < n) sum += v[k];
  }
  const float mean = WarpSum(sum) / static_cast<float>(n);
  float squares = 0.0f;
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    if (lane + 32 * k < n) {
      const float d = v[k] - mean;
      squares += d * d;
    }
  }
  const float inv_std =
      rsqrtf(WarpSum(squares) / static_cast<float>(n) + eps);
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    const int i = lane + 32 * k;
    if (i < n) out[i] = FromFloat<T>((v[k] - mean) * inv_std * gamma[i] + beta[i]);
  }
}

// out[t] = LayerNorm(word[ids[t]] + position[positions[t]] + type[types[t]]).
// Block: 128 threads (4 rows); grid: ceil(tokens / 4).
template <typename T>
__global__ void __launch_bounds__(128)
    EmbedLayerNorm(const int32_t* __restrict ids,
                   const int32_t* __restrict types,
                   const int32_t* __restrict positions, int tokens, int hidden,
                   const T* __restrict word, const T* __restrict position,
                   const T* __restrict type, const float* __restrict gamma,
                   const float* __restrict beta, float eps, T* __restrict out) {
  const int row = blockIdx.x * 4 + (threadIdx.x >> 5);
  if (row >= tokens) return;
  const int lane = threadIdx.x & 31;
  const T* w = word + static_cast<size_t>(ids[row]) * hidden;
  const T* p = position + static_cast<size_t>(positions[row]) * hidden;
  const T* y = type + static_cast<size_t>(types[row]) * hidden;
  float v[kMaxPerLane];
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    const int i = lane + 32 * k;
    v[k] = i < hidden ? ToFloat<T>(w[i]) + ToFloat<T>(p[i]) + ToFloat<T>(y[i])
                      : 0.0f;
  }
  NormalizeWarpRow<T>(v, hidden, eps, gamma, beta,
                      out + static_cast<size_t>(row) * hidden);
}

// residual[t] = LayerNorm(dense[t] + bias + residual[t]), in place.
// Block: 128 threads (4 rows); grid: ceil(tokens / 4).
template <typename T>
__global__ void __launch_bounds__(128)
    BiasResidualLayerNorm(const T* __restrict dense,
                          const float* __restrict bias, int tokens, int hidden,
                          const float* __restrict gamma,
                          const float* __restrict beta, float eps,
                          T* __restrict residual) {
  const int row = blockIdx.x * 4 + (threadIdx.x >> 5);
  if (row >= tokens) return;
  const int lane = threadIdx.x & 31;
  const T* d = dense + static_cast<size_t>(row) * hidden;
  T* r = residual + static_cast<size_t>(row) * hidden;
  float v[kMaxPerLane];
#pragma unroll
  for (int k = 0; k < kMaxPerLane; ++k) {
    const int i = lane + 32 * k;
    v[k] = i < hidden ? ToFloat<T>(d[i]) + bias[i] + ToFloat<T>(r[i]) : 0.0f;
  }
  NormalizeWarpRow<T>(v, hidden, eps, gamma, beta, r);
}

// rows[t][c] = act(rows[t][c] + bias[c]), in place; `count` = tokens * cols.
// Eight values per thread step when cols is a multiple of 8 (16-byte
// accesses for 16-bit types), else one.
template <typename T, Act kAct>
__global__ void BiasActivate(T* __restrict rows, const float* __restrict bias,
                             size_t count, int cols) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if constexpr (sizeof(T) == 2) {
    if (cols % 8 == 0) {
      for (size_t chunk = i; chunk * 8 < count; chunk += stride) {
        uint4 packed = reinterpret_cast<uint4*>(rows)[chunk];
        T* v = reinterpret_cast<T*>(&packed);
        const int c0 = static_cast<int>((chunk * 8) % cols);
#pragma unroll
        for (int k = 0; k < 8; ++k) {
          v[k] = FromFloat<T>(Activate<kAct>(ToFloat<T>(v[k]) + bias[c0 + k]));
        }
        reinterpret_cast<uint4*>(rows)[chunk] = packed;
      }
      return;
    }
  }
  for (; i < count; i += stride) {
    const int c = static_cast<int>(i % cols);
    rows[i] = FromFloat<T>(Activate<kAct>(ToFloat<T>(rows[i]) + bias[c]));
  }
}

// --- Attention ----------------------------------------------------------------
//
// Work items: one (sequence, 64-query tile) per entry of tile_seq/tile_q0,
// times heads (gridDim.y). Each query attends to the keys of its own
// sequence only; scores are scaled by 1/sqrt(head_dim) and softmaxed in
// float with a running maximum (online softmax), so no score matrix is ever
// stored whole. `bias` is the fused Q/K/V bias [3 * hidden] (the GEMM that
// produced qkv added none).

constexpr int kQueryTile = 64;

// Plain kernel: one thread per query row, keys staged in shared memory,
// float arithmetic. kD = head size rounded up (16, 32, 64 or 128).
template <typename T, int kD>
__global__ void __launch_bounds__(kQueryTile)
    AttentionPlain(const T* __restrict qkv, const float* __restrict bias,
                   const int32_t* __restrict offsets,
                   const int32_t* __restrict tile_seq,
                   const int32_t* __restrict tile_q0, int hidden, int head_dim,
                   float scale, T* __restrict context) {
  constexpr int kKeys = kD <= 64 ? 64 : 32;
  __shared__ float keys[kKeys][kD];
  __shared__ float values[kKeys][kD];
  const int seq = tile_seq[blockIdx.x];
  const int head = blockIdx.y;
  const int begin = offsets[seq];
  const int length = offsets[seq + 1] - begin;
  const int row = tile_q0[blockIdx.x] + threadIdx.x;
  const bool active = row < length;
  const size_t ld = 3 * static_cast<size_t>(hidden);
  const int col = head * head_dim;

  float q[kD];
  float acc[kD];
#pragma unroll
  for (int d = 0; d < kD; ++d) {
    q[d] = active && d < head_dim
               ? (ToFloat<T>(qkv[(begin + row) * ld + col + d]) + bias[col + d]) *
                     scale
               : 0.0f;
    acc[d] = 0.0f;
  }
  float running_max = -INFINITY, running_sum = 0.0f;
  for (int k0 = 0; k0 < length; k0 += kKeys) {
    __syncthreads();
    for (int r = threadIdx.x; r < kKeys; r += kQueryTile) {
      const int key = k0 + r;
      for (int d = 0; d < kD; ++d) {
        const bool in = key < length && d < head_dim;
        const size_t at = (begin + key) * ld + col + d;
        keys[r][d] =
            in ? ToFloat<T>(qkv[at + hidden]) + bias[hidden + col + d] : 0.0f;
        values[r][d] = in ? ToFloat<T>(qkv[at + 2 * static_cast<size_t>(hidden)]) +
                                bias[2 * hidden + col + d]
                          : 0.0f;
      }
    }
    __syncthreads();
    const int count = min(kKeys, length - k0);
    for (int j = 0; j < count; ++j) {
      float s = 0.0f;
#pragma unroll
      for (int d = 0; d < kD; ++d) s += q[d] * keys[j][d];
      const float new_max = fmaxf(running_max, s);
      const float correction = __expf(running_max - new_max);
      const float p = __expf(s - new_max);
      running_sum = running_sum * correction + p;
#pragma unroll
      for (int d = 0; d < kD; ++d) acc[d] = acc[d] * correction + p * values[j][d];
      running_max = new_max;
    }
  }
  if (!active) return;
  const float inv = 1.0f / running_sum;
  T* out = context + static_cast<size_t>(begin + row) * hidden + col;
  for (int d = 0; d < head_dim; ++d) out[d] = FromFloat<T>(acc[d] * inv);
}

// Tensor-core kernel (T = __half or __nv_bfloat16): 4 warps per block, each
// owning 16 of the tile's 64 query rows. Per 64-key tile: S = Q K^T with
// WMMA 16x16x16 (fp32 accumulators) into shared memory; the online softmax
// in float (two lanes per row); P (rounded to T) times V accumulated with
// WMMA into a float output tile kept in shared memory, rescaled per row as
// the running maximum moves. Head sizes are padded with zeros to kD.
// Shared memory: TensorCoreSharedBytes<kD>() (dynamic; above 48 KB the
// launcher raises the kernel's limit).
template <int kD>
struct TensorCoreLayout {
  static constexpr int kLdT = kD + 8;         // Q, K, V rows (T), 16-byte pad
  static constexpr int kLdS = kQueryTile + 4;  // score rows (float)
  static constexpr int kLdP = kQueryTile + 8;  // probability rows (T)
  static constexpr int kLdO = kD + 4;          // output rows (float)
  static constexpr size_t Align(size_t bytes) { return (bytes + 127) / 128 * 128; }
  static constexpr size_t kQBytes = Align(kQueryTile * kLdT * 2);
  static constexpr size_t kSBytes = Align(4 * 16 * kLdS * 4);
  static constexpr size_t kPBytes = Align(4 * 16 * kLdP * 2);
  static constexpr size_t kOBytes = Align(4 * 16 * kLdO * 4);
  static constexpr size_t kStatBytes = Align(2 * kQueryTile * 4);
  static constexpr size_t kQ = 0;
  static constexpr size_t kK = kQ + kQBytes;
  static constexpr size_t kV = kK + kQBytes;
  static constexpr size_t kS = kV + kQBytes;
  static constexpr size_t kP = kS + kSBytes;
  static constexpr size_t kO = kP + kPBytes;
  static constexpr size_t kStat = kO + kOBytes;
  static constexpr size_t kTotal = kStat + kStatBytes;
};

// Copies rows [first, first + 64) of one head's Q, K or V (part 0, 1, 2) into
// a [64][kLdT] tile of shared memory, adding the bias; rows past the
// sequence and columns past head_dim are zero. `vector_ok`: head_dim == kD
// and rows 16-byte aligned, so 8 values move per access.
template <typename T, int kD>
__device__ __forceinline__ void LoadHeadTile(
    const T* __restrict qkv, const float* __restrict bias, int begin,
    int first, int length, int hidden, int head_dim, int col, int part,
    bool vector_ok, T* __restrict tile) {
  constexpr int kLd = TensorCoreLayout<kD>::kLdT;
  const size_t ld = 3 * static_cast<size_t>(hidden);
  const int offset = part * hidden + col;
  if (vector_ok) {
    constexpr int kChunks = kQueryTile * kD / 8;
    for (int c = threadIdx.x; c < kChunks; c += blockDim.x) {
      const int r = c / (kD / 8);
      const int d0 = (c % (kD / 8)) * 8;
      const int row = first + r;
      uint4 packed = make_uint4(0, 0, 0, 0);
      if (row < length) {
        packed = *reinterpret_cast<const uint4*>(qkv + (begin + row) * ld +
                                                 offset + d0);
        T* v = reinterpret_cast<T*>(&packed);
#pragma unroll
        for (int k = 0; k < 8; ++k) {
          v[k] = FromFloat<T>(ToFloat<T>(v[k]) + bias[offset + d0 + k]);
        }
      }
      *reinterpret_cast<uint4*>(tile + r * kLd + d0) = packed;
    }
    return;
  }
  for (int i = threadIdx.x; i < kQueryTile * kD; i += blockDim.x) {
    const int r = i / kD;
    const int d = i % kD;
    const int row = first + r;
    float value = 0.0f;
    if (row < length && d < head_dim) {
      value = ToFloat<T>(qkv[(begin + row) * ld + offset + d]) + bias[offset + d];
    }
    tile[r * kLd + d] = FromFloat<T>(value);
  }
}

template <typename T, int kD>
__global__ void __launch_bounds__(128)
    AttentionTensorCore(const T* __restrict qkv, const float* __restrict bias,
                        const int32_t* __restrict offsets,
                        const int32_t* __restrict tile_seq,
                        const int32_t* __restrict tile_q0, int hidden,
                        int head_dim, float scale_log2, T* __restrict context) {
  using namespace nvcuda;
  using L = TensorCoreLayout<kD>;
  extern __shared__ __align__(128) unsigned char shared[];
  T* q_tile = reinterpret_cast<T*>(shared + L::kQ);
  T* k_tile = reinterpret_cast<T*>(shared + L::kK);
  T* v_tile = reinterpret_cast<T*>(shared + L::kV);
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  float* s_warp = reinterpret_cast<float*>(shared + L::kS) + warp * 16 * L::kLdS;
  T* p_warp = reinterpret_cast<T*>(shared + L::kP) + warp * 16 * L::kLdP;
  float* o_warp = reinterpret_cast<float*>(shared + L::kO) + warp * 16 * L::kLdO;
  float* row_max = reinterpret_cast<float*>(shared + L::kStat);
  float* row_sum = row_max + kQueryTile;

  const int seq = tile_seq[blockIdx.x];
  const int head = blockIdx.y;
  const int begin = offsets[seq];
  const int length = offsets[seq + 1] - begin;
  const int q0 = tile_q0[blockIdx.x];
  const int col = head * head_dim;
  const bool vector_ok = head_dim == kD && hidden % 8 == 0;

  LoadHeadTile<T, kD>(qkv, bias, begin, q0, length, hidden, head_dim, col, 0,
                      vector_ok, q_tile);
  for (int i = lane; i < 16 * L::kLdO; i += 32) o_warp[i] = 0.0f;
  if (lane < 16) {
    row_max[warp * 16 + lane] = -INFINITY;
    row_sum[warp * 16 + lane] = 0.0f;
  }

  // The row and the half of the columns this lane handles in the softmax
  // and in the final write.
  const int r = lane >> 1;
  const int half = lane & 1;

  for (int k0 = 0; k0 < length; k0 += kQueryTile) {
    __syncthreads();  // the previous tile's K and V are no longer read
    LoadHeadTile<T, kD>(qkv, bias, begin, k0, length, hidden, head_dim, col,
                        1, vector_ok, k_tile);
    LoadHeadTile<T, kD>(qkv, bias, begin, k0, length, hidden, head_dim, col,
                        2, vector_ok, v_tile);
    __syncthreads();

    // S[16][64] = Q_warp K^T.
#pragma unroll
    for (int n = 0; n < kQueryTile / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
      wmma::fill_fragment(s, 0.0f);
#pragma unroll
      for (int k = 0; k < kD / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
        wmma::load_matrix_sync(a, q_tile + (warp * 16) * L::kLdT + k * 16,
                               L::kLdT);
        wmma::load_matrix_sync(b, k_tile + (n * 16) * L::kLdT + k * 16,
                               L::kLdT);
        wmma::mma_sync(s, a, b, s);
      }
      wmma::store_matrix_sync(s_warp + n * 16, s, L::kLdS, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax over this tile's valid keys (log2 domain).
    const int valid = min(kQueryTile, length - k0);
    float tile_max = -INFINITY;
    for (int c = half * 32; c < half * 32 + 32; ++c) {
      if (c < valid) tile_max = fmaxf(tile_max, s_warp[r * L::kLdS + c] * scale_log2);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    const float old_max = row_max[warp * 16 + r];
    const float new_max = fmaxf(old_max, tile_max);
    const float correction = exp2f(old_max - new_max);
    float sum = 0.0f;
    for (int c = half * 32; c < half * 32 + 32; ++c) {
      const float p =
          c < valid ? exp2f(s_warp[r * L::kLdS + c] * scale_log2 - new_max) : 0.0f;
      const T rounded = FromFloat<T>(p);
      p_warp[r * L::kLdP + c] = rounded;
      sum += ToFloat<T>(rounded);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    for (int d = half * (kD / 2); d < (half + 1) * (kD / 2); ++d) {
      o_warp[r * L::kLdO + d] *= correction;
    }
    __syncwarp();
    if (half == 0) {
      row_max[warp * 16 + r] = new_max;
      row_sum[warp * 16 + r] = row_sum[warp * 16 + r] * correction + sum;
    }
    __syncwarp();

    // O_warp[16][kD] += P[16][64] V[64][kD].
#pragma unroll
    for (int n = 0; n < kD / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> o;
      wmma::load_matrix_sync(o, o_warp + n * 16, L::kLdO, wmma::mem_row_major);
#pragma unroll
      for (int k = 0; k < kQueryTile / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
        wmma::load_matrix_sync(a, p_warp + k * 16, L::kLdP);
        wmma::load_matrix_sync(b, v_tile + (k * 16) * L::kLdT + n * 16, L::kLdT);
        wmma::mma_sync(o, a, b, o);
      }
      wmma::store_matrix_sync(o_warp + n * 16, o, L::kLdO, wmma::mem_row_major);
    }
    __syncwarp();
  }

  const int row = q0 + warp * 16 + r;
  if (row >= length) return;
  const float inv = 1.0f / row_sum[warp * 16 + r];
  T* out = context + static_cast<size_t>(begin + row) * hidden + col;
  for (int d = half * (kD / 2); d < (half + 1) * (kD / 2); ++d) {
    if (d < head_dim) out[d] = FromFloat<T>(o_warp[r * L::kLdO + d] * inv);
  }
}

// --- Heads ------------------------------------------------------------------

// Cross-encoder: score[s] = classifier(tanh(pooler(h[CLS of s]))); with two
// labels, the softmax probability of the second. One block of 256 threads
// per sequence; weights in float. Shared memory: 2 * hidden floats.
template <typename T>
__global__ void __launch_bounds__(256)
    CrossEncoderHead(const T* __restrict hidden_states,
                     const int32_t* __restrict offsets, int hidden,
                     const float* __restrict pooler_w,
                     const float* __restrict pooler_b,
                     const float* __restrict classifier_w,
                     const float* __restrict classifier_b, int labels,
                     float* __restrict scores) {
  extern __shared__ float head_shared[];
  float* x = head_shared;
  float* pooled = head_shared + hidden;
  __shared__ float logits[2];
  const int s = blockIdx.x;
  const T* cls = hidden_states + static_cast<size_t>(offsets[s]) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) x[i] = ToFloat<T>(cls[i]);
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int warps = blockDim.x >> 5;
  for (int j = warp; j < hidden; j += warps) {
    const float* w = pooler_w + static_cast<size_t>(j) * hidden;
    float dot = 0.0f;
    for (int i = lane; i < hidden; i += 32) dot += w[i] * x[i];
    dot = WarpSum(dot);
    if (lane == 0) pooled[j] = tanhf(dot + pooler_b[j]);
  }
  __syncthreads();
  if (warp < labels) {
    const float* w = classifier_w + static_cast<size_t>(warp) * hidden;
    float dot = 0.0f;
    for (int i = lane; i < hidden; i += 32) dot += w[i] * pooled[i];
    dot = WarpSum(dot);
    if (lane == 0) logits[warp] = dot + classifier_b[warp];
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    scores[s] = labels == 1 ? logits[0]
                            : 1.0f / (1.0f + expf(logits[0] - logits[1]));
  }
}

// Bi-encoder: CLS or mean pooling, then optionally x / max(||x||, 1e-12).
// One block of 256 threads per sequence; out is [sequences][hidden].
template <typename T>
__global__ void __launch_bounds__(256)
    PoolHead(const T* __restrict hidden_states,
             const int32_t* __restrict offsets, int hidden, bool mean,
             bool normalize, float* __restrict out) {
  __shared__ float partial[8];
  const int s = blockIdx.x;
  const int begin = offsets[s], end = offsets[s + 1];
  float* e = out + static_cast<size_t>(s) * hidden;
  float squares = 0.0f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    float v;
    if (mean) {
      v = 0.0f;
      for (int t = begin; t < end; ++t) {
        v += ToFloat<T>(hidden_states[static_cast<size_t>(t) * hidden + i]);
      }
      v /= static_cast<float>(end - begin);
    } else {
      v = ToFloat<T>(hidden_states[static_cast<size_t>(begin) * hidden + i]);
    }
    e[i] = v;
    squares += v * v;
  }
  if (!normalize) return;
  squares = WarpSum(squares);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = squares;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) total += partial[w];
  const float inv = 1.0f / fmaxf(sqrtf(total), 1e-12f);
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) e[i] *= inv;
}

// Token weigher: out[t] = max(0, w . h[t] + b). One warp per token; block
// 128 threads.
template <typename T>
__global__ void __launch_bounds__(128)
    TokenProjection(const T* __restrict hidden_states, int tokens, int hidden,
                    const float* __restrict w, float b, float* __restrict out) {
  const int t = blockIdx.x * 4 + (threadIdx.x >> 5);
  if (t >= tokens) return;
  const int lane = threadIdx.x & 31;
  const T* h = hidden_states + static_cast<size_t>(t) * hidden;
  float dot = 0.0f;
  for (int i = lane; i < hidden; i += 32) dot += w[i] * ToFloat<T>(h[i]);
  dot = WarpSum(dot);
  if (lane == 0) out[t] = fmaxf(dot + b, 0.0f);
}

}  // namespace cascade::gpu::kernels

#endif  // CASCADE_GPU_CUDA_ENCODER_KERNELS_CUH_
