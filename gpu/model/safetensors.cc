#include "gpu/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <simdjson.h>

namespace cascade::gpu {

// Tensor bytes are little-endian in the file and copied as they are.
static_assert(std::endian::native == std::endian::little,
              "safetensors loading assumes a little-endian host");

namespace {

struct DTypeEntry {
  std::string_view name;
  DType dtype;
  size_t size;
};

// The spellings of the safetensors specification.
constexpr DTypeEntry kDTypes[] = {
    {"F32", DType::kF32, 4},       {"F16", DType::kF16, 2},
    {"BF16", DType::kBF16, 2},     {"F64", DType::kF64, 8},
    {"I64", DType::kI64, 8},       {"I32", DType::kI32, 4},
    {"I8", DType::kI8, 1},         {"U8", DType::kU8, 1},
    {"BOOL", DType::kBool, 1},     {"I16", DType::kI16, 2},
    {"U16", DType::kU16, 2},       {"U32", DType::kU32, 4},
    {"U64", DType::kU64, 8},       {"F8_E4M3", DType::kF8E4M3, 1},
    {"F8_E5M2", DType::kF8E5M2, 1},
};

std::optional<DType> ParseDType(std::string_view name) {
  for (const DTypeEntry& e : kDTypes) {
    if (e.name == name) return e.dtype;
  }
  return std::nullopt;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  out += "]";
  return out;
}

std::string TensorContext(const std::string& path, std::string_view name) {
  std::string out = "tensor '";
  out.append(name);
  out += "' in ";
  out += path;
  return out;
}

// Parses one header entry into `view` (all but `data`) and `*begin`, its
// offset into the data section. Returns what is wrong, or "" when valid.
std::string ParseEntry(simdjson::dom::element value, uint64_t data_size,
                       TensorView* view, uint64_t* begin_out) {
  simdjson::dom::object obj;
  if (value.get_object().get(obj)) return "entry is not an object";

  std::string_view dtype_name;
  if (obj["dtype"].get_string().get(dtype_name)) {
    return "missing or non-string \"dtype\"";
  }
  std::optional<DType> dtype = ParseDType(dtype_name);
  if (!dtype) return "unknown dtype \"" + std::string(dtype_name) + "\"";
  view->dtype = *dtype;

  simdjson::dom::array shape;
  if (obj["shape"].get_array().get(shape)) {
    return "missing or non-array \"shape\"";
  }
  // Element count with overflow checks: a hostile header must not wrap it
  // into a small number that then passes the byte-size check.
  uint64_t elements = 1;
  bool overflow = false;
  for (simdjson::dom::element dim : shape) {
    uint64_t d;
    if (dim.get_uint64().get(d) ||
        d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return "shape holds a value that is not a non-negative integer";
    }
    view->shape.push_back(static_cast<int64_t>(d));
    if (d != 0 && elements > std::numeric_limits<uint64_t>::max() / d) {
      overflow = true;
    }
    elements *= d;
  }

  simdjson::dom::array offsets;
  if (obj["data_offsets"].get_array().get(offsets) || offsets.size() != 2) {
    return "missing \"data_offsets\" or not [begin, end]";
  }
  uint64_t begin, end;
  if (offsets.at(0).get_uint64().get(begin) ||
      offsets.at(1).get_uint64().get(end)) {
    return "data_offsets are not non-negative integers";
  }
  if (begin > end) return "data_offsets begin after end";
  if (end > data_size) {
    return "data_offsets [" + std::to_string(begin) + ", " +
           std::to_string(end) + ") reach past the " +
           std::to_string(data_size) +
           " data bytes of the file (truncated?)";
  }
  const size_t dtype_size = DTypeSize(view->dtype);
  if (overflow ||
      elements > std::numeric_limits<uint64_t>::max() / dtype_size ||
      elements * dtype_size != end - begin) {
    return "shape " + ShapeString(view->shape) + " of " +
           std::string(dtype_name) + " needs " +
           (overflow ? std::string("too many")
                     : std::to_string(elements * dtype_size)) +
           " bytes but data_offsets span " + std::to_string(end - begin);
  }
  *begin_out = begin;
  view->bytes = static_cast<size_t>(end - begin);
  return "";
}

}  // namespace

std::string_view DTypeName(DType dtype) {
  for (const DTypeEntry& e : kDTypes) {
    if (e.dtype == dtype) return e.name;
  }
  return "?";
}

size_t DTypeSize(DType dtype) {
  for (const DTypeEntry& e : kDTypes) {
    if (e.dtype == dtype) return e.size;
  }
  return 1;
}

int64_t TensorView::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    // Inf or NaN; the NaN payload moves to the top of the fp32 mantissa so
    // that a NaN stays a NaN (and quiet stays quiet).
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: mantissa * 2^-24. Every one is a normal fp32, so
    // shift the leading 1 up to the implicit-bit position (bit 10) and
    // lower the exponent by one per shift.
    int e = -14;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    mantissa &= 0x3ffu;
    bits = sign | (static_cast<uint32_t>(e + 127) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

float BFloat16ToFloat(uint16_t b) {
  // bfloat16 is the top half of an fp32, so subnormals, inf and NaN carry
  // over unchanged.
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound("no safetensors file", path);
    return Status::IOError("open " + path, std::strerror(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IOError("stat " + path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("not a regular file", path);
  }
  const size_t file_size = static_cast<size_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    return Status::Corruption(
        path, "safetensors file of " + std::to_string(file_size) +
                  " bytes is shorter than its 8-byte header length");
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  // The mapping keeps the file alive; the descriptor is no longer needed.
  ::close(fd);
  if (map == MAP_FAILED) {
    return Status::IOError("mmap " + path, std::strerror(map_errno));
  }

  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->map_ = map;
  file->map_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(map);

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > file_size - 8) {
    return Status::Corruption(
        path, "header length " + std::to_string(header_size) +
                  " exceeds the file (" + std::to_string(file_size) +
                  " bytes): truncated or not a safetensors file");
  }
  const uint8_t* data_start = bytes + 8 + header_size;
  const uint64_t data_size = file_size - 8 - header_size;

  // simdjson needs padding after the text, which the mapping can't promise.
  simdjson::padded_string header(reinterpret_cast<const char*>(bytes + 8),
                                 static_cast<size_t>(header_size));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(header).get(doc)) {
    return Status::Corruption(
        path, std::string("header is not valid JSON: ") +
                  simdjson::error_message(err));
  }
  simdjson::dom::object root;
  if (doc.get_object().get(root)) {
    return Status::Corruption(path, "header is not a JSON object");
  }
  for (simdjson::dom::key_value_pair field : root) {
    if (field.key == "__metadata__") continue;
    TensorView view;
    view.name = std::string(field.key);
    uint64_t begin = 0;
    std::string problem = ParseEntry(field.value, data_size, &view, &begin);
    if (!problem.empty()) {
      return Status::Corruption(TensorContext(path, view.name), problem);
    }
    view.data = data_start + begin;
    std::string name = view.name;
    if (!file->tensors_.emplace(std::move(name), std::move(view)).second) {
      return Status::Corruption(TensorContext(path, field.key),
                                "listed twice in the header");
    }
  }
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

const TensorView* SafetensorsFile::Find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

Result<std::vector<float>> SafetensorsFile::ReadF32(
    std::string_view name, const std::vector<int64_t>& shape) const {
  const TensorView* view = Find(name);
  if (view == nullptr) {
    return Status::NotFound(TensorContext(path_, name), "no such tensor");
  }
  if (view->shape != shape) {
    return Status::InvalidArgument(TensorContext(path_, name),
                                   "shape " + ShapeString(view->shape) +
                                       ", expected " + ShapeString(shape));
  }
  const size_t n = static_cast<size_t>(view->elements());
  std::vector<float> out(n);
  // memcpy per element: offsets need not be aligned to the element size.
  switch (view->dtype) {
    case DType::kF32:
      if (n > 0) std::memcpy(out.data(), view->data, n * sizeof(float));
      break;
    case DType::kF16:
    case DType::kBF16: {
      const bool half = view->dtype == DType::kF16;
      for (size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, view->data + 2 * i, 2);
        out[i] = half ? HalfToFloat(v) : BFloat16ToFloat(v);
      }
      break;
    }
    default:
      return Status::NotSupported(
          TensorContext(path_, name),
          "dtype " + std::string(DTypeName(view->dtype)) +
              " (only F32, F16 and BF16 are read)");
  }
  return out;
}

}  // namespace cascade::gpu
