#include "index/dense/vector_field.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

namespace cascade::dense {

std::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kDot: return "dot";
    case Metric::kL2: return "l2";
  }
  return "cosine";
}

Result<Metric> ParseMetric(std::string_view name) {
  if (name == "cosine") return Metric::kCosine;
  if (name == "dot") return Metric::kDot;
  if (name == "l2") return Metric::kL2;
  return Status::InvalidArgument("vector metric must be cosine, dot or l2, got", name);
}

std::string_view StorageName(Storage storage) {
  switch (storage) {
    case Storage::kF32: return "f32";
    case Storage::kF16: return "f16";
    case Storage::kInt8: return "int8";
  }
  return "f32";
}

Result<Storage> ParseStorage(std::string_view name) {
  if (name == "f32") return Storage::kF32;
  if (name == "f16") return Storage::kF16;
  if (name == "int8") return Storage::kInt8;
  return Status::InvalidArgument("vector storage must be f32, f16 or int8, got", name);
}

namespace {

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

Result<VectorField> ParseVectorFieldSpec(std::string_view spec) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon == std::string_view::npos
                                           ? std::string_view::npos
                                           : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 3 || parts.size() > 5) {
    return Status::InvalidArgument(
        "vector field must be name:dim:metric[:storage[:ivf_auto_threshold]], got", spec);
  }
  VectorField field;
  field.name = std::string(parts[0]);
  if (!ValidName(field.name)) {
    return Status::InvalidArgument(
        "vector field name must be 1-64 of [A-Za-z0-9_-], got", parts[0]);
  }
  if (!ParseInt(parts[1], &field.dim) || field.dim == 0 || field.dim > kMaxDimension) {
    return Status::InvalidArgument("vector field " + field.name + ": dimension must be 1.." +
                                       std::to_string(kMaxDimension) + ", got",
                                   parts[1]);
  }
  CASCADE_ASSIGN_OR_RETURN(field.metric, ParseMetric(parts[2]));
  if (parts.size() > 3) {
    CASCADE_ASSIGN_OR_RETURN(field.storage, ParseStorage(parts[3]));
  }
  if (parts.size() > 4 && !ParseInt(parts[4], &field.ivf_auto_threshold)) {
    return Status::InvalidArgument(
        "vector field " + field.name + ": ivf_auto_threshold must be a count, got", parts[4]);
  }
  return field;
}

std::string FormatVectorFieldSpec(const VectorField& field) {
  std::string out = field.name + ":" + std::to_string(field.dim) + ":" +
                    std::string(MetricName(field.metric)) + ":" +
                    std::string(StorageName(field.storage));
  if (field.ivf_auto_threshold > 0) out += ":" + std::to_string(field.ivf_auto_threshold);
  return out;
}

Status ValidateVectorFields(std::span<const VectorField> fields) {
  if (fields.size() > kMaxVectorFields) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxVectorFields) +
                                   " vector fields");
  }
  std::set<std::string_view> names;
  for (const VectorField& f : fields) {
    if (!ValidName(f.name)) return Status::InvalidArgument("bad vector field name", f.name);
    if (f.dim == 0 || f.dim > kMaxDimension) {
      return Status::InvalidArgument("bad dimension for vector field", f.name);
    }
    if (!names.insert(f.name).second) {
      return Status::InvalidArgument("vector field declared twice", f.name);
    }
  }
  return Status::OK();
}

Status CheckVector(const VectorField& field, std::span<const float> v,
                   std::string_view doc_id) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument("document " + std::string(doc_id) + ": vector \"" +
                                   field.name + "\": " + what);
  };
  if (v.size() != field.dim) {
    return bad("has dimension " + std::to_string(v.size()) + ", the field's is " +
               std::to_string(field.dim));
  }
  double norm = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) return bad("value " + std::to_string(i) + " is not finite");
    if (field.storage == Storage::kF16 && std::fabs(v[i]) > 65504.0f) {
      return bad("value " + std::to_string(i) + " is outside the f16 range");
    }
    norm += double{v[i]} * v[i];
  }
  if (field.metric == Metric::kCosine && !(norm > 0)) {
    return bad("is zero (a cosine field needs a nonzero norm)");
  }
  return Status::OK();
}

size_t EncodedSize(const VectorField& field) {
  switch (field.storage) {
    case Storage::kF32: return size_t{4} * field.dim;
    case Storage::kF16: return size_t{2} * field.dim;
    case Storage::kInt8: return 4 + size_t{field.dim};
  }
  return 0;
}

