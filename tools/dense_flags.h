// The dense-retrieval flags of search, eval and run (README "Dense
// retrieval"): --mode, --vector (search) or --query-vectors (eval, run),
// --field, --nprobe, fusion options.
#ifndef CASCADE_TOOLS_DENSE_FLAGS_H_
#define CASCADE_TOOLS_DENSE_FLAGS_H_

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cascade/options.h"
#include "cascade/status.h"
#include "tools/cli_common.h"

namespace cascade::tools {

struct DenseFlags {
  std::string mode = "bm25";
  std::string vector;  // inline JSON array or a file (tools/vector_input.h)
  std::string field;
  size_t nprobe = 0;
  bool quantized = false;
  size_t rescore = 4;
  size_t depth = 100;
  std::string fusion = "rrf";
  double rrf_k = 60;
  double dense_weight = 0.5;
  std::string normalization = "minmax";
  // A bi-encoder folder: dense/hybrid queries without a vector embed their
  // text (OpenOptions::embedding_model).
  std::string embedding_model;
};
// with_vector: add --vector (search); eval and run take one vector per
// query from --query-vectors instead (AddQueryVectorsFlag).
void AddDenseFlags(CLI::App* cmd, DenseFlags* flags, bool with_vector = true);
// Fills the dense fields of *search, reading --vector. InvalidArgument for
// a mode that needs a vector without one, or a bad vector.
Status ApplyDenseFlags(const DenseFlags& flags, SearchOptions* search);
// Fills the dense fields of *search but the vector.
void ApplyDenseOptions(const DenseFlags& flags, SearchOptions* search);
// Sets OpenOptions::embedding_model from --embedding-model.
void ApplyDenseOpenOptions(const DenseFlags& flags, OpenOptions* open);

// --query-vectors of eval and run.
void AddQueryVectorsFlag(CLI::App* cmd, std::string* path);
// The vector of each query (out[i] for queries[i]) from `path`
// (tools/vector_input.h): JSON lines that all carry "_id" are matched by
// id; otherwise (.fvecs, .npy, bare arrays) the file's order is the queries
// file's order and the counts must match. Empty `path`: empty vectors, and
// InvalidArgument when `mode` needs vectors and no embedding model will
// embed the query text (`embed_text`). InvalidArgument for a query
// without a vector, a duplicate id or a count mismatch; NotFound for a
// missing file. Dimensions are checked by the search (InvalidArgument).
Result<std::vector<std::vector<float>>> ReadQueryVectors(const std::string& path,
                                                         const std::string& mode,
                                                         const std::vector<Query>& queries,
                                                         bool embed_text = false);

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_DENSE_FLAGS_H_
