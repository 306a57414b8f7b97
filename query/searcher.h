// Searcher: bag-of-words BM25 top-k over an IndexReader.
//
// Exhaustive term-at-a-time scoring: every posting of every query term is
// scored, so results are exact. Ties are broken by internal doc id (lower
// first), so results are deterministic. Dynamic pruning comes later and
// must return exactly these results.
//
// Thread-safety: a Searcher holds an Analyzer and scratch buffers, so use
// one per thread; many Searchers may share one IndexReader.
#ifndef CASCADE_QUERY_SEARCHER_H_
#define CASCADE_QUERY_SEARCHER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cascade/status.h"
#include "index/analyzer.h"
#include "index/index_reader.h"
#include "query/bm25.h"

namespace cascade::query {

// Query length limits (documented in the README).
inline constexpr size_t kMaxQueryBytes = 16 * 1024;
inline constexpr size_t kMaxQueryTerms = 1024;
inline constexpr size_t kMaxK = 100000;

struct SearchParams {
  size_t k = 10;                 // hits to return, 1..kMaxK
  std::optional<double> k1;      // BM25 k1; default: the index's
  std::optional<double> b;       // BM25 b; default: the index's
};

struct ScoredDoc {
  uint32_t doc = 0;  // internal id
  float score = 0;
};

struct TopDocs {
  std::vector<ScoredDoc> hits;  // best first
  uint64_t total_hits = 0;      // live documents matching any term
  // Distinct analysed query terms with their counts, in query order.
  std::vector<std::pair<std::string, uint32_t>> terms;
};

class Searcher {
 public:
  static Result<std::unique_ptr<Searcher>> Create(
      std::shared_ptr<const index::IndexReader> reader);

  // Analyses `query` like the documents and returns the top k. Errors:
  // InvalidArgument for an empty k, k over kMaxK, a query over
  // kMaxQueryBytes or with more than kMaxQueryTerms terms, bad k1/b.
  // A query with no indexable terms returns no hits.
  Result<TopDocs> Search(std::string_view query, const SearchParams& params);

  // Scores given (term, query weight) pairs; no analysis.
  Result<TopDocs> SearchTerms(std::vector<std::pair<std::string, uint32_t>> terms,
                              const SearchParams& params);

  const index::IndexReader& reader() const { return *reader_; }

 private:
  Searcher(std::shared_ptr<const index::IndexReader> reader,
           std::unique_ptr<index::Analyzer> analyzer);

  std::shared_ptr<const index::IndexReader> reader_;
  std::unique_ptr<index::Analyzer> analyzer_;
  std::vector<std::string> scratch_terms_;
  std::vector<float> accumulators_;
  std::vector<uint32_t> docs_, tfs_;
};

}  // namespace cascade::query

#endif  // CASCADE_QUERY_SEARCHER_H_
