// VectorField: a named dense-vector field of an index's schema, and how its
// vectors are checked and encoded on disk (index/keys.h, "vectors").
//
// Fields are declared when the index is created (IndexOptions::
// vector_fields, persisted with the options) and never change; a field's
// ordinal (its place in that list) names it inside keys. Every document of
// an index with vector fields carries a vector for each of them.
//
// Encodings (little-endian), persisted: never renumber or change.
//   f32   dim x float32
//   f16   dim x IEEE binary16 (round to nearest even; overflow -> Inf is
//         refused before encoding: |x| must be <= 65504)
//   int8  float32 scale, then dim x int8 codes; x[i] = code[i] * scale,
//         scale = max|x| / 127 (symmetric, per vector)
// Cosine fields store the vector as given; readers normalise it.
#ifndef CASCADE_INDEX_DENSE_VECTOR_FIELD_H_
#define CASCADE_INDEX_DENSE_VECTOR_FIELD_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::dense {

// Persisted by name; never rename.
enum class Metric { kCosine, kDot, kL2 };
enum class Storage { kF32, kF16, kInt8 };

inline constexpr uint32_t kMaxDimension = 65536;
// Field ordinals are one byte in keys.
inline constexpr size_t kMaxVectorFields = 255;

struct VectorField {
  std::string name;  // [A-Za-z0-9_-]+, unique in the index
  uint32_t dim = 0;  // 1..kMaxDimension
  Metric metric = Metric::kCosine;
  Storage storage = Storage::kF32;
  // Train an IVF index for this field automatically once it holds this
  // many live vectors (`cascade index` checks after each run); 0: never.
  uint64_t ivf_auto_threshold = 0;
};

std::string_view MetricName(Metric metric);
Result<Metric> ParseMetric(std::string_view name);
std::string_view StorageName(Storage storage);
Result<Storage> ParseStorage(std::string_view name);

// "name:dim:metric[:storage[:ivf_auto_threshold]]", e.g. "emb:384:cosine",
// "emb:768:dot:f16", "emb:128:l2:f32:100000". InvalidArgument naming the bad
// part.
Result<VectorField> ParseVectorFieldSpec(std::string_view spec);
// The full spec text, which parses back to the same field.
std::string FormatVectorFieldSpec(const VectorField& field);
// Names valid and unique, dimensions in range, at most kMaxVectorFields.
Status ValidateVectorFields(std::span<const VectorField> fields);

// Checks one vector of `field` for document `doc_id`: its dimension, every
// value finite (and within f16 range for f16 fields), a nonzero norm for
// cosine fields. InvalidArgument naming the document, field and problem.
Status CheckVector(const VectorField& field, std::span<const float> v,
                   std::string_view doc_id);

// Appends the field's encoding of a checked vector.
void EncodeVector(const VectorField& field, std::span<const float> v,
                  std::string* out);
// Decodes into out[0, dim). Corruption when the size does not match.
Status DecodeVector(const VectorField& field, std::string_view bytes, float* out);
size_t EncodedSize(const VectorField& field);

// The persisted IVF centroids of a field (keys.h, kMetaIvfCentroidsPrefix):
// fixed32 nlist, fixed32 dim, fixed32 seed, then nlist x dim float32, all
// little-endian. Decode checks the sizes against the field (Corruption).
void EncodeCentroids(std::span<const float> centroids, uint32_t dim, uint32_t seed,
                     std::string* out);
Result<std::vector<float>> DecodeCentroids(const VectorField& field, std::string_view bytes);

// IEEE binary16 conversions (round to nearest even).
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);

// Scales v to unit L2 norm (left as is when the norm is 0).
void Normalize(float* v, size_t dim);

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_VECTOR_FIELD_H_
