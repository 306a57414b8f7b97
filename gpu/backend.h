// The batch-level interface between the reranking stages and the hardware
// that runs a model. No CUDA type appears here, so rerank/ builds without
// CUDA; gpu/cpu (always) and gpu/cuda (when CUDA is found) implement it.
//
// This issue ships the interface and device discovery only; the encoder
// backends arrive with the neural-runtime and GPU issues.
#ifndef CASCADE_GPU_BACKEND_H_
#define CASCADE_GPU_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::gpu {

// Pairs packed end to end; pair i is tokens [offsets[i], offsets[i + 1]).
struct PairBatch {
  std::vector<int32_t> token_ids;
  std::vector<int32_t> segment_ids;
  std::vector<int32_t> offsets;  // size = pairs + 1, offsets[0] = 0
};

// A model runner. Score() is called from one worker thread at a time.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view Name() const = 0;
  // OK while the backend can run; after a device failure, the error that
  // made it unhealthy (callers then fall back to the CPU).
  virtual Status Healthy() const = 0;
  // One relevance score per pair of the batch.
  virtual Result<std::vector<float>> Score(const PairBatch& batch) = 0;
};

struct DeviceInfo {
  int index = 0;
  std::string name;
  uint64_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

// True when this build includes the CUDA backend (CASCADE_CUDA found nvcc
// and cuBLAS at configure time).
bool CudaCompiledIn();
// The CUDA devices visible now; empty without CUDA in the build, without a
// driver or without a device (never an error: the CPU path is always there).
std::vector<DeviceInfo> CudaDevices();

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_BACKEND_H_
