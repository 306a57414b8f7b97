// The core's side of the CUDA module (gpu/cuda/module_api.h): loads
// libcascade_cuda.so with dlopen the first time CUDA is asked about, and
// forwards to it. Where it looks, in order: $CASCADE_CUDA_MODULE (a file),
// the folder of the running program, that folder's ../lib, the build folder
// this file was compiled for (CASCADE_CUDA_MODULE_DIR), then the loader's
// own search path (LD_LIBRARY_PATH, the ld.so cache). CudaDevices does not
// load it on a machine without an NVIDIA driver (no libcuda.so.1).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "gpu/backend.h"
#include "gpu/cuda/cuda_encoder.h"
#include "gpu/cuda/module_api.h"

namespace cascade::gpu {
namespace {

constexpr const char* kModuleFile = "libcascade_cuda.so";

struct Loaded {
  const CudaModuleApi* api = nullptr;
  std::string error;  // why api is null
};

std::vector<std::string> Candidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("CASCADE_CUDA_MODULE"); env != nullptr && *env != '\0') {
    paths.emplace_back(env);
    return paths;  // named explicitly: nothing else
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    paths.push_back((exe.parent_path() / kModuleFile).string());
    paths.push_back((exe.parent_path() / ".." / "lib" / kModuleFile).string());
  }
#ifdef CASCADE_CUDA_MODULE_DIR
  paths.push_back(std::string(CASCADE_CUDA_MODULE_DIR) + "/" + kModuleFile);
#endif
  paths.emplace_back(kModuleFile);  // the loader's search path
  return paths;
}

const Loaded& Load() {
  static const Loaded loaded = [] {
    Loaded out;
    for (const std::string& path : Candidates()) {
      const bool bare = path.find('/') == std::string::npos;
      std::error_code missing;
      if (!bare && !std::filesystem::exists(path, missing)) continue;
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        out.error = dlerror();
        continue;
      }
      using Entry = const CudaModuleApi* (*)();
      auto entry = reinterpret_cast<Entry>(dlsym(handle, "cascade_cuda_module"));
      const CudaModuleApi* api = entry != nullptr ? entry() : nullptr;
      if (api == nullptr || api->version != kCudaModuleVersion) {
        out.error = path + ": not a Cascade CUDA module of version " +
                    std::to_string(kCudaModuleVersion);
        dlclose(handle);
        continue;
      }
      out.api = api;  // never unloaded: encoders may outlive any caller
      out.error.clear();
      return out;
    }
    if (out.error.empty()) out.error = std::string(kModuleFile) + " not found";
    return out;
  }();
  return loaded;
}

// Whether an NVIDIA driver is installed: without libcuda.so.1 the CUDA
// runtime finds no device, so there is no point loading the module (and
// paying its start-up) to ask.
bool HaveDriver() {
  static const bool found = [] {
    void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    return driver != nullptr;  // kept loaded: the runtime will use it
  }();
  return found;
}

}  // namespace

bool CudaCompiledIn() { return Load().api != nullptr; }

std::vector<DeviceInfo> CudaDevices() {
  if (!HaveDriver()) return {};
  const Loaded& loaded = Load();
  return loaded.api != nullptr ? loaded.api->devices() : std::vector<DeviceInfo>();
}

Result<std::unique_ptr<Backend>> CreateCudaBackend(ModelConfig config, BertWeights weights,
                                                   const CudaEncoderOptions& options) {
  const Loaded& loaded = Load();
  if (loaded.api == nullptr) {
    return Status::Unavailable("device cuda: the CUDA module did not load", loaded.error);
  }
  return loaded.api->create(std::move(config), std::move(weights), options);
}

}  // namespace cascade::gpu
