// CpuEncoder: the reference BERT encoder on the CPU, in fp32.
//
// Sequences are packed (no padding): the dense layers run as GEMMs over
// all tokens of the batch (a built-in AVX-512 kernel where the CPU has it,
// else BLAS, else portable loops), attention runs per sequence and head,
// all on a pool of threads. Numerics follow Hugging Face
// transformers' BertModel: embeddings (word + position + token type) then
// LayerNorm; per layer, self-attention with softmax over the sequence's own
// tokens, output projection + residual + LayerNorm, GELU FFN + residual +
// LayerNorm; then the head (pooler tanh + classifier; CLS/mean pooling and
// normalisation; ReLU(tok_proj)).
//
// Parity: against transformers in float64 the outputs agree within 1e-4
// absolute (tests/gpu/cpu_encoder_test.cc); scoring a batch and scoring each
// sequence alone agree within 1e-5.
//
// Threads: the encoder owns `threads - 1` worker threads and the calling
// thread works too. With OpenBLAS, Create() sets OpenBLAS to one thread
// (process-wide: openblas_set_num_threads is global) because the encoder
// splits every GEMM across its own workers by rows; OpenBLAS threads
// spinning next to ours would otherwise fight for the same cores.
//
// Thread-safety: one call at a time per CpuEncoder (it reuses buffers).
#ifndef CASCADE_GPU_CPU_CPU_ENCODER_H_
#define CASCADE_GPU_CPU_CPU_ENCODER_H_

#include <memory>

#include "gpu/backend.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"

namespace cascade::gpu {

struct CpuEncoderOptions {
  // Threads for attention and elementwise work, and for BLAS; 0 = all cores.
  unsigned threads = 0;

  // Which matrix multiply runs the dense layers and attention. kAuto takes
  // the built-in AVX-512 kernel where the CPU has AVX-512F, else BLAS where
  // the build has it (CASCADE_HAVE_BLAS), else portable loops. The others
  // force one, for tests and speed comparisons; Create() returns
  // NotSupported when the CPU or the build lacks it. All agree within
  // float rounding (see the tests).
  enum class Gemm { kAuto, kAvx512, kBlas, kPortable };
  Gemm gemm = Gemm::kAuto;
};

class CpuEncoder final : public Backend {
 public:
  // Takes the model by value (the weights are moved in and repacked: Q, K
  // and V become one [3 * hidden][hidden] matrix). Errors: InvalidArgument
  // when a weight's size disagrees with the config (the message names the
  // tensor), when hidden_size is not a multiple of num_heads, or when the
  // head the model's kind needs is missing; NotSupported for num_labels
  // other than 1 or 2, or for a CpuEncoderOptions::gemm this CPU or build
  // cannot run; ResourceExhausted when memory or threads run out.
  static Result<std::unique_ptr<CpuEncoder>> Create(
      ModelConfig config, BertWeights weights,
      const CpuEncoderOptions& options);
  ~CpuEncoder() override;

  std::string_view Name() const override { return "cpu"; }
  Status Healthy() const override { return Status::OK(); }
  // Each of these first checks the batch with ValidateBatch (InvalidArgument)
  // and returns NotSupported, naming the model's kind, when the model has no
  // such head. An empty batch gives an empty result. Buffers grow to the
  // largest batch seen and are kept (ResourceExhausted if that fails).
  Result<std::vector<float>> Score(const PairBatch& batch) override;
  Result<std::vector<float>> Embed(const PairBatch& batch) override;
  Result<std::vector<float>> WeighTokens(const PairBatch& batch) override;

  // The final hidden states [tokens][hidden] of a batch (for tests).
  Result<std::vector<float>> TEST_Encode(const PairBatch& batch);

 private:
  struct Impl;
  explicit CpuEncoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_CPU_CPU_ENCODER_H_
