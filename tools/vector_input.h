// Reading vectors for the CLI: a JSON array given inline ("[0.1, 0.2]"), or
// a file of vectors: .fvecs (per vector: int32 dim, then dim float32, as
// the TEXMEX corpora), .npy (a 2-d little-endian float32 array, C order) or
// JSON lines (each an array, or an object with "vector": [...] and an
// optional "_id"/"id"; blank lines are skipped).
#ifndef CASCADE_TOOLS_VECTOR_INPUT_H_
#define CASCADE_TOOLS_VECTOR_INPUT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cascade/status.h"

namespace cascade::tools {

struct VectorRecord {
  std::string id;  // JSON lines only; may be empty
  std::vector<float> values;
};

// Reads a vector file one row at a time, holding one row in memory, so
// side files of any size stream (`cascade index --vectors`). The format
// comes from the extension: .fvecs, .npy, else JSON lines.
//
// Rows are checked as they are read: a dimension of 1..dense::kMaxDimension,
// every value a finite float32 (NaN and Inf are refused here for .fvecs and
// .npy too), well-formed JSON. Errors are InvalidArgument starting with
// Where(), e.g. "v.fvecs: row 7: value 3 is not finite"; NotFound for a
// file that cannot be opened. Not thread-safe.
class VectorFileReader {
 public:
  static Result<std::unique_ptr<VectorFileReader>> Open(const std::string& path);
  ~VectorFileReader();
  VectorFileReader(const VectorFileReader&) = delete;
  VectorFileReader& operator=(const VectorFileReader&) = delete;

  // Fills *record with the next row and returns true, or returns false at
  // the end of the file. After an error the reader must not be used.
  Result<bool> Next(VectorRecord* record);

  // Where the last row read came from: "FILE: row N" (.fvecs, .npy; 1-based)
  // or "FILE:LINE" (JSON lines), for messages.
  std::string Where() const;
  // Rows returned so far.
  uint64_t rows() const;
  const std::string& path() const;

 private:
  struct Impl;
  explicit VectorFileReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Every vector of a file (VectorFileReader's formats and checks).
Result<std::vector<VectorRecord>> ReadVectorFile(const std::string& path);
// `spec` is an inline JSON array when it starts with '[', else a file whose
// first vector is taken.
Result<std::vector<float>> ReadQueryVector(const std::string& spec);
// Writes vectors as .fvecs.
Status WriteFvecs(const std::string& path, const std::vector<float>& data, size_t dim);

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_VECTOR_INPUT_H_
