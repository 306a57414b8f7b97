// LuceneSearch: runs a parsed Lucene query (query_parser.h) over an
// IndexReader and returns the exact top k, as Lucene's BooleanQuery and
// BM25Similarity would score it. Searcher::Search(query, {.syntax =
// kLucene}) parses and calls this; plain bag-of-words queries never come
// here and keep the pruned path of searcher.h.
//
// Fields. Every index has the text field "contents" (title + text), and
// may have more text fields (field_values.h, "Text fields and contents").
// A term, phrase or prefix leaf may name "contents", a text field of the
// index, "title" or "text" when they are not text fields (then aliases of
// contents), or one of the index's keyword or numeric fields
// (IndexOptions::fields); any other field is InvalidArgument naming it and
// its column, and so is a leaf whose kind does not fit its field's type
// (below). A leaf without a field searches the default fields: contents
// alone on an index without text fields; otherwise a SHOULD Boolean of the
// leaf on contents (unless its weight is 0) and on each text field of
// weight > 0, in schema order, each boosted by its field's weight (Lucene's
// MultiFieldQueryParser with boosts). Each field scores with its own
// statistics: df, N (its documents with terms) and average length. Two
// equal unfielded leaves in one Boolean merge as equal terms do (below),
// field by field. A named field is searched with weight 1.
//
// Leaves:
//   term      The text goes through the index's analyzer. One token: a
//             BM25 term query. Several tokens ("e-mail" -> e, mail): a
//             Boolean of SHOULD term queries, one per token in order (what
//             Lucene's QueryBuilder builds under the default OR, with
//             autoGeneratePhraseQueries off). No token (a stop word, only
//             punctuation): the clause is dropped, as Lucene drops it.
//   prefix    The text is normalised like the documents but with neither
//             stop words nor stemming (Lucene's Analyzer.normalize: case
//             folding, here also the tokenizer). One token: every indexed
//             term that starts with it matches; no token: dropped; several
//             tokens: InvalidArgument (a prefix is one word). Indexed terms
//             are stemmed, so "running*" does not find "running" (stored
//             as "run"), as in Lucene over a stemmed field. Scoring is
//             Lucene's constant-score rewrite: a matching document scores
//             the boost, whatever term and tf matched. More than
//             kMaxPrefixTerms distinct indexed terms is InvalidArgument
//             asking for a longer prefix.
//   *:*       Every document, constant score 1 x boost.
//   phrase    The words in order, within the slop (phrase_match.h);
//             NotSupported on an index without positions.
//   range     Only on numeric fields (InvalidArgument elsewhere).
//
// Keyword and numeric fields are filters with a constant score, as
// Lucene's ConstantScoreQuery and PointRangeQuery score: a matching
// document scores the leaf's boost (1 unless boosted; "tags:a^0" is a pure
// filter that never changes a score). Lucene would score a plain
// TermQuery on a StringField with BM25 on that field (the value's idf, tf
// 1, no length norm); we do not, so that adding a filter to a query keeps
// the order of its text matches (a MUST filter adds the same constant to
// every hit).
//   keyword   tags:value and tags:"two words": documents holding exactly
//             that value (bytes as given, case included; never analysed).
//             tags:val*: any value starting with those bytes, at most
//             kMaxPrefixTerms distinct values over the index. A range is
//             InvalidArgument.
//   numeric   year:[a TO b] (inclusive), year:{a TO b} (exclusive), mixed
//             [a TO b} and {a TO b], '*' for an open end (year:[* TO *] is
//             every document with a value): documents with at least one
//             value in the range, as Lucene's point ranges. year:1987 (or
//             "1987") is [1987 TO 1987]. A bound or term that is not a
//             number, and a prefix, are InvalidArgument. Values compare
//             as doubles (-0 equals 0).
//
// Booleans (Lucene's BooleanQuery). MUST_NOT clauses exclude. When there
// are MUST clauses, a document must match all of them and the SHOULD
// clauses are optional; without MUST clauses at least one SHOULD clause
// must match. A Boolean with no positive clause left (after dropped
// leaves), e.g. "(the -rocket)", matches nothing, as in Lucene.
//
// Scores. A document's score in a Boolean is the float sum, in clause
// order starting from 0, of the scores of the MUST and SHOULD clauses it
// matches (MUST_NOT clauses add nothing). Boosts multiply down the tree as
// Lucene's createWeight passes them: a leaf's boost is the product (in
// double) of its own and its ancestors'. As Lucene's BooleanQuery.rewrite
// does, a term that appears again in the same Boolean with the same occur
// (SHOULD or MUST; tokens of one multi-token term count too) is one clause,
// at its first place, whose boost is the sum of theirs: "a b a" is
// "a^2 b". A term scores BM25 (bm25.h) with
// weight float(boost x idf) — idf from the document frequency summed over
// segments, deleted documents included until a merge, as the plain path
// does. So a query of bare words scores exactly as the plain path scores
// the same words. A matching document is a hit even when its score is 0
// (a boost of 0).
//
// Hits are the k best, ties broken by internal doc id (lower first);
// deleted documents never match. Evaluation is exhaustive, one segment at
// a time, so total_hits (matching live documents) is always exact.
// TopDocs::terms lists the distinct analysed terms of the term leaves that
// are not under a MUST_NOT, with their counts, in query order.
//
// Thread-safety: a pure function of its arguments; the analyzers are used
// (so are not shared with another thread meanwhile).
#ifndef CASCADE_QUERY_LUCENE_SEARCH_H_
#define CASCADE_QUERY_LUCENE_SEARCH_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cascade/status.h"
#include "index/analyzer.h"
#include "index/index_reader.h"
#include "query/query_parser.h"
#include "query/searcher.h"

