// The CUDA module's entry point. gpu/cuda is built as a shared library,
// libcascade_cuda.so, that the core loads with dlopen on first use
// (gpu/cuda_module.cc): a process that never asks for a GPU does not load
// the CUDA runtime and cuBLAS, whose start-up costs a `cascade` command
// about 0.8 s and 215 MiB of memory even on a machine without a GPU.
//
// The module carries its own copy of gpu/'s host code (weights, configs,
// Status) and is linked with -Bsymbolic, so it uses its own copies; the
// types passed across (ModelConfig, BertWeights, Backend) come from the
// same sources and compiler, so their layouts agree.
#ifndef CASCADE_GPU_CUDA_MODULE_API_H_
#define CASCADE_GPU_CUDA_MODULE_API_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "cascade/status.h"
#include "gpu/backend.h"
#include "gpu/cuda/cuda_encoder.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"

namespace cascade::gpu {

// Bumped when CudaModuleApi changes: the loader refuses another version.
inline constexpr uint32_t kCudaModuleVersion = 1;

struct CudaModuleApi {
  uint32_t version = kCudaModuleVersion;
  // The devices the CUDA runtime sees (empty without a driver or device).
  std::vector<DeviceInfo> (*devices)() = nullptr;
  // CudaEncoder::Create, as a Backend.
  Result<std::unique_ptr<Backend>> (*create)(ModelConfig config, BertWeights weights,
                                             const CudaEncoderOptions& options) = nullptr;
};

// Inside the module: the runtime's devices (devices.cu).
std::vector<DeviceInfo> DetectCudaDevices();

}  // namespace cascade::gpu

// The symbol the loader looks up.
extern "C" const cascade::gpu::CudaModuleApi* cascade_cuda_module();

#endif  // CASCADE_GPU_CUDA_MODULE_API_H_
