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

#include <cstdint>
#include <type_traits>

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

// The 16 bits of a __half or __nv_bfloat16, and back.
template <typename T>
__device__ __forceinline__ uint16_t ToBits(T v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __half_as_ushort(v);
  } else {
    return __bfloat16_as_ushort(v);
  }
}
template <typename T>
__device__ __forceinline__ T FromBits(uint16_t bits) {
  if constexpr (std::is_same_v<T, __half>) {
    return __ushort_as_half(bits);
  } else {
    return __ushort_as_bfloat16(bits);
  }
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

// --- LayerNorm rows with 16-byte accesses -------------------------------------
//
// The same results as EmbedLayerNorm and BiasResidualLayerNorm, for hidden
// sizes that are a multiple of kVec<T> = 16 / sizeof(T) (8 for fp16/bf16,
// 4 for float): every row then starts 16-byte aligned, as do gamma, beta
// and the biases (arena tensors sit at 256-byte offsets), so each of the
// kLanes lanes that share a row holds the kVec-value chunks i, i + kLanes,
// ... and every access of T is one 16-byte load or store, the floats
// four-float ones. All loads of a row are issued before the first use.
// kLanes is 32 (a warp per row) or 16 (two rows per warp: hidden 384 in
// fp16 is 48 chunks, which a half-warp splits evenly, three per lane,
// where a warp would leave half its lanes idle on the second access). The
// kernels are memory-bound: a residual LayerNorm reads two rows and writes
// one (3 * hidden * sizeof(T) bytes per token; gamma, beta and bias stay
// in cache).

template <typename T>
inline constexpr int kVec = static_cast<int>(16 / sizeof(T));
// Chunks per lane for hidden sizes up to kMaxHidden with 32 lanes a row
// (and up to kMaxHidden / 2 with 16).
template <typename T>
inline constexpr int kVecChunks = kMaxHidden / (32 * kVec<T>);

// Lanes per row for the vector kernels (0: hidden is no multiple of kVec).
template <typename T>
constexpr int VecLanes(int hidden) {
  if (hidden % kVec<T> != 0) return 0;
  const int chunks = hidden / kVec<T>;
  if (chunks % 32 != 0 && chunks % 16 == 0 && chunks <= 16 * kVecChunks<T>) {
    return 16;
  }
  return 32;
}

// Sum over the kLanes lanes of a row (aligned groups of a warp).
template <int kLanes>
__device__ __forceinline__ float LaneGroupSum(float v) {
#pragma unroll
  for (int offset = kLanes / 2; offset > 0; offset >>= 1) {
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  }
  return v;
}

// v[j] += the kVec<T> values of T packed in a 16-byte word, and back:
// word by word, so that nothing is addressed in local memory.
template <typename T>
__device__ __forceinline__ void AddPacked(const uint4& packed,
                                          float* __restrict v) {
  const uint32_t words[4] = {packed.x, packed.y, packed.z, packed.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if constexpr (std::is_same_v<T, float>) {
      v[i] += __uint_as_float(words[i]);
    } else {
      const T lo = FromBits<T>(static_cast<uint16_t>(words[i] & 0xffffu));
      const T hi = FromBits<T>(static_cast<uint16_t>(words[i] >> 16));
      v[2 * i] += ToFloat<T>(lo);
      v[2 * i + 1] += ToFloat<T>(hi);
    }
  }
}

template <typename T>
__device__ __forceinline__ uint4 PackFloats(const float* __restrict v) {
  uint32_t words[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if constexpr (std::is_same_v<T, float>) {
      words[i] = __float_as_uint(v[i]);
    } else {
      words[i] = static_cast<uint32_t>(ToBits<T>(FromFloat<T>(v[2 * i]))) |
                 (static_cast<uint32_t>(ToBits<T>(FromFloat<T>(v[2 * i + 1])))
                  << 16);
    }
  }
  return make_uint4(words[0], words[1], words[2], words[3]);
}

// v[j] = p[j] for the kVec<T> floats at p (16-byte aligned).
template <typename T>
__device__ __forceinline__ void LoadFloats(const float* __restrict p,
                                           float* __restrict v) {
#pragma unroll
  for (int j = 0; j < kVec<T>; j += 4) {
    const float4 f = __ldg(reinterpret_cast<const float4*>(p + j));
    v[j] = f.x;
    v[j + 1] = f.y;
    v[j + 2] = f.z;
    v[j + 3] = f.w;
  }
}

// As NormalizeWarpRow, for values held in chunks (lane i of the row's
// group: chunks i, i + kLanes, ...); `out` is the row, 16-byte aligned.
// Every lane of the warp calls it (the sums shuffle across the whole warp);
// a lane whose row is past the end passes active = false and writes
// nothing.
template <typename T, int kLanes>
__device__ __forceinline__ void NormalizeRowVec(
    float (&v)[kVecChunks<T>][kVec<T>], int hidden, float eps, bool active,
    const float* __restrict gamma, const float* __restrict beta,
    T* __restrict out) {
  constexpr int kC = kVecChunks<T>, kN = kVec<T>;
  const int lane = threadIdx.x & (kLanes - 1);
  const int chunks = hidden / kN;
  float sum = 0.0f;
#pragma unroll
  for (int k = 0; k < kC; ++k) {
    if (lane + kLanes * k < chunks) {
#pragma unroll
      for (int j = 0; j < kN; ++j) sum += v[k][j];
    }
  }
  const float mean = LaneGroupSum<kLanes>(sum) / static_cast<float>(hidden);
  float squares = 0.0f;
#pragma unroll
  for (int k = 0; k < kC; ++k) {
    if (lane + kLanes * k < chunks) {
#pragma unroll
      for (int j = 0; j < kN; ++j) {
        const float d = v[k][j] - mean;
        squares += d * d;
      }
    }
  }
  const float inv_std = rsqrtf(
      LaneGroupSum<kLanes>(squares) / static_cast<float>(hidden) + eps);
  if (!active) return;
#pragma unroll
  for (int k = 0; k < kC; ++k) {
    const int c = lane + kLanes * k;
    if (c >= chunks) continue;
    float g[kN], b[kN];
    LoadFloats<T>(gamma + c * kN, g);
    LoadFloats<T>(beta + c * kN, b);
#pragma unroll
    for (int j = 0; j < kN; ++j) g[j] = (v[k][j] - mean) * inv_std * g[j] + b[j];
    reinterpret_cast<uint4*>(out)[c] = PackFloats<T>(g);
  }
}

// EmbedLayerNorm with 16-byte accesses (VecLanes<T>(hidden) == kLanes).
// Block: 128 threads (4 * 32 / kLanes rows); grid: ceil(tokens / rows).
template <typename T, int kLanes>
__global__ void __launch_bounds__(128)
    EmbedLayerNormVec(const int32_t* __restrict ids,
                      const int32_t* __restrict types,
                      const int32_t* __restrict positions, int tokens,
                      int hidden, const T* __restrict word,
                      const T* __restrict position, const T* __restrict type,
                      const float* __restrict gamma,
                      const float* __restrict beta, float eps,
                      T* __restrict out) {
  constexpr int kC = kVecChunks<T>, kN = kVec<T>;
  const int row = blockIdx.x * (128 / kLanes) + threadIdx.x / kLanes;
  // Rows past the end still join the warp's shuffles.
  const bool active = row < tokens;
  const int lane = threadIdx.x & (kLanes - 1);
  const int chunks = active ? hidden / kN : 0;
  const int at = active ? row : 0;
  const uint4* w = reinterpret_cast<const uint4*>(
      word + static_cast<size_t>(ids[at]) * hidden);
  const uint4* p = reinterpret_cast<const uint4*>(
      position + static_cast<size_t>(positions[at]) * hidden);
  const uint4* y = reinterpret_cast<const uint4*>(
      type + static_cast<size_t>(types[at]) * hidden);
  uint4 wv[kC], pv[kC], yv[kC];
#pragma unroll
  for (int k = 0; k < kC; ++k) {
    const int c = lane + kLanes * k;
    if (c < chunks) {
      wv[k] = __ldg(w + c);
      pv[k] = __ldg(p + c);
      yv[k] = __ldg(y + c);
    }
  }
  float v[kC][kN];
#pragma unroll
  for (int k = 0; k < kC; ++k) {
#pragma unroll
    for (int j = 0; j < kN; ++j) v[k][j] = 0.0f;
    if (lane + kLanes * k < chunks) {
      AddPacked<T>(wv[k], v[k]);
      AddPacked<T>(pv[k], v[k]);
      AddPacked<T>(yv[k], v[k]);
    }
  }
  NormalizeRowVec<T, kLanes>(v, hidden, eps, active, gamma, beta,
                             out + static_cast<size_t>(at) * hidden);
}

// BiasResidualLayerNorm with 16-byte accesses (VecLanes<T>(hidden) ==
// kLanes): residual[t] = LayerNorm(dense[t] + bias + residual[t]), in
// place. Block: 128 threads (4 * 32 / kLanes rows); grid: ceil(tokens /
// rows).
template <typename T, int kLanes>
__global__ void __launch_bounds__(128)
    BiasResidualLayerNormVec(const T* __restrict dense,
                             const float* __restrict bias, int tokens,
                             int hidden, const float* __restrict gamma,
                             const float* __restrict beta, float eps,
                             T* __restrict residual) {
  constexpr int kC = kVecChunks<T>, kN = kVec<T>;
  const int row = blockIdx.x * (128 / kLanes) + threadIdx.x / kLanes;
  // Rows past the end still join the warp's shuffles.
  const bool active = row < tokens;
  const int lane = threadIdx.x & (kLanes - 1);
  const int chunks = active ? hidden / kN : 0;
  const size_t at = static_cast<size_t>(active ? row : 0) * hidden;
  const uint4* d = reinterpret_cast<const uint4*>(dense + at);
  T* r = residual + at;
  uint4 dv[kC], rv[kC];
#pragma unroll
  for (int k = 0; k < kC; ++k) {
    const int c = lane + kLanes * k;
    if (c < chunks) {
      dv[k] = __ldg(d + c);
      rv[k] = reinterpret_cast<const uint4*>(r)[c];
    }
  }
  float v[kC][kN];
#pragma unroll
  for (int k = 0; k < kC; ++k) {
    const int c = lane + kLanes * k;
    if (c < chunks) {
      LoadFloats<T>(bias + c * kN, v[k]);
      AddPacked<T>(dv[k], v[k]);
      AddPacked<T>(rv[k], v[k]);
    } else {
#pragma unroll
      for (int j = 0; j < kN; ++j) v[k][j] = 0.0f;
    }
  }
  NormalizeRowVec<T, kLanes>(v, hidden, eps, active, gamma, beta, r);
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

// Copies rows [first, first + 64) of one head's Q, K or V (part 0, 1, 2) into
// a [64][kD + 8] tile of shared memory, adding the bias; rows past the
// sequence and columns past head_dim are zero. `vector_ok`: head_dim == kD
// and rows 16-byte aligned, so 8 values move per access.
template <typename T, int kD>
__device__ __forceinline__ void LoadHeadTile(
    const T* __restrict qkv, const float* __restrict bias, int begin,
    int first, int length, int hidden, int head_dim, int col, int part,
    bool vector_ok, T* __restrict tile) {
  constexpr int kLd = kD + 8;  // FlashLayout<kD>::kLd
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

// --- Flash attention (FlashAttention-2 style) -------------------------------
//
// AttentionFlash (T = __half or __nv_bfloat16): the same work items,
// inputs and result as AttentionPlain, on tensor cores, with S, P and O in
// registers. 4 warps per block, each owning 16 of the tile's 64 query rows:
//  - Q (bias added, rounded to T) is staged once in shared memory and read
//    into mma A fragments, kept in registers for the whole key loop;
//  - K and V tiles of 64 keys are double-buffered in shared memory, filled
//    with 16-byte cp.async so that tile j + 1 loads while tile j computes;
//  - S = Q K^T and O += P V are mma.sync m16n8k16 (T inputs, f32
//    accumulators), operands read with ldmatrix (V with .trans);
//  - the online softmax works on the S accumulator fragments: a thread holds
//    two rows (groupID and groupID + 8) and 2 of every 8 columns, so a row's
//    max is a reduction over the 4 threads of a quad (shuffles 1 and 2); the
//    row sums stay per-thread partial until the end; P is converted from the
//    accumulator layout to the A-operand layout in registers.
// It replaced a WMMA kernel that kept S and O in shared memory: the
// encoder runs 1.3-2.2x faster with it on an H200 (bench/README.md).
//
// The K and V biases never enter the key loop, by two identities:
//  - K: s_ij = q_i . (k_j + bk) = q_i . k_j + q_i . bk, and q_i . bk is the
//    same for every key j of row i; softmax is invariant to adding a
//    per-row constant, so bk is dropped (exactly, in real arithmetic);
//  - V: sum_j p_ij (v_j + bv) = sum_j p_ij v_j + bv because the normalised
//    p_ij of a row sum to 1, so bv is added once, in float, to the
//    normalised output.
// That lets cp.async copy K and V rows untouched, and rounds only what the
// GEMM produced to T (not k + bk and v + bv).
//
// Shared memory: FlashLayout<kD>::kTotal (dynamic): Q and two K, V buffers
// of [64][kD + 8] T. The 16-byte row pad puts the 8 rows of each 8x8
// ldmatrix read in distinct 16-byte bank groups for every kD.
template <int kD>
struct FlashLayout {
  static constexpr int kLd = kD + 8;  // row stride in elements
  static constexpr size_t kTileBytes = kQueryTile * kLd * 2;
  static constexpr size_t kQ = 0;
  __host__ __device__ static constexpr size_t Keys(int buffer) {
    return (1 + 2 * buffer) * kTileBytes;
  }
  __host__ __device__ static constexpr size_t Values(int buffer) {
    return (2 + 2 * buffer) * kTileBytes;
  }
  static constexpr size_t kTotal = 5 * kTileBytes;
};

__device__ __forceinline__ uint32_t SharedAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, asynchronously; zeros when !fill (src is then
// not read but must still be a valid address).
__device__ __forceinline__ void CpAsync16(uint32_t dst, const void* src,
                                          bool fill) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
               "l"(src), "r"(fill ? 16 : 0)
               : "memory");
}

__device__ __forceinline__ void CpAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits until at most kPending of this thread's cp.async groups are in
// flight.
template <int kPending>
__device__ __forceinline__ void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Four 8x8 b16 matrices; lane l gives the address of row l % 8 of matrix
// l / 8, and register i receives matrix i (thread t: row t / 4, columns
// 2 (t % 4) and +1; with kTrans, the transposed matrix).
template <bool kTrans>
__device__ __forceinline__ void LdMatrixX4(uint32_t (&r)[4], uint32_t addr) {
  if constexpr (kTrans) {
    asm volatile(
        "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, "
        "[%4];\n"
        : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
        : "r"(addr));
  } else {
    asm volatile(
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
        : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
        : "r"(addr));
  }
}

// d[16x8] += a[16x16] b[16x8], T inputs, f32 accumulators.
template <typename T>
__device__ __forceinline__ void Mma16816(float (&d)[4], const uint32_t (&a)[4],
                                         uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    static_assert(std::is_same_v<T, __nv_bfloat16>);
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// 2^x with the hardware approximation (MUFU.EX2, flushing subnormal
// results to zero: p < 2^-126 is 0 either way once rounded to T);
// 2^-inf = 0.
__device__ __forceinline__ float FastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Two floats rounded to T, packed (lo = the lower column, as the fragments
// and ldmatrix order them).
template <typename T>
__device__ __forceinline__ uint32_t PackPair(float lo, float hi) {
  uint32_t packed;
  if constexpr (std::is_same_v<T, __half>) {
    const __half2 v = __floats2half2_rn(lo, hi);
    packed = *reinterpret_cast<const uint32_t*>(&v);
  } else {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    packed = *reinterpret_cast<const uint32_t*>(&v);
  }
  return packed;
}

// Starts copying keys and values [first, first + 64) of one head into
// [64][kLd] shared tiles, without bias (see above); rows past the sequence
// are zero (a zero V row keeps 0 * garbage out of O). With vector_ok
// (head_dim == kD, hidden % 8 == 0: rows are 16-byte aligned) the copy is
// cp.async; otherwise plain loads that also zero columns past head_dim.
// The caller commits the cp.async group.
template <typename T, int kD>
__device__ __forceinline__ void LoadKeyValueTile(
    const T* __restrict qkv, int begin, int first, int length, int hidden,
    int head_dim, int col, bool vector_ok, T* __restrict keys,
    T* __restrict values) {
  constexpr int kLd = FlashLayout<kD>::kLd;
  const size_t ld = 3 * static_cast<size_t>(hidden);
  if (vector_ok) {
    constexpr int kChunks = kQueryTile * kD / 8;
    static_assert(kChunks % 128 == 0);
#pragma unroll
    for (int step = 0; step < kChunks / 128; ++step) {
      const int c = step * 128 + threadIdx.x;
      const int r = c / (kD / 8);
      const int d0 = (c % (kD / 8)) * 8;
      const bool in = first + r < length;
      const T* src = qkv +
                     static_cast<size_t>(begin + (in ? first + r : 0)) * ld +
                     hidden + col + d0;
      CpAsync16(SharedAddress(keys + r * kLd + d0), src, in);
      CpAsync16(SharedAddress(values + r * kLd + d0), src + hidden, in);
    }
    return;
  }
  const T zero = FromFloat<T>(0.0f);
  for (int i = threadIdx.x; i < kQueryTile * kD; i += 128) {
    const int r = i / kD;
    const int d = i % kD;
    const bool in = first + r < length && d < head_dim;
    const size_t at = static_cast<size_t>(begin + (in ? first + r : 0)) * ld +
                      hidden + col + d;
    keys[r * kLd + d] = in ? qkv[at] : zero;
    values[r * kLd + d] = in ? qkv[at + hidden] : zero;
  }
}

// Blocks per SM the register allocation must allow (__launch_bounds__):
// at most 80 registers at kD <= 32 (6 blocks) and 128 at kD = 64 (4);
// kD = 128 takes ~210 (2 blocks; 3 would cap it at 168 and spill). None
// spills (ptxas -v, sm_90). Unbounded, kD = 32 takes ~110 registers and
// only 4 blocks fit.
template <int kD>
inline constexpr int kFlashMinBlocks = kD <= 32   ? 6
                                       : kD == 64 ? 4
                                                  : 2;

template <typename T, int kD>
__global__ void __launch_bounds__(128, kFlashMinBlocks<kD>)
    AttentionFlash(const T* __restrict qkv, const float* __restrict bias,
                   const int32_t* __restrict offsets,
                   const int32_t* __restrict tile_seq,
                   const int32_t* __restrict tile_q0, int hidden, int head_dim,
                   float scale_log2, T* __restrict context) {
  static_assert(kD % 16 == 0 && kD <= 128);
  using L = FlashLayout<kD>;
  constexpr int kLd = L::kLd;
  constexpr int kKeyTile = kQueryTile;  // keys per tile
  extern __shared__ __align__(128) unsigned char shared[];
  const T* q_tile = reinterpret_cast<const T*>(shared + L::kQ);
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int group = lane >> 2;  // fragment row (and row + 8)
  const int quad = lane & 3;    // fragment columns 2 quad, 2 quad + 1

  const int seq = tile_seq[blockIdx.x];
  const int head = blockIdx.y;
  const int begin = offsets[seq];
  const int length = offsets[seq + 1] - begin;
  const int q0 = tile_q0[blockIdx.x];
  const int col = head * head_dim;
  const bool vector_ok = head_dim == kD && hidden % 8 == 0;
  const int tiles = (length + kKeyTile - 1) / kKeyTile;
  auto keys_at = [&](int buffer) {
    return reinterpret_cast<T*>(shared + L::Keys(buffer));
  };
  auto values_at = [&](int buffer) {
    return reinterpret_cast<T*>(shared + L::Values(buffer));
  };

  LoadKeyValueTile<T, kD>(qkv, begin, 0, length, hidden, head_dim, col,
                          vector_ok, keys_at(0), values_at(0));
  CpAsyncCommit();
  LoadHeadTile<T, kD>(qkv, bias, begin, q0, length, hidden, head_dim, col, 0,
                      vector_ok, reinterpret_cast<T*>(shared + L::kQ));
  __syncthreads();

  // Q A fragments, one per 16 columns: matrices (rows 0-7, cols 0-7),
  // (rows 8-15, cols 0-7), (rows 0-7, cols 8-15), (rows 8-15, cols 8-15).
  uint32_t q_frag[kD / 16][4];
#pragma unroll
  for (int k = 0; k < kD / 16; ++k) {
    LdMatrixX4<false>(q_frag[k],
                      SharedAddress(q_tile + (warp * 16 + (lane & 15)) * kLd +
                                    k * 16 + (lane >> 4) * 8));
  }

  float o[kD / 8][4];
#pragma unroll
  for (int n = 0; n < kD / 8; ++n) {
    o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  }
  // Per fragment row (group, group + 8): running max (log2 domain, scaled)
  // and this thread's part of the running sum.
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};

  for (int t = 0; t < tiles; ++t) {
    // Buffer (t + 1) & 1 was last read in iteration t - 1, which ended with
    // a barrier.
    if (t + 1 < tiles) {
      LoadKeyValueTile<T, kD>(qkv, begin, (t + 1) * kKeyTile, length, hidden,
                              head_dim, col, vector_ok, keys_at((t + 1) & 1),
                              values_at((t + 1) & 1));
    }
    CpAsyncCommit();   // possibly empty: keeps the wait count uniform
    CpAsyncWait<1>();  // tile t has landed (for this thread) ...
    __syncthreads();   // ... and for every thread
    const T* keys = keys_at(t & 1);
    const T* values = values_at(t & 1);

    // S[16][64] = Q K^T: per 16 keys and 16 head columns one ldmatrix.x4
    // gives the B fragments of two 8-key n-tiles: matrices (keys 0-7, cols
    // 0-7), (keys 0-7, cols 8-15), (keys 8-15, cols 0-7), (keys 8-15, cols
    // 8-15).
    float s[kKeyTile / 8][4];
#pragma unroll
    for (int n = 0; n < kKeyTile / 8; ++n) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
    }
#pragma unroll
    for (int n = 0; n < kKeyTile / 16; ++n) {
#pragma unroll
      for (int k = 0; k < kD / 16; ++k) {
        uint32_t b[4];
        LdMatrixX4<false>(
            b,
            SharedAddress(keys + (n * 16 + (lane >> 4) * 8 + (lane & 7)) * kLd +
                          k * 16 + ((lane >> 3) & 1) * 8));
        Mma16816<T>(s[2 * n], q_frag[k], b[0], b[1]);
        Mma16816<T>(s[2 * n + 1], q_frag[k], b[2], b[3]);
      }
    }

    // Ragged last tile: keys past the sequence score -inf (p = 0). Every
    // tile has at least one valid key, so a row's max stays finite.
    const int valid = length - t * kKeyTile;
    if (valid < kKeyTile) {
#pragma unroll
      for (int n = 0; n < kKeyTile / 8; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          if (n * 8 + quad * 2 + (e & 1) >= valid) s[n][e] = -INFINITY;
        }
      }
    }

    // Online softmax (log2 domain): elements e = 0, 1 are row `group`,
    // e = 2, 3 row `group + 8`.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < kKeyTile / 8; ++n) {
      tile_max[0] = fmaxf(tile_max[0], fmaxf(s[n][0], s[n][1]));
      tile_max[1] = fmaxf(tile_max[1], fmaxf(s[n][2], s[n][3]));
    }
    float correction[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      tile_max[i] =
          fmaxf(tile_max[i], __shfl_xor_sync(0xffffffffu, tile_max[i], 1));
      tile_max[i] =
          fmaxf(tile_max[i], __shfl_xor_sync(0xffffffffu, tile_max[i], 2));
      const float new_max = fmaxf(row_max[i], tile_max[i] * scale_log2);
      correction[i] = FastExp2(row_max[i] - new_max);  // 0 on the first tile
      row_max[i] = new_max;
      row_sum[i] *= correction[i];
    }
#pragma unroll
    for (int n = 0; n < kKeyTile / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[n][e] = FastExp2(fmaf(s[n][e], scale_log2, -row_max[e >> 1]));
        row_sum[e >> 1] += s[n][e];
      }
    }
#pragma unroll
    for (int n = 0; n < kD / 8; ++n) {
      o[n][0] *= correction[0];
      o[n][1] *= correction[0];
      o[n][2] *= correction[1];
      o[n][3] *= correction[1];
    }

    // O[16][kD] += P[16][64] V[64][kD]. P's A fragment for keys 16 kk ..
    // 16 kk + 15 is the accumulators of n-tiles 2 kk and 2 kk + 1: (row g,
    // cols 0-7), (row g + 8, cols 0-7), (row g, cols 8-15), (row g + 8,
    // cols 8-15). V's B fragments come from ldmatrix.trans of matrices (keys
    // 0-7, cols 0-7), (keys 8-15, cols 0-7), (keys 0-7, cols 8-15), (keys
    // 8-15, cols 8-15).
#pragma unroll
    for (int kk = 0; kk < kKeyTile / 16; ++kk) {
      const uint32_t p[4] = {PackPair<T>(s[2 * kk][0], s[2 * kk][1]),
                             PackPair<T>(s[2 * kk][2], s[2 * kk][3]),
                             PackPair<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                             PackPair<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int n = 0; n < kD / 16; ++n) {
        uint32_t b[4];
        LdMatrixX4<true>(
            b,
            SharedAddress(values +
                          (kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)) * kLd +
                          n * 16 + (lane >> 4) * 8));
        Mma16816<T>(o[2 * n], p, b[0], b[1]);
        Mma16816<T>(o[2 * n + 1], p, b[2], b[3]);
      }
    }
    __syncthreads();  // every warp is done with buffer t & 1
  }

  // Normalise, add the V bias (see above) and write the rows of the
  // sequence.
  const float* value_bias = bias + 2 * hidden + col;
  const bool paired = head_dim == kD && hidden % 2 == 0;  // 4-byte stores
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float sum = row_sum[i];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const int row = q0 + warp * 16 + group + 8 * i;
    if (row >= length) continue;
    const float inv = 1.0f / sum;
    T* out = context + static_cast<size_t>(begin + row) * hidden + col;
#pragma unroll
    for (int n = 0; n < kD / 8; ++n) {
      const int d = n * 8 + quad * 2;
      if (paired) {
        *reinterpret_cast<uint32_t*>(out + d) =
            PackPair<T>(o[n][2 * i] * inv + value_bias[d],
                        o[n][2 * i + 1] * inv + value_bias[d + 1]);
      } else {
        if (d < head_dim) {
          out[d] = FromFloat<T>(o[n][2 * i] * inv + value_bias[d]);
        }
        if (d + 1 < head_dim) {
          out[d + 1] = FromFloat<T>(o[n][2 * i + 1] * inv + value_bias[d + 1]);
        }
      }
    }
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
