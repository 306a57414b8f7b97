// Synthetic vectors for benchmarks and tests (`cascade gen-vectors`,
// bench/dense/): clustered Gaussians on the unit sphere.
#ifndef CASCADE_INDEX_DENSE_SYNTHETIC_H_
#define CASCADE_INDEX_DENSE_SYNTHETIC_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cascade::dense {

struct ClusteredSpec {
  size_t n = 0;          // vectors
  size_t dim = 0;
  size_t clusters = 1;   // Gaussian centres, uniform on the unit sphere
  // Standard deviation of each point around its centre, relative to the
  // centres' spread (1: as wide as the centres themselves).
  double spread = 0.5;
  uint64_t seed = 1;
};

// n x dim unit vectors: point i = normalise(centre[c] + spread * g), c
// drawn uniformly, g ~ N(0, I / dim). Deterministic for a spec.
std::vector<float> ClusteredVectors(const ClusteredSpec& spec);

}  // namespace cascade::dense

#endif  // CASCADE_INDEX_DENSE_SYNTHETIC_H_
