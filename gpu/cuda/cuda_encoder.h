// CudaEncoder: the BERT encoder on an NVIDIA GPU, behind the same Backend
// interface as the CPU encoder (gpu/cpu/cpu_encoder.h), with the same
// numerics (Hugging Face transformers' BertModel and heads).
//
// How a batch runs (all on one stream of the encoder's own):
//  - the batch (token ids, token types, positions, sequence offsets and the
//    attention tile list) goes up in one copy from pinned memory;
//  - dense layers are GEMMs over all tokens of the batch, packed end to
//    end (no padding), fp16/bf16 inputs with fp32 accumulation on tensor
//    cores (or fp32 throughout in Precision::kFp32), through cuBLASLt
//    (lt_gemm.h; plans cached per shape) with cublasGemmEx for shapes it
//    has no algorithm for;
//  - the FFN up-projection's bias + activation run in the cuBLASLt GEMM's
//    epilogue (ReLU; GELU in fp16/bf16, see approximate_gelu), else in a
//    kernel of their own;
//  - fused kernels: embeddings + LayerNorm; bias + residual + LayerNorm
//    (one warp per row, 16-byte accesses where hidden allows); the Q/K/V
//    bias is added inside attention;
//  - attention runs over the packed sequences, one block per (64-query
//    tile, head), each sequence attending only to its own keys, with an
//    online softmax; fp16/bf16 use a FlashAttention-2 style tensor-core
//    kernel (mma.sync with the scores, probabilities and output in
//    registers, K/V tiles double-buffered with cp.async), fp32 a plain
//    kernel (as does fp16/bf16 where the device's per-block shared memory
//    is too small for the tensor-core kernel's tiles); head sizes up to
//    128;
//  - the head (pooler + classifier, pooling + normalisation, or the token
//    projection) runs on the device; only the outputs come back.
// Weights are converted and uploaded once, at Create. Buffers are sized
// at Create for CudaEncoderOptions::reserve_tokens and grow (once per new
// maximum) for larger batches; nothing is allocated per batch otherwise.
// With cuda_graphs on, a batch shape seen before (same token count,
// sequence count and tile count) replays a captured CUDA graph instead of
// launching ~10 kernels per layer again.
//
// Errors: every CUDA and cuBLAS error becomes a Status (Internal, naming the
// call). After one, the device state is unknown: the encoder marks itself
// unhealthy (Healthy() returns the error) and refuses further calls with
// it; callers fall back to the CPU (WithFallback in gpu/backend.h). Running
// out of device memory for a larger batch is ResourceExhausted for that
// batch only: the encoder stays healthy (callers cap batch sizes).
//
// Thread-safety: one call at a time per CudaEncoder (it reuses buffers and
// one stream). The calling thread may change between calls.
#ifndef CASCADE_GPU_CUDA_CUDA_ENCODER_H_
#define CASCADE_GPU_CUDA_CUDA_ENCODER_H_

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "gpu/backend.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"

namespace cascade::gpu {

struct CudaEncoderOptions {
  int device = 0;  // CUDA device index
  Precision precision = Precision::kFp16;
  // Which attention kernel fp16/bf16 use: tensor cores where the head size
  // allows (up to 128), or the plain kernel everywhere (for checking).
  enum class Attention { kAuto, kPlain };
  Attention attention = Attention::kAuto;
  bool cuda_graphs = true;
  // Dense layers through cuBLASLt with the FFN's bias + activation in the
  // GEMM epilogue; false: cublasGemmEx and a separate bias + activation
  // kernel throughout (the earlier path, for checking and comparing).
  bool lt_gemm = true;
  // fp16/bf16, erf-GELU models (BERT's "gelu"): let cuBLASLt's epilogue
  // compute GELU as the tanh approximation, which differs from erf GELU by
  // at most 4.7e-4 (at x = -2.7): less than fp16's rounding of any
  // activation over 0.25. false: exact erf GELU in a separate kernel.
  // fp32 always computes erf GELU exactly.
  bool approximate_gelu = true;
  // Token capacity allocated at Create (batches larger than this grow the
  // buffers once); 0 = 64 sequences of the model's maximum length.
  size_t reserve_tokens = 0;
};

class CudaEncoder final : public Backend {
 public:
  // Takes the model by value (weights are converted to the precision,
  // uploaded, and the host copy freed). Errors: those of CheckBertWeights;
  // Unavailable when this build has no CUDA or the device does not exist;
  // NotSupported for a device older than compute capability 8.0, a hidden
  // size over 1024 or a head size over 128;
  // ResourceExhausted when device memory runs out; Internal for other CUDA
  // or cuBLAS errors.
  static Result<std::unique_ptr<CudaEncoder>> Create(
      ModelConfig config, BertWeights weights,
      const CudaEncoderOptions& options);
  ~CudaEncoder() override;

  std::string_view Name() const override { return "cuda"; }
  Status Healthy() const override;
  // As CpuEncoder: ValidateBatch first (InvalidArgument), NotSupported for
  // a head the model does not have, an empty batch gives an empty result.
  Result<std::vector<float>> Score(const PairBatch& batch) override;
  Result<std::vector<float>> Embed(const PairBatch& batch) override;
  Result<std::vector<float>> WeighTokens(const PairBatch& batch) override;

  // The final hidden states [tokens][hidden] as floats (for tests).
  Result<std::vector<float>> TEST_Encode(const PairBatch& batch);
  // Graphs captured and replayed so far (for tests).
  size_t TEST_GraphReplays() const;

 private:
  struct Impl;
  explicit CudaEncoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// CudaEncoder::Create through the CUDA module, loaded on first use
// (module_api.h): what the core calls, so that only processes that use a
// GPU load the CUDA libraries. Unavailable when the build has no CUDA or
// the module does not load (the message says why); otherwise Create's
// errors.
Result<std::unique_ptr<Backend>> CreateCudaBackend(ModelConfig config, BertWeights weights,
                                                   const CudaEncoderOptions& options);

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_CUDA_CUDA_ENCODER_H_
