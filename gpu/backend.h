// The batch-level interface between the reranking stages and the hardware
// that runs a model. No CUDA type appears here, so rerank/ builds without
// CUDA; gpu/cpu (always) and gpu/cuda (when CUDA is found) implement it.
//
// A backend is bound to one loaded model (model/model_config.h) and runs
// its encoder over batches of token sequences packed end to end, without
// padding. Which outputs exist depends on the model's kind; asking for
// another is NotSupported.
#ifndef CASCADE_GPU_BACKEND_H_
#define CASCADE_GPU_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::gpu {

// Sequences packed end to end; sequence i is tokens
// [offsets[i], offsets[i + 1]). Each sequence already carries its special
// tokens ([CLS] ... [SEP]); segment_ids are the token type ids (0/1).
struct PairBatch {
  std::vector<int32_t> token_ids;
  std::vector<int32_t> segment_ids;
  std::vector<int32_t> offsets;  // size = sequences + 1, offsets[0] = 0
  size_t size() const { return offsets.empty() ? 0 : offsets.size() - 1; }
};

// Checks a batch against a model's vocabulary, type vocabulary and maximum
// length: InvalidArgument naming the sequence and what is wrong.
Status ValidateBatch(const PairBatch& batch, int vocab_size,
                     int type_vocab_size, int max_length);

// A model runner. Each method is called from one thread at a time (a
// backend may use several threads inside).
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view Name() const = 0;
  // OK while the backend can run; after a device failure, the error that
  // made it unhealthy (callers then fall back to the CPU).
  virtual Status Healthy() const = 0;
  // Cross-encoders: one relevance score per sequence (the logit for one
  // label; the positive label's softmax probability for two).
  virtual Result<std::vector<float>> Score(const PairBatch& batch) = 0;
  // Bi-encoders: one pooled (and, if configured, L2-normalised) embedding
  // per sequence, row-major [sequences][hidden].
  virtual Result<std::vector<float>> Embed(const PairBatch& batch) = 0;
  // Token weighers: one weight per token, packed like batch.token_ids.
  virtual Result<std::vector<float>> WeighTokens(const PairBatch& batch) = 0;
};

// Runs `primary` until it fails as a device fails: when a call returns an
// error and primary->Healthy() is no longer OK, the wrapper builds the
// fallback backend (make_fallback: the CPU encoder, loaded only then),
// writes one line to stderr naming the error, re-runs the call there and
// keeps using it. Errors of the batch itself (InvalidArgument,
// NotSupported) leave the primary in use and are returned as they are; an
// error of make_fallback is returned, and the next call tries again.
// Name() is the backend in use.
using BackendFactory = std::function<Result<std::unique_ptr<Backend>>()>;
std::unique_ptr<Backend> WithFallback(std::unique_ptr<Backend> primary,
                                      BackendFactory make_fallback);

// Arithmetic of a GPU backend: fp16 or bf16 storage with fp32 accumulation
// (tensor cores), or fp32 throughout (for checking; slower).
enum class Precision { kFp16, kBf16, kFp32 };
Result<Precision> ParsePrecision(std::string_view name);  // fp16|bf16|fp32
std::string_view PrecisionName(Precision precision);

struct DeviceInfo {
  int index = 0;
  std::string name;
  uint64_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

// True when this build includes the CUDA backend (CASCADE_CUDA found nvcc
// and cuBLAS at configure time) and its module, libcascade_cuda.so, loads
// (gpu/cuda_module.cc says where it is looked for). The first call of this,
// CudaDevices or CreateCudaBackend loads it.
bool CudaCompiledIn();
// The CUDA devices visible now; empty without CUDA in the build, without a
// driver (no libcuda.so.1: then the CUDA module is not even loaded) or
// without a device (never an error: the CPU path is always there).
std::vector<DeviceInfo> CudaDevices();

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_BACKEND_H_
