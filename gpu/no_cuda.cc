// The CUDA entry points in a build without CUDA: no devices, and a
// CudaEncoder that cannot be created (the CPU path is always there).
#include "gpu/backend.h"
#include "gpu/cuda/cuda_encoder.h"

namespace cascade::gpu {
namespace {

Status NoCuda() {
  return Status::Unavailable("device cuda", "this build has no CUDA backend");
}

}  // namespace

bool CudaCompiledIn() { return false; }
std::vector<DeviceInfo> CudaDevices() { return {}; }

struct CudaEncoder::Impl {};

CudaEncoder::CudaEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CudaEncoder::~CudaEncoder() = default;

Result<std::unique_ptr<CudaEncoder>> CudaEncoder::Create(
    ModelConfig, BertWeights, const CudaEncoderOptions&) {
  return NoCuda();
}
Status CudaEncoder::Healthy() const { return NoCuda(); }
Result<std::vector<float>> CudaEncoder::Score(const PairBatch&) {
  return NoCuda();
}
Result<std::vector<float>> CudaEncoder::Embed(const PairBatch&) {
  return NoCuda();
}
Result<std::vector<float>> CudaEncoder::WeighTokens(const PairBatch&) {
  return NoCuda();
}
Result<std::vector<float>> CudaEncoder::TEST_Encode(const PairBatch&) {
  return NoCuda();
}
size_t CudaEncoder::TEST_GraphReplays() const { return 0; }

Result<std::unique_ptr<Backend>> CreateCudaBackend(ModelConfig, BertWeights,
                                                   const CudaEncoderOptions&) {
  return NoCuda();
}

}  // namespace cascade::gpu
