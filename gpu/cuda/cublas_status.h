// cuBLAS and cuBLASLt status codes as Status, for gpu/cuda/: shared by the
// encoder's cublasGemmEx path and LtGemm.
#ifndef CASCADE_GPU_CUDA_CUBLAS_STATUS_H_
#define CASCADE_GPU_CUDA_CUBLAS_STATUS_H_

#include <cublasLt.h>

#include <string>

#include "cascade/status.h"

namespace cascade::gpu {

// OK for success; ResourceExhausted when cuBLAS could not allocate;
// Internal otherwise. `what` names the call.
inline Status FromCublas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return Status::OK();
  const std::string call = std::string("cublas: ") + what;
  if (status == CUBLAS_STATUS_ALLOC_FAILED) {
    return Status::ResourceExhausted(call, cublasGetStatusString(status));
  }
  return Status::Internal(call, cublasGetStatusString(status));
}

}  // namespace cascade::gpu

#define CASCADE_CUBLAS_TRY(call) \
  CASCADE_RETURN_IF_ERROR(::cascade::gpu::FromCublas((call), #call))

#endif  // CASCADE_GPU_CUDA_CUBLAS_STATUS_H_
