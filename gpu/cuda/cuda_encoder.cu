// CudaEncoder (see cuda_encoder.h): device memory, weight upload, the
// forward pass as a sequence of cuBLAS GEMMs and the kernels of
// encoder_kernels.cuh, CUDA graph capture and replay, and error handling.
#include "gpu/cuda/cuda_encoder.h"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "gpu/cuda/cublas_status.h"
#include "gpu/cuda/encoder_kernels.cuh"
#include "gpu/cuda/lt_gemm.h"

namespace cascade::gpu {
namespace {

namespace k = kernels;

Status FromCuda(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return Status::OK();
  const std::string call = std::string("cuda: ") + what;
  if (error == cudaErrorMemoryAllocation) {
    return Status::ResourceExhausted(call, cudaGetErrorString(error));
  }
  return Status::Internal(call, cudaGetErrorString(error));
}

#define CASCADE_CUDA_TRY(call) \
  CASCADE_RETURN_IF_ERROR(FromCuda((call), #call))
// After a kernel launch: a bad configuration shows here, a fault later.
#define CASCADE_CUDA_LAUNCHED(name) \
  CASCADE_RETURN_IF_ERROR(FromCuda(cudaGetLastError(), name))

// Device (cudaMalloc) or page-locked host (cudaMallocHost, so that copies
// from it run asynchronously) memory owned by one object.
struct DeviceMemory {
  static cudaError_t Allocate(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
  static void Release(void* p) { cudaFree(p); }
};
struct PinnedMemory {
  static cudaError_t Allocate(void** p, size_t bytes) { return cudaMallocHost(p, bytes); }
  static void Release(void* p) { cudaFreeHost(p); }
};

template <typename Memory>
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { Free(); }

  Status Allocate(size_t bytes, const char* what) {
    Free();
    if (bytes == 0) return Status::OK();
    void* p = nullptr;
    const cudaError_t error = Memory::Allocate(&p, bytes);
    if (error != cudaSuccess) {
      // The runtime also keeps the error as the thread's last one, where the
      // next launch check would find it: clear it, the device is fine.
      (void)cudaGetLastError();
      return FromCuda(error, what);
    }
    ptr_ = p;
    return Status::OK();
  }
  void Free() {
    if (ptr_ != nullptr) Memory::Release(ptr_);
    ptr_ = nullptr;
  }
  template <typename U = void>
  U* get() const {
    return static_cast<U*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
};

using DeviceBuffer = Buffer<DeviceMemory>;
using PinnedBuffer = Buffer<PinnedMemory>;

template <typename T>
constexpr cudaDataType_t kCudaType = std::is_same_v<T, float>    ? CUDA_R_32F
                                     : std::is_same_v<T, __half> ? CUDA_R_16F
                                                                 : CUDA_R_16BF;

size_t ElementBytes(Precision precision) {
  return precision == Precision::kFp32 ? 4 : 2;
}

constexpr size_t kAlign = 256;
size_t AlignUp(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// A Linear on the device: weight [out][in] in the storage type, bias float
// (and, where a GEMM epilogue adds it, a copy in the storage type: cuBLASLt
// takes the bias in the output's type).
struct DeviceLinear {
  const void* weight = nullptr;
  const float* bias = nullptr;
  int in = 0, out = 0;
  const void* bias_t = nullptr;
};

struct DeviceNorm {
  const float* gamma = nullptr;
  const float* beta = nullptr;
};

struct DeviceLayer {
  DeviceLinear qkv, attention_output, intermediate, output;
  DeviceNorm attention_norm, output_norm;
};

// What a forward pass ends with.
enum class Head { kHidden, kScore, kEmbed, kTokens };

struct GraphKey {
  int tokens = 0, sequences = 0, tiles = 0;
  Head head = Head::kHidden;
  bool operator==(const GraphKey& o) const {
    return tokens == o.tokens && sequences == o.sequences && tiles == o.tiles &&
           head == o.head;
  }
};

struct GraphEntry {
  GraphKey key;
  cudaGraphExec_t exec = nullptr;  // null: seen once, not captured yet
  uint64_t last_used = 0;
};

constexpr size_t kMaxGraphs = 32;
constexpr size_t kCublasWorkspace = 32u << 20;

// The attention kernel a fp16/bf16 encoder launches (fp32: always kPlain).
enum class AttentionKernel { kPlain, kFlash };

// Head sizes the attention kernels are instantiated for (rounded up).
int PaddedHeadSize(int head_dim) {
  for (int d : {16, 32, 64, 128}) {
    if (head_dim <= d) return d;
  }
  return 0;
}

}  // namespace

struct CudaEncoder::Impl {
  ModelConfig config;
  CudaEncoderOptions options;
  Status health;  // OK until a device error
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  DeviceBuffer cublas_workspace;
  LtGemm lt;            // shares cublas_workspace (same stream)
  bool use_lt = false;  // options.lt_gemm and the handle was made
  AttentionKernel attention_kernel = AttentionKernel::kPlain;
  int padded_head = 0;
  size_t attention_shared = 0;

  // Weights, all in one allocation.
  DeviceBuffer arena;
  const void* word = nullptr;
  const void* position = nullptr;
  const void* type = nullptr;
  DeviceNorm embedding_norm;
  std::vector<DeviceLayer> layers;
  const float* pooler_w = nullptr;
  const float* pooler_b = nullptr;
  const float* classifier_w = nullptr;
  const float* classifier_b = nullptr;
  const float* projection_w = nullptr;
  float projection_b = 0.0f;

  // Batch buffers: activations for cap_tokens tokens, cap_ints packed
  // batch integers, cap_outputs output floats.
  size_t cap_tokens = 0, cap_ints = 0, cap_outputs = 0;
  DeviceBuffer hidden, qkv, context, dense, inner, ints, outputs;
  PinnedBuffer host_ints, host_outputs;

  std::vector<GraphEntry> graphs;
  uint64_t clock = 0;
  size_t replays = 0;

  ~Impl() {
    ClearGraphs();
    if (cublas != nullptr) cublasDestroy(cublas);
    if (stream != nullptr) cudaStreamDestroy(stream);
  }

  void ClearGraphs() {
    for (GraphEntry& g : graphs) {
      if (g.exec != nullptr) cudaGraphExecDestroy(g.exec);
    }
    graphs.clear();
  }

  Status Upload(BertWeights weights);
  Status Reserve(size_t tokens, size_t sequences, size_t tiles, Head head);
  Result<std::vector<float>> Run(const PairBatch& batch, Head head);
  Status Launch(const GraphKey& key);
  template <typename T>
  Status Enqueue(const GraphKey& key);
  template <typename T>
  Status EnqueueAttention(const GraphKey& key, const T* qkv_rows,
                          const float* bias, const int32_t* offsets,
                          const int32_t* tile_seq, const int32_t* tile_q0,
                          T* out);
  template <typename T>
  Status Gemm(const void* x, const DeviceLinear& linear, int rows, void* y);
  template <typename T>
  Status FeedForwardUp(const void* x, const DeviceLinear& linear, int rows,
                       void* y);
};

// --- Weights --------------------------------------------------------------

namespace {

// Collects the host tensors and their places in the device arena, then
// uploads them in one allocation. Tensors of the storage type go through a
// float staging buffer and a conversion kernel; float tensors are copied.
class ArenaBuilder {
 public:
  explicit ArenaBuilder(Precision precision) : precision_(precision) {}

  // Returns the byte offset of the tensor in the arena.
  size_t Add(const std::vector<float>* values, bool as_float) {
    const size_t bytes =
        values->size() * (as_float ? sizeof(float) : ElementBytes(precision_));
    items_.push_back({values, as_float, size_});
    size_ += AlignUp(bytes);
    largest_ = std::max(largest_, values->size());
    return items_.back().offset;
  }
  Status Upload(DeviceBuffer& arena, cudaStream_t stream) {
    CASCADE_RETURN_IF_ERROR(arena.Allocate(size_, "cudaMalloc (weights)"));
    DeviceBuffer staging;
    if (precision_ != Precision::kFp32) {
      CASCADE_RETURN_IF_ERROR(
          staging.Allocate(largest_ * sizeof(float), "cudaMalloc (staging)"));
    }
    for (const Item& item : items_) {
      const size_t n = item.values->size();
      char* target = arena.get<char>() + item.offset;
      if (item.as_float || precision_ == Precision::kFp32) {
        CASCADE_CUDA_TRY(cudaMemcpyAsync(target, item.values->data(),
                                         n * sizeof(float),
                                         cudaMemcpyHostToDevice, stream));
        continue;
      }
      CASCADE_CUDA_TRY(cudaMemcpyAsync(staging.get(), item.values->data(),
                                       n * sizeof(float),
                                       cudaMemcpyHostToDevice, stream));
      const int blocks =
          static_cast<int>(std::min<size_t>((n + 255) / 256, 65535));
      if (precision_ == Precision::kFp16) {
        k::ConvertFromFloat<__half><<<blocks, 256, 0, stream>>>(
            staging.get<float>(), reinterpret_cast<__half*>(target), n);
      } else {
        k::ConvertFromFloat<__nv_bfloat16><<<blocks, 256, 0, stream>>>(
            staging.get<float>(), reinterpret_cast<__nv_bfloat16*>(target), n);
      }
      CASCADE_CUDA_LAUNCHED("ConvertFromFloat");
      // The staging buffer is reused by the next tensor.
      CASCADE_CUDA_TRY(cudaStreamSynchronize(stream));
    }
    return FromCuda(cudaStreamSynchronize(stream), "weight upload");
  }

 private:
  struct Item {
    const std::vector<float>* values;
    bool as_float;
    size_t offset;
  };
  Precision precision_;
  std::vector<Item> items_;
  size_t size_ = 0;
  size_t largest_ = 0;
};

// Q, K and V side by side: [3 * hidden][hidden] and [3 * hidden].
void FuseQkv(BertLayerWeights& layer, std::vector<float>& weight,
             std::vector<float>& bias) {
  for (LinearWeights* part : {&layer.query, &layer.key, &layer.value}) {
    weight.insert(weight.end(), part->weight.begin(), part->weight.end());
    bias.insert(bias.end(), part->bias.begin(), part->bias.end());
    *part = LinearWeights();
  }
}

}  // namespace

Status CudaEncoder::Impl::Upload(BertWeights w) {
  const BertConfig& c = config.bert;
  ArenaBuilder builder(options.precision);
  const size_t word_at = builder.Add(&w.word_embeddings, false);
  const size_t position_at = builder.Add(&w.position_embeddings, false);
  const size_t type_at = builder.Add(&w.token_type_embeddings, false);
  const size_t emb_gamma = builder.Add(&w.embedding_norm.gamma, true);
  const size_t emb_beta = builder.Add(&w.embedding_norm.beta, true);

  struct LayerOffsets {
    size_t qkv_w, qkv_b, ao_w, ao_b, an_g, an_b, in_w, in_b, in_bt, out_w,
        out_b, on_g, on_b;
  };
  std::vector<std::vector<float>> fused_w(w.layers.size());
  std::vector<std::vector<float>> fused_b(w.layers.size());
  std::vector<LayerOffsets> at(w.layers.size());
  for (size_t i = 0; i < w.layers.size(); ++i) {
    BertLayerWeights& l = w.layers[i];
    FuseQkv(l, fused_w[i], fused_b[i]);
    at[i].qkv_w = builder.Add(&fused_w[i], false);
    at[i].qkv_b = builder.Add(&fused_b[i], true);
    at[i].ao_w = builder.Add(&l.attention_output.weight, false);
    at[i].ao_b = builder.Add(&l.attention_output.bias, true);
    at[i].an_g = builder.Add(&l.attention_norm.gamma, true);
    at[i].an_b = builder.Add(&l.attention_norm.beta, true);
    at[i].in_w = builder.Add(&l.intermediate.weight, false);
    at[i].in_b = builder.Add(&l.intermediate.bias, true);
    at[i].in_bt = builder.Add(&l.intermediate.bias, false);
    at[i].out_w = builder.Add(&l.output.weight, false);
    at[i].out_b = builder.Add(&l.output.bias, true);
    at[i].on_g = builder.Add(&l.output_norm.gamma, true);
    at[i].on_b = builder.Add(&l.output_norm.beta, true);
  }
  size_t pooler_w_at = 0, pooler_b_at = 0, classifier_w_at = 0,
         classifier_b_at = 0, projection_at = 0;
  if (w.pooler) {
    pooler_w_at = builder.Add(&w.pooler->weight, true);
    pooler_b_at = builder.Add(&w.pooler->bias, true);
  }
  if (w.classifier) {
    classifier_w_at = builder.Add(&w.classifier->weight, true);
    classifier_b_at = builder.Add(&w.classifier->bias, true);
  }
  if (w.token_projection) {
    projection_at = builder.Add(&w.token_projection->weight, true);
    projection_b = w.token_projection->bias[0];
  }
  CASCADE_RETURN_IF_ERROR(builder.Upload(arena, stream));

  const char* base = arena.get<char>();
  auto f = [&](size_t offset) {
    return reinterpret_cast<const float*>(base + offset);
  };
  word = base + word_at;
  position = base + position_at;
  type = base + type_at;
  embedding_norm = {f(emb_gamma), f(emb_beta)};
  const int h = c.hidden_size, is = c.intermediate_size;
  for (const LayerOffsets& o : at) {
    DeviceLayer l;
    l.qkv = {base + o.qkv_w, f(o.qkv_b), h, 3 * h};
    l.attention_output = {base + o.ao_w, f(o.ao_b), h, h};
    l.attention_norm = {f(o.an_g), f(o.an_b)};
    l.intermediate = {base + o.in_w, f(o.in_b), h, is, base + o.in_bt};
    l.output = {base + o.out_w, f(o.out_b), is, h};
    l.output_norm = {f(o.on_g), f(o.on_b)};
    layers.push_back(l);
  }
  if (w.pooler) {
    pooler_w = f(pooler_w_at);
    pooler_b = f(pooler_b_at);
  }
  if (w.classifier) {
    classifier_w = f(classifier_w_at);
    classifier_b = f(classifier_b_at);
  }
  if (w.token_projection) projection_w = f(projection_at);
  return Status::OK();
}

// --- Buffers ----------------------------------------------------------------

Status CudaEncoder::Impl::Reserve(size_t tokens, size_t sequences,
                                  size_t tiles, Head head) {
  const BertConfig& c = config.bert;
  const size_t h = c.hidden_size;
  // Grow by at least half again, so a slowly rising maximum reallocates
  // only a few times.
  auto grow = [](size_t have, size_t need) {
    return need <= have ? have : std::max(need, have + have / 2);
  };
  if (tokens > cap_tokens) {
    ClearGraphs();  // they hold the old buffers' addresses
    const size_t t = grow(cap_tokens, tokens);
    cap_tokens = 0;
    const size_t e = ElementBytes(options.precision);
    CASCADE_RETURN_IF_ERROR(hidden.Allocate(t * h * e, "cudaMalloc (hidden)"));
    CASCADE_RETURN_IF_ERROR(qkv.Allocate(t * 3 * h * e, "cudaMalloc (qkv)"));
    CASCADE_RETURN_IF_ERROR(context.Allocate(t * h * e, "cudaMalloc (context)"));
    CASCADE_RETURN_IF_ERROR(dense.Allocate(t * h * e, "cudaMalloc (dense)"));
    CASCADE_RETURN_IF_ERROR(inner.Allocate(
        t * static_cast<size_t>(c.intermediate_size) * e, "cudaMalloc (ffn)"));
    cap_tokens = t;
  }
  const size_t int_count = 3 * tokens + (sequences + 1) + 2 * tiles;
  if (int_count > cap_ints) {
    ClearGraphs();
    const size_t n = grow(cap_ints, int_count);
    cap_ints = 0;
    CASCADE_RETURN_IF_ERROR(ints.Allocate(n * sizeof(int32_t), "cudaMalloc (batch)"));
    CASCADE_RETURN_IF_ERROR(
        host_ints.Allocate(n * sizeof(int32_t), "cudaMallocHost (batch)"));
    cap_ints = n;
  }
  // Scores, embeddings or token weights; the hidden states (tests) only
  // when asked for.
  size_t out_count = std::max(tokens, sequences * h);
  if (head == Head::kHidden) out_count = std::max(out_count, tokens * h);
  if (out_count > cap_outputs) {
    ClearGraphs();
    const size_t n = grow(cap_outputs, out_count);
    cap_outputs = 0;
    CASCADE_RETURN_IF_ERROR(
        outputs.Allocate(n * sizeof(float), "cudaMalloc (outputs)"));
    CASCADE_RETURN_IF_ERROR(
        host_outputs.Allocate(n * sizeof(float), "cudaMallocHost (outputs)"));
    cap_outputs = n;
  }
  return Status::OK();
}

// --- Forward pass ---------------------------------------------------------------

template <typename T>
Status CudaEncoder::Impl::Gemm(const void* x, const DeviceLinear& linear,
                               int rows, void* y) {
  // Row-major y[rows][out] = x[rows][in] W^T is, in cuBLAS's column-major
  // terms, y^T[out][rows] = W[out][in] x^T: W is stored as a column-major
  // [in][out] matrix, hence OP_T. cuBLASLt first where it has an algorithm
  // for the shape (lt_gemm.h).
  if (use_lt) {
    bool done = false;
    CASCADE_RETURN_IF_ERROR(lt.Run(kCudaType<T>, linear.weight, x, nullptr,
                                   rows, linear.in, linear.out,
                                   LtEpilogue::kNone, stream, y, &done));
    if (done) return Status::OK();
  }
  const float alpha = 1.0f, beta = 0.0f;
  CASCADE_CUBLAS_TRY(cublasGemmEx(
      cublas, CUBLAS_OP_T, CUBLAS_OP_N, linear.out, rows, linear.in, &alpha,
      linear.weight, kCudaType<T>, linear.in, x, kCudaType<T>, linear.in,
      &beta, y, kCudaType<T>, linear.out, CUBLAS_COMPUTE_32F,
      CUBLAS_GEMM_DEFAULT));
  return Status::OK();
}

// y = act(x W^T + b), the FFN's up-projection. The bias and activation ride
// in the cuBLASLt GEMM's epilogue where it has the activation: ReLU
// always; GELU (cuBLASLt's is the tanh approximation) for fp16/bf16 only,
// for an erf-GELU model only with options.approximate_gelu. Otherwise, or
// where cuBLASLt has no algorithm for the shape: a GEMM, then BiasActivate
// (erf GELU exactly, in float). fp32 keeps the separate kernel for GELU so
// that it matches transformers to 1e-4 whatever tanh cuBLASLt computes.
template <typename T>
Status CudaEncoder::Impl::FeedForwardUp(const void* x,
                                        const DeviceLinear& linear, int rows,
                                        void* y) {
  const Activation activation = config.bert.activation;
  constexpr bool kHalf = !std::is_same_v<T, float>;
  LtEpilogue epilogue = LtEpilogue::kNone;
  if (activation == Activation::kRelu) {
    epilogue = LtEpilogue::kReluBias;
  } else if (kHalf && (activation == Activation::kGeluTanh ||
                       options.approximate_gelu)) {
    epilogue = LtEpilogue::kGeluBias;
  }
  if (use_lt && epilogue != LtEpilogue::kNone) {
    bool done = false;
    CASCADE_RETURN_IF_ERROR(lt.Run(kCudaType<T>, linear.weight, x,
                                   linear.bias_t, rows, linear.in, linear.out,
                                   epilogue, stream, y, &done));
    if (done) return Status::OK();
  }
  CASCADE_RETURN_IF_ERROR(Gemm<T>(x, linear, rows, y));
  const size_t values = static_cast<size_t>(rows) * linear.out;
  const int blocks = static_cast<int>(
      std::min<size_t>((values / 8 + 255) / 256 + 1, 1u << 16));
  T* rows_out = static_cast<T*>(y);
  switch (activation) {
    case Activation::kGeluErf:
      k::BiasActivate<T, k::Act::kGeluErf><<<blocks, 256, 0, stream>>>(
          rows_out, linear.bias, values, linear.out);
      break;
    case Activation::kGeluTanh:
      k::BiasActivate<T, k::Act::kGeluTanh><<<blocks, 256, 0, stream>>>(
          rows_out, linear.bias, values, linear.out);
      break;
    case Activation::kRelu:
      k::BiasActivate<T, k::Act::kRelu><<<blocks, 256, 0, stream>>>(
          rows_out, linear.bias, values, linear.out);
      break;
  }
  CASCADE_CUDA_LAUNCHED("BiasActivate");
  return Status::OK();
}

namespace {

template <typename T, int kD>
Status LaunchAttention(AttentionKernel kernel, size_t shared_bytes,
                       const GraphKey& key, int heads, cudaStream_t stream,
                       const T* qkv, const float* bias, const int32_t* offsets,
                       const int32_t* tile_seq, const int32_t* tile_q0,
                       int hidden, int head_dim, T* out) {
  const dim3 grid(key.tiles, heads);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  if constexpr (!std::is_same_v<T, float>) {
    if (kernel == AttentionKernel::kFlash) {
      k::AttentionFlash<T, kD><<<grid, 128, shared_bytes, stream>>>(
          qkv, bias, offsets, tile_seq, tile_q0, hidden, head_dim,
          scale * 1.4426950408889634f, out);
      CASCADE_CUDA_LAUNCHED("AttentionFlash");
      return Status::OK();
    }
  }
  k::AttentionPlain<T, kD><<<grid, k::kQueryTile, 0, stream>>>(
      qkv, bias, offsets, tile_seq, tile_q0, hidden, head_dim, scale, out);
  CASCADE_CUDA_LAUNCHED("AttentionPlain");
  return Status::OK();
}

// Raises the flash attention kernel's shared-memory limit to what it needs
// (above the default 48 KB). *bytes = 0 when the device allows less per
// block than the kernel needs (then the plain kernel runs).
template <typename T, int kD>
Status PrepareFlashAttention(int device, size_t* bytes) {
  *bytes = k::FlashLayout<kD>::kTotal;
  int limit = 0;
  CASCADE_CUDA_TRY(cudaDeviceGetAttribute(
      &limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (static_cast<size_t>(limit) < *bytes) {
    *bytes = 0;
    return Status::OK();
  }
  CASCADE_CUDA_TRY(cudaFuncSetAttribute(
      k::AttentionFlash<T, kD>, cudaFuncAttributeMaxDynamicSharedMemorySize,
      static_cast<int>(*bytes)));
  return Status::OK();
}

template <typename T>
Status PrepareAttention(int device, int padded, size_t* bytes) {
  if constexpr (std::is_same_v<T, float>) {
    *bytes = 0;
    return Status::OK();
  } else {
    switch (padded) {
      case 16:
        return PrepareFlashAttention<T, 16>(device, bytes);
      case 32:
        return PrepareFlashAttention<T, 32>(device, bytes);
      case 64:
        return PrepareFlashAttention<T, 64>(device, bytes);
      case 128:
        return PrepareFlashAttention<T, 128>(device, bytes);
    }
    return Status::Internal("attention", "unexpected head size");
  }
}

int Blocks(size_t items, int per_block) {
  return static_cast<int>((items + per_block - 1) / per_block);
}

}  // namespace

template <typename T>
Status CudaEncoder::Impl::EnqueueAttention(const GraphKey& key,
                                           const T* qkv_rows,
                                           const float* bias,
                                           const int32_t* offsets,
                                           const int32_t* tile_seq,
                                           const int32_t* tile_q0, T* out) {
  const BertConfig& c = config.bert;
  const int head_dim = c.hidden_size / c.num_heads;
  switch (padded_head) {
#define CASCADE_ATTENTION_CASE(kD)                                            \
  case kD:                                                                    \
    return LaunchAttention<T, kD>(attention_kernel, attention_shared,         \
                                  key, c.num_heads, stream, qkv_rows, bias,   \
                                  offsets, tile_seq, tile_q0, c.hidden_size,  \
                                  head_dim, out);
    CASCADE_ATTENTION_CASE(16)
    CASCADE_ATTENTION_CASE(32)
    CASCADE_ATTENTION_CASE(64)
    CASCADE_ATTENTION_CASE(128)
#undef CASCADE_ATTENTION_CASE
  }
  return Status::Internal("attention", "unexpected head size");
}

template <typename T>
Status CudaEncoder::Impl::Enqueue(const GraphKey& key) {
  const BertConfig& c = config.bert;
  const int tokens = key.tokens;
  const int h = c.hidden_size;
  const int32_t* ids = ints.get<int32_t>();
  const int32_t* types = ids + tokens;
  const int32_t* positions = types + tokens;
  const int32_t* offsets = positions + tokens;
  const int32_t* tile_seq = offsets + key.sequences + 1;
  const int32_t* tile_q0 = tile_seq + key.tiles;
  T* x = hidden.get<T>();

  // LayerNorm kernels with 16-byte accesses where rows allow them, 32 or
  // 16 lanes a row (k::VecLanes); 128 threads a block either way.
  const int lanes = k::VecLanes<T>(h);
  const int norm_blocks = Blocks(tokens, lanes == 16 ? 8 : 4);
  auto layer_norm = [&](const T* dense_rows, const DeviceLinear& linear,
                        const DeviceNorm& norm) {
    if (lanes == 16) {
      k::BiasResidualLayerNormVec<T, 16><<<norm_blocks, 128, 0, stream>>>(
          dense_rows, linear.bias, tokens, h, norm.gamma, norm.beta,
          c.layer_norm_eps, x);
    } else if (lanes == 32) {
      k::BiasResidualLayerNormVec<T, 32><<<norm_blocks, 128, 0, stream>>>(
          dense_rows, linear.bias, tokens, h, norm.gamma, norm.beta,
          c.layer_norm_eps, x);
    } else {
      k::BiasResidualLayerNorm<T><<<norm_blocks, 128, 0, stream>>>(
          dense_rows, linear.bias, tokens, h, norm.gamma, norm.beta,
          c.layer_norm_eps, x);
    }
    return FromCuda(cudaGetLastError(), "BiasResidualLayerNorm");
  };
  if (lanes == 16) {
    k::EmbedLayerNormVec<T, 16><<<norm_blocks, 128, 0, stream>>>(
        ids, types, positions, tokens, h, static_cast<const T*>(word),
        static_cast<const T*>(position), static_cast<const T*>(type),
        embedding_norm.gamma, embedding_norm.beta, c.layer_norm_eps, x);
  } else if (lanes == 32) {
    k::EmbedLayerNormVec<T, 32><<<norm_blocks, 128, 0, stream>>>(
        ids, types, positions, tokens, h, static_cast<const T*>(word),
        static_cast<const T*>(position), static_cast<const T*>(type),
        embedding_norm.gamma, embedding_norm.beta, c.layer_norm_eps, x);
  } else {
    k::EmbedLayerNorm<T><<<norm_blocks, 128, 0, stream>>>(
        ids, types, positions, tokens, h, static_cast<const T*>(word),
        static_cast<const T*>(position), static_cast<const T*>(type),
        embedding_norm.gamma, embedding_norm.beta, c.layer_norm_eps, x);
  }
  CASCADE_CUDA_LAUNCHED("EmbedLayerNorm");

  for (const DeviceLayer& l : layers) {
    CASCADE_RETURN_IF_ERROR(Gemm<T>(x, l.qkv, tokens, qkv.get()));
    CASCADE_RETURN_IF_ERROR(EnqueueAttention<T>(key, qkv.get<T>(), l.qkv.bias,
                                                offsets, tile_seq, tile_q0,
                                                context.get<T>()));
    CASCADE_RETURN_IF_ERROR(
        Gemm<T>(context.get(), l.attention_output, tokens, dense.get()));
    CASCADE_RETURN_IF_ERROR(
        layer_norm(dense.get<T>(), l.attention_output, l.attention_norm));
    CASCADE_RETURN_IF_ERROR(
        FeedForwardUp<T>(x, l.intermediate, tokens, inner.get()));
    CASCADE_RETURN_IF_ERROR(Gemm<T>(inner.get(), l.output, tokens, dense.get()));
    CASCADE_RETURN_IF_ERROR(
        layer_norm(dense.get<T>(), l.output, l.output_norm));
  }

  float* out = outputs.get<float>();
  switch (key.head) {
    case Head::kHidden: {
      const size_t n = static_cast<size_t>(tokens) * h;
      k::ConvertToFloat<T><<<static_cast<int>(std::min<size_t>(
                                 (n + 255) / 256, 65535)),
                             256, 0, stream>>>(x, out, n);
      CASCADE_CUDA_LAUNCHED("ConvertToFloat");
      break;
    }
    case Head::kScore:
      k::CrossEncoderHead<T><<<key.sequences, 256, 2 * h * sizeof(float),
                               stream>>>(x, offsets, h, pooler_w, pooler_b,
                                         classifier_w, classifier_b,
                                         config.num_labels, out);
      CASCADE_CUDA_LAUNCHED("CrossEncoderHead");
      break;
    case Head::kEmbed:
      k::PoolHead<T><<<key.sequences, 256, 0, stream>>>(
          x, offsets, h, config.pooling == Pooling::kMean, config.normalize,
          out);
      CASCADE_CUDA_LAUNCHED("PoolHead");
      break;
    case Head::kTokens:
      k::TokenProjection<T><<<Blocks(tokens, 4), 128, 0, stream>>>(
          x, tokens, h, projection_w, projection_b, out);
      CASCADE_CUDA_LAUNCHED("TokenProjection");
      break;
  }
  return Status::OK();
}

Status CudaEncoder::Impl::Launch(const GraphKey& key) {
  auto enqueue = [&]() -> Status {
    switch (options.precision) {
      case Precision::kFp16:
        return Enqueue<__half>(key);
      case Precision::kBf16:
        return Enqueue<__nv_bfloat16>(key);
      case Precision::kFp32:
        return Enqueue<float>(key);
    }
    return Status::Internal("precision", "unexpected value");
  };
  if (!options.cuda_graphs) return enqueue();

  ++clock;
  auto it = std::find_if(graphs.begin(), graphs.end(),
                         [&](const GraphEntry& g) { return g.key == key; });
  if (it == graphs.end()) {
    // First sight of this shape: run it directly and remember it; a graph
    // pays only for shapes that come back.
    if (graphs.size() >= kMaxGraphs) {
      auto oldest = std::min_element(
          graphs.begin(), graphs.end(),
          [](const GraphEntry& a, const GraphEntry& b) {
            return a.last_used < b.last_used;
          });
      if (oldest->exec != nullptr) cudaGraphExecDestroy(oldest->exec);
      graphs.erase(oldest);
    }
    graphs.push_back({key, nullptr, clock});
    return enqueue();
  }
  it->last_used = clock;
  if (it->exec == nullptr) {
    CASCADE_CUDA_TRY(
        cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    Status captured = enqueue();
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    if (!captured.ok()) {
      if (graph != nullptr) cudaGraphDestroy(graph);
      return captured;
    }
    CASCADE_RETURN_IF_ERROR(FromCuda(ended, "cudaStreamEndCapture"));
    const cudaError_t made = cudaGraphInstantiate(&it->exec, graph, 0);
    cudaGraphDestroy(graph);
    if (made != cudaSuccess) {
      it->exec = nullptr;
      return FromCuda(made, "cudaGraphInstantiate");
    }
  }
  ++replays;
  CASCADE_CUDA_TRY(cudaGraphLaunch(it->exec, stream));
  return Status::OK();
}

Result<std::vector<float>> CudaEncoder::Impl::Run(const PairBatch& batch,
                                                  Head head) {
  CASCADE_RETURN_IF_ERROR(health);
  CASCADE_RETURN_IF_ERROR(ValidateBatch(batch, config.bert.vocab_size,
                                        config.bert.type_vocab_size,
                                        config.bert.max_position_embeddings));
  const size_t n = batch.size();
  if (n == 0) return std::vector<float>();
  const size_t tokens = batch.token_ids.size();
  if (tokens > static_cast<size_t>(INT32_MAX / 4)) {
    return Status::InvalidArgument("batch too large",
                                   std::to_string(tokens) + " tokens");
  }

  // Everything that can fail without touching the device state first.
  std::vector<int32_t> tile_seq, tile_q0;
  for (size_t s = 0; s < n; ++s) {
    const int length = batch.offsets[s + 1] - batch.offsets[s];
    for (int q0 = 0; q0 < length; q0 += k::kQueryTile) {
      tile_seq.push_back(static_cast<int32_t>(s));
      tile_q0.push_back(q0);
    }
  }
  const GraphKey key{static_cast<int>(tokens), static_cast<int>(n),
                     static_cast<int>(tile_seq.size()), head};

  CASCADE_RETURN_IF_ERROR(FromCuda(cudaSetDevice(options.device),
                                   "cudaSetDevice"));
  // Running out of memory for a larger batch leaves the device usable:
  // report it without marking the encoder unhealthy.
  Status reserved = Reserve(tokens, n, tile_seq.size(), head);
  if (!reserved.ok()) {
    if (reserved.code() != Status::Code::kResourceExhausted) health = reserved;
    return reserved;
  }

  auto device_part = [&]() -> Result<size_t> {
    int32_t* packed = host_ints.get<int32_t>();
    std::memcpy(packed, batch.token_ids.data(), tokens * sizeof(int32_t));
    std::memcpy(packed + tokens, batch.segment_ids.data(),
                tokens * sizeof(int32_t));
    int32_t* positions = packed + 2 * tokens;
    for (size_t s = 0; s < n; ++s) {
      for (int32_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
        positions[t] = t - batch.offsets[s];
      }
    }
    int32_t* offsets = packed + 3 * tokens;
    std::memcpy(offsets, batch.offsets.data(), (n + 1) * sizeof(int32_t));
    std::memcpy(offsets + n + 1, tile_seq.data(),
                tile_seq.size() * sizeof(int32_t));
    std::memcpy(offsets + n + 1 + tile_seq.size(), tile_q0.data(),
                tile_q0.size() * sizeof(int32_t));
    const size_t count = 3 * tokens + n + 1 + 2 * tile_seq.size();
    CASCADE_CUDA_TRY(cudaMemcpyAsync(ints.get(), packed,
                                     count * sizeof(int32_t),
                                     cudaMemcpyHostToDevice, stream));
    CASCADE_RETURN_IF_ERROR(Launch(key));
    size_t out_count = 0;
    switch (head) {
      case Head::kHidden:
        out_count = tokens * config.bert.hidden_size;
        break;
      case Head::kScore:
        out_count = n;
        break;
      case Head::kEmbed:
        out_count = n * config.bert.hidden_size;
        break;
      case Head::kTokens:
        out_count = tokens;
        break;
    }
    CASCADE_CUDA_TRY(cudaMemcpyAsync(host_outputs.get<float>(), outputs.get(),
                                     out_count * sizeof(float),
                                     cudaMemcpyDeviceToHost, stream));
    CASCADE_CUDA_TRY(cudaStreamSynchronize(stream));
    return out_count;
  };
  Result<size_t> out_count = device_part();
  if (!out_count.ok()) {
    const Status failed = out_count.status();
    health = failed;
    return failed;
  }
  const float* out = host_outputs.get<float>();
  return std::vector<float>(out, out + *out_count);
}

// --- CudaEncoder --------------------------------------------------------------

CudaEncoder::CudaEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CudaEncoder::~CudaEncoder() {
  if (impl_) cudaSetDevice(impl_->options.device);
}

Result<std::unique_ptr<CudaEncoder>> CudaEncoder::Create(
    ModelConfig config, BertWeights weights, const CudaEncoderOptions& options) {
  CASCADE_RETURN_IF_ERROR(CheckBertWeights(config, weights));
  const BertConfig& c = config.bert;
  if (c.hidden_size > k::kMaxHidden) {
    return Status::NotSupported("cuda encoder",
                                "hidden_size " + std::to_string(c.hidden_size) +
                                    " (at most " +
                                    std::to_string(k::kMaxHidden) + ")");
  }
  const int head_dim = c.hidden_size / c.num_heads;
  const int padded = PaddedHeadSize(head_dim);
  if (padded == 0) {
    return Status::NotSupported("cuda encoder",
                                "head size " + std::to_string(head_dim) +
                                    " (at most 128)");
  }
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    return Status::Unavailable("device cuda", "no CUDA device is visible");
  }
  if (options.device < 0 || options.device >= count) {
    return Status::Unavailable(
        "device cuda", "no CUDA device " + std::to_string(options.device) +
                           " (" + std::to_string(count) + " visible)");
  }
  CASCADE_CUDA_TRY(cudaSetDevice(options.device));
  cudaDeviceProp prop{};
  CASCADE_CUDA_TRY(cudaGetDeviceProperties(&prop, options.device));
  if (prop.major < 8) {
    return Status::NotSupported(
        "cuda encoder", std::string(prop.name) + " has compute capability " +
                            std::to_string(prop.major) + "." +
                            std::to_string(prop.minor) +
                            "; this build needs 8.0 or newer");
  }

  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->options = options;
  impl->padded_head = padded;
  CASCADE_CUDA_TRY(
      cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking));
  CASCADE_CUBLAS_TRY(cublasCreate(&impl->cublas));
  CASCADE_CUBLAS_TRY(cublasSetStream(impl->cublas, impl->stream));
  CASCADE_CUBLAS_TRY(cublasSetMathMode(impl->cublas, CUBLAS_DEFAULT_MATH));
  // A workspace of our own: cuBLAS then allocates nothing while a graph is
  // being captured.
  CASCADE_RETURN_IF_ERROR(impl->cublas_workspace.Allocate(
      kCublasWorkspace, "cudaMalloc (cublas workspace)"));
  CASCADE_CUBLAS_TRY(cublasSetWorkspace(
      impl->cublas, impl->cublas_workspace.get(), kCublasWorkspace));
  if (options.lt_gemm) {
    CASCADE_RETURN_IF_ERROR(
        impl->lt.Init(impl->cublas_workspace.get(), kCublasWorkspace));
    impl->use_lt = true;
  }

  if (options.precision != Precision::kFp32 &&
      options.attention == CudaEncoderOptions::Attention::kAuto) {
    impl->attention_kernel = AttentionKernel::kFlash;
    Status prepared =
        options.precision == Precision::kFp16
            ? PrepareAttention<__half>(options.device, padded,
                                       &impl->attention_shared)
            : PrepareAttention<__nv_bfloat16>(options.device, padded,
                                              &impl->attention_shared);
    CASCADE_RETURN_IF_ERROR(prepared);
    if (impl->attention_shared == 0) {
      impl->attention_kernel = AttentionKernel::kPlain;
    }
  }
  CASCADE_RETURN_IF_ERROR(impl->Upload(std::move(weights)));

  const size_t max_length = static_cast<size_t>(
      std::min(impl->config.bert.max_position_embeddings, 512));
  const size_t reserve =
      options.reserve_tokens != 0 ? options.reserve_tokens : 64 * max_length;
  // Room for `reserve` tokens in sequences of 16 or more.
  const size_t sequences = reserve / 16 + 1;
  CASCADE_RETURN_IF_ERROR(impl->Reserve(
      reserve, sequences, reserve / k::kQueryTile + sequences, Head::kScore));
  return std::unique_ptr<CudaEncoder>(new CudaEncoder(std::move(impl)));
}

Status CudaEncoder::Healthy() const { return impl_->health; }


Result<std::vector<float>> CudaEncoder::Score(const PairBatch& batch) {
  if (impl_->config.kind != ModelKind::kCrossEncoder) {
    CASCADE_RETURN_IF_ERROR(ValidateBatch(
        batch, impl_->config.bert.vocab_size, impl_->config.bert.type_vocab_size,
        impl_->config.bert.max_position_embeddings));
    return MissingHead("Score", "cross-encoder", impl_->config.kind);
  }
  return impl_->Run(batch, Head::kScore);
}

Result<std::vector<float>> CudaEncoder::Embed(const PairBatch& batch) {
  if (impl_->config.kind != ModelKind::kBiEncoder) {
    CASCADE_RETURN_IF_ERROR(ValidateBatch(
        batch, impl_->config.bert.vocab_size, impl_->config.bert.type_vocab_size,
        impl_->config.bert.max_position_embeddings));
    return MissingHead("Embed", "bi-encoder", impl_->config.kind);
  }
  return impl_->Run(batch, Head::kEmbed);
}

Result<std::vector<float>> CudaEncoder::WeighTokens(const PairBatch& batch) {
  if (impl_->config.kind != ModelKind::kTokenWeigher) {
    CASCADE_RETURN_IF_ERROR(ValidateBatch(
        batch, impl_->config.bert.vocab_size, impl_->config.bert.type_vocab_size,
        impl_->config.bert.max_position_embeddings));
    return MissingHead("WeighTokens", "token weigher", impl_->config.kind);
  }
  return impl_->Run(batch, Head::kTokens);
}

Result<std::vector<float>> CudaEncoder::TEST_Encode(const PairBatch& batch) {
  return impl_->Run(batch, Head::kHidden);
}

size_t CudaEncoder::TEST_GraphReplays() const { return impl_->replays; }

}  // namespace cascade::gpu