namespace {

void PutFloat(std::string* out, float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  char b[4] = {static_cast<char>(u), static_cast<char>(u >> 8), static_cast<char>(u >> 16),
               static_cast<char>(u >> 24)};
  out->append(b, 4);
}

float GetFloat(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return std::bit_cast<float>(uint32_t{u[0]} | (uint32_t{u[1]} << 8) |
                              (uint32_t{u[2]} << 16) | (uint32_t{u[3]} << 24));
}

}  // namespace

void EncodeVector(const VectorField& field, std::span<const float> v, std::string* out) {
  switch (field.storage) {
    case Storage::kF32:
      out->reserve(out->size() + 4 * v.size());
      for (float x : v) PutFloat(out, x);
      return;
    case Storage::kF16:
      for (float x : v) {
        const uint16_t h = FloatToHalf(x);
        out->push_back(static_cast<char>(h));
        out->push_back(static_cast<char>(h >> 8));
      }
      return;
    case Storage::kInt8: {
      float max_abs = 0;
      for (float x : v) max_abs = std::max(max_abs, std::fabs(x));
      const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
      PutFloat(out, scale);
      for (float x : v) {
        const long code = std::lround(x / scale);
        out->push_back(static_cast<char>(static_cast<int8_t>(std::clamp(code, -127L, 127L))));
      }
      return;
    }
  }
}

Status DecodeVector(const VectorField& field, std::string_view bytes, float* out) {
  if (bytes.size() != EncodedSize(field)) {
    return Status::Corruption("vector of field " + field.name + " has " +
                              std::to_string(bytes.size()) + " bytes, expected " +
                              std::to_string(EncodedSize(field)));
  }
  const char* p = bytes.data();
  switch (field.storage) {
    case Storage::kF32:
      for (uint32_t i = 0; i < field.dim; ++i) out[i] = GetFloat(p + 4 * i);
      break;
    case Storage::kF16:
      for (uint32_t i = 0; i < field.dim; ++i) {
        const auto* u = reinterpret_cast<const unsigned char*>(p + 2 * i);
        out[i] = HalfToFloat(static_cast<uint16_t>(u[0] | (u[1] << 8)));
      }
      break;
    case Storage::kInt8: {
      const float scale = GetFloat(p);
      for (uint32_t i = 0; i < field.dim; ++i) {
        out[i] = static_cast<float>(static_cast<int8_t>(p[4 + i])) * scale;
      }
      break;
    }
  }
  return Status::OK();
}

void EncodeCentroids(std::span<const float> centroids, uint32_t dim, uint32_t seed,
                     std::string* out) {
  const uint32_t header[3] = {static_cast<uint32_t>(centroids.size() / dim), dim, seed};
  for (uint32_t h : header) PutFloat(out, std::bit_cast<float>(h));
  for (float x : centroids) PutFloat(out, x);
}

Result<std::vector<float>> DecodeCentroids(const VectorField& field, std::string_view bytes) {
  if (bytes.size() < 12) return Status::Corruption("IVF centroids of " + field.name + ": short");
  const uint32_t nlist = std::bit_cast<uint32_t>(GetFloat(bytes.data()));
  const uint32_t dim = std::bit_cast<uint32_t>(GetFloat(bytes.data() + 4));
  if (dim != field.dim || nlist == 0 ||
      bytes.size() != 12 + size_t{4} * nlist * dim) {
    return Status::Corruption("IVF centroids of " + field.name + ": bad size");
  }
  std::vector<float> out(size_t{nlist} * dim);
  for (size_t i = 0; i < out.size(); ++i) out[i] = GetFloat(bytes.data() + 12 + 4 * i);
  return out;
}

uint16_t FloatToHalf(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // Inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to Inf
  if (abs < 0x38800000u) {  // subnormal half (or zero)
    // Scale into the subnormal grid with the FPU's round-to-nearest-even.
    const float scaled = std::bit_cast<float>(abs) * 16777216.0f;  // * 2^24
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  // Normal: rebias the exponent, round the mantissa to 10 bits (even).
  const uint32_t mantissa_odd = (abs >> 13) & 1u;
  const uint32_t rounded = abs + 0xfffu + mantissa_odd;
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (uint32_t{h} & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    const float v = static_cast<float>(mant) / 16777216.0f;  // mant * 2^-24
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

void Normalize(float* v, size_t dim) {
  double norm = 0;
  for (size_t i = 0; i < dim; ++i) norm += double{v[i]} * v[i];
  if (!(norm > 0)) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (size_t i = 0; i < dim; ++i) v[i] *= inv;
}

}  // namespace cascade::dense
