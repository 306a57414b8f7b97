// Device discovery in a build without CUDA.
#include "gpu/backend.h"

namespace cascade::gpu {

bool CudaCompiledIn() { return false; }
std::vector<DeviceInfo> CudaDevices() { return {}; }

}  // namespace cascade::gpu
