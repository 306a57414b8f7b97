#include "index/dense/synthetic.h"

#include <cmath>
#include <random>

#include "index/dense/vector_field.h"

namespace cascade::dense {

std::vector<float> ClusteredVectors(const ClusteredSpec& spec) {
  // Centres come from the seed alone, so that base and query sets drawn
  // with the same seed share them: the point stream is seeded separately.
  std::mt19937_64 center_rng(spec.seed);
  std::mt19937_64 rng(spec.seed * 0x9e3779b97f4a7c15ULL + spec.n);
  const double scale = 1.0 / std::sqrt(double(spec.dim));
  std::normal_distribution<double> g(0, scale);
  std::vector<float> centers(spec.clusters * spec.dim);
  for (size_t c = 0; c < spec.clusters; ++c) {
    for (size_t j = 0; j < spec.dim; ++j) centers[c * spec.dim + j] = float(g(center_rng));
    Normalize(centers.data() + c * spec.dim, spec.dim);
  }
  std::uniform_int_distribution<size_t> pick(0, spec.clusters - 1);
  std::vector<float> out(spec.n * spec.dim);
  for (size_t i = 0; i < spec.n; ++i) {
    const float* center = centers.data() + pick(rng) * spec.dim;
    float* x = out.data() + i * spec.dim;
    for (size_t j = 0; j < spec.dim; ++j) x[j] = center[j] + float(spec.spread * g(rng));
    Normalize(x, spec.dim);
  }
  return out;
}

}  // namespace cascade::dense
