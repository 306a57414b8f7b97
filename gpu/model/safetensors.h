// SafetensorsFile: a memory-mapped model.safetensors file.
//
// Format (https://huggingface.co/docs/safetensors): 8 bytes little-endian
// header length N, N bytes of JSON {"name": {"dtype", "shape", 
// "data_offsets": [begin, end]}, "__metadata__": {...}}, then the tensor
// bytes (offsets relative to the end of the header). Every offset and shape
// is checked against the file size on Open, so a truncated or corrupt file
// is refused there, not read out of bounds later.
//
// Thread-safety: immutable after Open; const methods may be called from
// several threads.
#ifndef CASCADE_GPU_MODEL_SAFETENSORS_H_
#define CASCADE_GPU_MODEL_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::gpu {

// Every dtype the safetensors format names, so that a checkpoint holding an
// unused integer buffer (position_ids is I64) still opens; ReadF32 converts
// only the floating ones we run on.
enum class DType {
  kF32, kF16, kBF16, kF64, kI64, kI32, kI8, kU8, kBool,
  kI16, kU16, kU32, kU64, kF8E4M3, kF8E5M2,
};
std::string_view DTypeName(DType dtype);  // "F32", ...
// Bytes per element.
size_t DTypeSize(DType dtype);

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // into the mapping
  size_t bytes = 0;
  int64_t elements() const;
};

class SafetensorsFile {
 public:
  // Maps `path`. NotFound if missing; Corruption naming the file (and the
  // tensor) for a bad header, unknown dtype, or offsets outside the file.
  static Result<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  // nullptr when there is no tensor of that name.
  const TensorView* Find(std::string_view name) const;
  const std::map<std::string, TensorView, std::less<>>& tensors() const {
    return tensors_;
  }

  // The tensor converted to fp32 (F32, F16, BF16 supported), checked to have
  // `shape`. InvalidArgument naming the tensor, its shape and the expected
  // one on mismatch; NotFound naming it when missing; NotSupported for other
  // dtypes.
  Result<std::vector<float>> ReadF32(std::string_view name,
                                     const std::vector<int64_t>& shape) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, TensorView, std::less<>> tensors_;
};

// Half-precision conversions (exposed for tests).
float HalfToFloat(uint16_t h);
float BFloat16ToFloat(uint16_t b);

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_MODEL_SAFETENSORS_H_
