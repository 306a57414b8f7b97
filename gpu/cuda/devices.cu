// Device discovery through the CUDA runtime, inside the CUDA module
// (module_api.h). A missing driver or device is not an error: it yields an
// empty list and the CPU path is used.
#include <cuda_runtime.h>

#include "gpu/backend.h"
#include "gpu/cuda/module_api.h"

namespace cascade::gpu {

std::vector<DeviceInfo> DetectCudaDevices() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return {};
  }
  std::vector<DeviceInfo> devices;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    devices.push_back({i, prop.name, static_cast<uint64_t>(prop.totalGlobalMem),
                       prop.major, prop.minor});
  }
  return devices;
}

}  // namespace cascade::gpu
