// Dense and hybrid searches of the embedded library (SearchOptions::mode
// "dense" and "hybrid"): kNN over a vector field, optionally filtered by a
// lexical query, and BM25 + kNN fused (query/fusion.h).
//
// Thread-safety: a DenseCache may be shared by concurrent searches;
// DenseSearch is reentrant given its own Searcher.
#ifndef CASCADE_QUERY_DENSE_SEARCH_H_
#define CASCADE_QUERY_DENSE_SEARCH_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/engine.h"
#include "index/dense/vector_index.h"
#include "index/index_reader.h"
#include "index/store.h"
#include "query/searcher.h"

namespace cascade::query {

// Each vector field's in-memory index for the latest reader, loaded at its
// first search (a full scan of the field) and dropped when a search comes
// with a newer reader.
class DenseCache {
 public:
  Result<std::shared_ptr<const dense::VectorIndex>> Get(
      const index::Store& store, const std::shared_ptr<const index::IndexReader>& reader,
      std::string_view field);

 private:
  std::mutex mu_;
  std::shared_ptr<const index::IndexReader> reader_;
  std::map<std::string, std::shared_ptr<const dense::VectorIndex>, std::less<>> fields_;
};

// Embeds query text for searches that bring no vector
// (OpenOptions::embedding_model). `embed` must be safe to call from
// concurrent searches; `name` names the model in messages.
struct QueryEmbedder {
  std::string name;
  std::function<Result<std::vector<float>>(std::string_view text)> embed;
};

// Runs a dense or hybrid search (options.mode). Without options.vector,
// `embedder` (may be null) embeds the query text, which in dense mode is
// then not a lexical filter; the result's first stage is "embed".
// InvalidArgument for a missing or bad query vector, an embedding whose
// size is not the field's dimension, an unknown field, a hybrid search
// without query text, bad fusion options, or a mode other than
// dense/hybrid.
Result<SearchResult> DenseSearch(std::string_view query, const SearchOptions& options,
                                 const index::Store& store,
                                 const std::shared_ptr<const index::IndexReader>& reader,
                                 Searcher& searcher, DenseCache& cache,
                                 const QueryEmbedder* embedder = nullptr);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_DENSE_SEARCH_H_
