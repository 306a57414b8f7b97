// Reading vectors for the CLI: a JSON array given inline ("[0.1, 0.2]"), or
// a file of vectors: .fvecs (per vector: int32 dim, then dim float32, as
// the TEXMEX corpora), .npy (a 2-d little-endian float32 array, C order) or
// JSON lines (each an array, or an object with "vector": [...] and an
// optional "_id"/"id").
#ifndef CASCADE_TOOLS_VECTOR_INPUT_H_
#define CASCADE_TOOLS_VECTOR_INPUT_H_

#include <string>
#include <vector>

#include "cascade/status.h"

namespace cascade::tools {

struct VectorRecord {
  std::string id;  // JSON lines only; may be empty
  std::vector<float> values;
};

// Every vector of a file (format from the extension: .fvecs, .npy, else
// JSON lines). InvalidArgument naming file and record for bad input.
Result<std::vector<VectorRecord>> ReadVectorFile(const std::string& path);
// `spec` is an inline JSON array when it starts with '[', else a file whose
// first vector is taken.
Result<std::vector<float>> ReadQueryVector(const std::string& spec);
// Writes vectors as .fvecs.
Status WriteFvecs(const std::string& path, const std::vector<float>& data, size_t dim);

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_VECTOR_INPUT_H_
