// LtGemm: the encoder's dense layers through cuBLASLt (cublasLtMatmul),
// so that a bias and an activation can ride in the GEMM's epilogue instead
// of a separate pass over the output (cuda_encoder.cu decides which).
//
// Layout (as everywhere in the encoder): row-major y[rows][out] =
// x[rows][in] W^T with W [out][in]. In cuBLASLt's column-major terms that
// is D[out][rows] = op_T(A) B with A = W stored [in][out] and B = x stored
// [in][rows]; the bias is a vector over D's rows, i.e. one value per output
// feature, of D's type.
//
// Plans (the matmul descriptor, the three matrix layouts and the algorithm
// cuBLASLt's heuristic picked) are cached per (type, rows, in, out,
// epilogue): the heuristic runs once per shape, never on a shape seen
// before. A shape for which cuBLASLt offers no algorithm is cached as
// such, and Run reports it (*done = false) without enqueuing anything, so
// that the caller runs its cublasGemmEx path instead.
//
// Everything runs on the caller's stream with the caller's workspace, so
// nothing is allocated during CUDA graph capture. Not thread-safe: one
// caller at a time (CudaEncoder's rule).
#ifndef CASCADE_GPU_CUDA_LT_GEMM_H_
#define CASCADE_GPU_CUDA_LT_GEMM_H_

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "cascade/status.h"

namespace cascade::gpu {

// What the epilogue does after the product (all in float, then rounded to
// the output type). kGeluBias is cuBLASLt's GELU, the tanh approximation.
enum class LtEpilogue { kNone, kBias, kGeluBias, kReluBias };

class LtGemm {
 public:
  LtGemm() = default;
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;
  ~LtGemm();

  // Creates the cuBLASLt handle. `workspace` (device memory of
  // `workspace_bytes`, 256-byte aligned) stays owned by the caller and must
  // outlive this object and every matmul it enqueued; it must not be used
  // concurrently by other work (the encoder shares it with its cuBLAS
  // handle on the same stream, which serialises them). Internal on a
  // cuBLASLt error.
  Status Init(void* workspace, size_t workspace_bytes);

  // Enqueues y = epilogue(x W^T [+ bias]) on `stream` with float
  // accumulation; weight, x, y (and bias, for the bias epilogues) are of
  // `type` (CUDA_R_32F, CUDA_R_16F or CUDA_R_16BF). *done = false, with
  // nothing enqueued, when cuBLASLt has no algorithm for the shape or a
  // pointer is not 256-byte aligned. Internal on a cuBLASLt error.
  Status Run(cudaDataType_t type, const void* weight, const void* x,
             const void* bias, int rows, int in, int out,
             LtEpilogue epilogue, cudaStream_t stream, void* y, bool* done);

  // Cached plans (for tests and benchmarks).
  size_t PlanCount() const { return plans_.size(); }

 private:
  struct Key {
    cudaDataType_t type;
    int rows, in, out;
    LtEpilogue epilogue;
    bool operator==(const Key& o) const {
      return type == o.type && rows == o.rows && in == o.in && out == o.out &&
             epilogue == o.epilogue;
    }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t h = static_cast<uint64_t>(k.type);
      for (uint64_t v : {static_cast<uint64_t>(k.rows),
                         static_cast<uint64_t>(k.in),
                         static_cast<uint64_t>(k.out),
                         static_cast<uint64_t>(k.epilogue)}) {
        h = (h ^ v) * 0x100000001b3ull;
      }
      return static_cast<size_t>(h);
    }
  };
  struct Plan {
    bool usable = false;  // false: cuBLASLt found no algorithm
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };

  Status MakePlan(const Key& key, const void* bias, Plan* plan);
  void ClearPlans();

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::unordered_map<Key, Plan, KeyHash> plans_;
};

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_CUDA_LT_GEMM_H_