namespace cascade::query {

// Distinct indexed terms one prefix may expand to, over the whole index
// (Lucene's default maxClauseCount).
inline constexpr size_t kMaxPrefixTerms = 1024;

// The analyzer options prefixes are normalised with: `index_options`
// without stop words and without stemming.
index::AnalyzerOptions LuceneNormalizerOptions(
    const index::AnalyzerOptions& index_options);

// Runs `query` (see above). `analyzer` is the index's analyzer (terms),
// `normalizer` one made from LuceneNormalizerOptions (prefixes); neither is
// owned. Errors: InvalidArgument for bad k, k1 or b (CheckSearchParams), an
// unknown field, a leaf that does not fit its field's type (a range
// outside numeric fields, a non-number on a numeric field, a prefix on a
// numeric field), a prefix of several words or over kMaxPrefixTerms terms
// (values, on a keyword field), more than kMaxQueryTerms distinct terms
// after analysis; NotSupported for a phrase on an index without
// positions; Corruption or IOError from the index.
Result<TopDocs> SearchLucene(const QueryNode& query,
                             const index::IndexReader& reader,
                             index::Analyzer* analyzer,
                             index::Analyzer* normalizer,
                             const SearchParams& params);

// Every live document `query` matches, by the rules above, in ascending
// internal id order: no scores and no k (deletes by query take them all).
// The errors of SearchLucene, less those of k, k1 and b.
Result<std::vector<uint32_t>> MatchLucene(const QueryNode& query,
                                          const index::IndexReader& reader,
                                          index::Analyzer* analyzer,
                                          index::Analyzer* normalizer);

// Analysed words (term, count in the query), each scored over the default
// text fields as an unfielded term leaf is, weighted by its count: the
// plain path of an index with text fields (Searcher::SearchTerms). No
// analysis; the words are distinct. params.algorithm other than exhaustive
// prunes (daat.h) to the same hits and score bits (searcher.h). Errors: bad
// k, k1 or b; Corruption or IOError from the index.
Result<TopDocs> SearchWords(std::span<const std::pair<std::string, uint32_t>> words,
                            const index::IndexReader& reader, const SearchParams& params);
// Every live document holding one of `words` (analysed) in a default text
// field, ascending (Searcher::Match's plain path with text fields).
Result<std::vector<uint32_t>> MatchWords(std::span<const std::string> words,
                                         const index::IndexReader& reader);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_LUCENE_SEARCH_H_
