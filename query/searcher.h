// Searcher: BM25 top-k over an IndexReader, for bag-of-words queries and
// for Lucene's query syntax (SearchParams::syntax).
//
// Plain syntax (the default) analyses the whole query text as one bag of
// words. With text fields (field_values.h) each word is scored over the
// default fields, weighted (lucene_search.h, SearchWords): one list per
// (word, field), each with its field's scorer and lengths, and the rest of
// this comment holds for it too. Lucene syntax
// (query_parser.h) is parsed and run exhaustively by lucene_search.h, whose
// header documents its semantics.
//
// Four ways to the same top k (SearchParams::algorithm):
//   - exhaustive: term-at-a-time, every posting of every query term is
//     scored into per-segment accumulators;
//   - WAND, block-max WAND (BMW) and block-max MaxScore: document-at-a-time
//     with dynamic pruning. They skip documents (and, with block-max, whole
//     blocks without decoding them) whose score bound cannot beat the k-th
//     best score so far. Bounds come from the postings' metadata
//     (posting_codec.h: per-term (tf, length) frontier, per-block max tf and
//     min length) evaluated with the query's own k1 and b, so overriding them
//     per query keeps results exact.
// Every algorithm returns exactly the same hits with bit-identical scores:
// a document's score is always summed in query-term order (with text
// fields: per word in field order, then over the words, as the exhaustive
// plan's Booleans add them), as the exhaustive evaluation does, and bounds
// carry a margin for float rounding. The pruning code is query/daat.h.
// Ties are broken by internal doc id (lower first). Segments are searched in
// doc id order, sharing one top-k heap, so that a later segment starts with
// the threshold the earlier ones reached.
//
// total_hits: the exhaustive algorithm counts every live matching document.
// The pruning ones count exactly until total_hits_threshold hits have been
// counted and only then start to skip (Lucene's totalHitsThreshold); once
// they skip, total_hits is a lower bound (>= total_hits_threshold) and
// total_hits_exact is false.
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
#include "index/posting_codec.h"
#include "query/bm25.h"
#include "query/query_parser.h"

namespace cascade::query {

// Query length limits (documented in the README).
inline constexpr size_t kMaxQueryBytes = 16 * 1024;
inline constexpr size_t kMaxQueryTerms = 1024;
inline constexpr size_t kMaxK = 100000;

// How the top k is found (all give the same hits and scores; see above).
enum class Algorithm {
  kAuto,        // per segment, from the list lengths and k (ChooseAlgorithm)
  kExhaustive,  // term-at-a-time, every posting scored
  kWand,        // document-at-a-time WAND (term bounds only)
  kBmw,         // block-max WAND
  kMaxScore,    // block-max MaxScore
};
// "auto", "exhaustive", "wand", "bmw", "maxscore".
std::string_view AlgorithmName(Algorithm algorithm);
// The inverse; InvalidArgument naming the choices for anything else.
Result<Algorithm> ParseAlgorithm(std::string_view name);

// How the query text is read.
enum class QuerySyntax {
  kPlain,   // a bag of words: the text is analysed, operators are words
  kLucene,  // Lucene's classic syntax (query_parser.h, lucene_search.h)
};
// "plain", "lucene".
std::string_view QuerySyntaxName(QuerySyntax syntax);
// The inverse; InvalidArgument naming the choices for anything else.
Result<QuerySyntax> ParseQuerySyntax(std::string_view name);

struct SearchParams {
  size_t k = 10;                 // hits to return, 1..kMaxK
  std::optional<double> k1;      // BM25 k1; default: the index's
  std::optional<double> b;       // BM25 b; default: the index's
  Algorithm algorithm = Algorithm::kAuto;
  // Pruning starts only once this many hits were counted, so total_hits is
  // exact up to here (0: prune as early as possible).
  uint64_t total_hits_threshold = 1000;
  // How Search() reads its text. Default: plain (bag of words).
  QuerySyntax syntax = QuerySyntax::kPlain;
};

// The BM25 parameters a search runs with (params' k1 and b, else the
// index's). InvalidArgument for k outside 1..kMaxK, a k1 that is not a
// finite number >= 0, a b outside [0, 1].
Result<Bm25Params> CheckSearchParams(const SearchParams& params,
                                     const index::IndexOptions& options);

struct ScoredDoc {
  uint32_t doc = 0;  // internal id
  float score = 0;
};

struct TopDocs {
  std::vector<ScoredDoc> hits;  // best first
  // Live documents matching any term: exact when total_hits_exact, else a
  // lower bound of at least SearchParams::total_hits_threshold.
  uint64_t total_hits = 0;
  bool total_hits_exact = true;
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
  // With params.syntax == kLucene the text is parsed first (a syntax error
  // is InvalidArgument naming the column, query_parser.h) and run as
  // SearchQuery() does.
  Result<TopDocs> Search(std::string_view query, const SearchParams& params);

  // Runs a parsed query tree (lucene_search.h has the semantics and the
  // errors). The tree is only read.
  Result<TopDocs> SearchQuery(const QueryNode& query, const SearchParams& params);

  // Scores given (term, query weight) pairs; no analysis.
  Result<TopDocs> SearchTerms(std::vector<std::pair<std::string, uint32_t>> terms,
                              const SearchParams& params);

  // Every live document `query` matches, in ascending internal id order,
  // without scoring or a k (deletes by query take them all). Plain syntax:
  // the documents holding at least one of the query's analysed terms (a
  // query with none matches nothing). Lucene syntax: MatchLucene()
  // (lucene_search.h). Errors: as Search() less those of k, k1 and b.
  Result<std::vector<uint32_t>> Match(std::string_view query, QuerySyntax syntax);

  const index::IndexReader& reader() const { return *reader_; }

 private:
  Searcher(std::shared_ptr<const index::IndexReader> reader,
           std::unique_ptr<index::Analyzer> analyzer);

  std::shared_ptr<const index::IndexReader> reader_;
  std::unique_ptr<index::Analyzer> analyzer_;
  // Lucene syntax only, made on first use: the analyzer without stop
  // words or stemming, for prefixes (lucene_search.h).
  std::unique_ptr<index::Analyzer> normalizer_;
  std::vector<std::string> scratch_terms_;
  std::vector<float> accumulators_;
  std::vector<uint32_t> docs_, tfs_;
  // Pinned posting bytes per (term, segment), and cursors, kept between
  // searches (the slices are released at the end of each).
  std::vector<std::unique_ptr<rocksdb::PinnableSlice>> pinned_;
  std::vector<std::unique_ptr<index::PostingCursor>> cursors_;
};

// kAuto's choice for one segment: `postings` is the summed length of the
// query's lists there, `longest` the longest one, `terms` how many lists.
Algorithm ChooseAlgorithm(size_t k, size_t terms, uint64_t postings,
                          uint64_t longest);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_SEARCHER_H_
