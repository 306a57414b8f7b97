// The dense-retrieval flags of search (README "Dense retrieval"): --mode,
// --vector, --field, --nprobe, fusion options.
#ifndef CASCADE_TOOLS_DENSE_FLAGS_H_
#define CASCADE_TOOLS_DENSE_FLAGS_H_

#include <string>

#include <CLI/CLI.hpp>

#include "cascade/options.h"
#include "cascade/status.h"

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
};
void AddDenseFlags(CLI::App* cmd, DenseFlags* flags);
// Fills the dense fields of *search, reading --vector. InvalidArgument for
// a mode that needs a vector without one, or a bad vector.
Status ApplyDenseFlags(const DenseFlags& flags, SearchOptions* search);

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_DENSE_FLAGS_H_
