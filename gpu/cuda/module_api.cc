// The CUDA module's entry point (module_api.h).
#include "gpu/cuda/module_api.h"

#include <utility>

namespace cascade::gpu {
namespace {

Result<std::unique_ptr<Backend>> Create(ModelConfig config, BertWeights weights,
                                        const CudaEncoderOptions& options) {
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<CudaEncoder> encoder,
                           CudaEncoder::Create(std::move(config), std::move(weights), options));
  return std::unique_ptr<Backend>(std::move(encoder));
}

const CudaModuleApi kApi{kCudaModuleVersion, &DetectCudaDevices, &Create};

}  // namespace
}  // namespace cascade::gpu

extern "C" __attribute__((visibility("default"))) const cascade::gpu::CudaModuleApi*
cascade_cuda_module() {
  return &cascade::gpu::kApi;
}
