// Phrase matching over term positions (index/positions_codec.h): how often
// a document contains a phrase, exactly or within a slop, as Lucene's
// PhraseQuery counts it.
//
// A phrase is its terms with their offsets in the query (the analyzer's
// positions, so a removed stop word leaves its gap: "fox of the woods" is
// fox@0 woods@3). A term occurrence at position p "stands for" phrase
// position p - offset; a match is one choice of an occurrence per term whose
// phrase positions span at most `slop` (max - min), so slop 0 is the exact
// phrase, and with a slop words may also swap places ("b a" is within slop 2
// of "a b"), as in Lucene.
//
// Frequency: slop 0 counts exact occurrences; a sloppy phrase sums
// 1 / (1 + span) over matches found by Lucene's sweep (the occurrence with
// the smallest phrase position is advanced as far as it stays at or below
// the next smallest; each step with span <= slop is one match). A term that
// appears twice in a sloppy phrase must match two different occurrences.
//
// Thread-safety: pure functions.
#ifndef CASCADE_QUERY_PHRASE_MATCH_H_
#define CASCADE_QUERY_PHRASE_MATCH_H_

#include <cstdint>
#include <span>
#include <vector>

namespace cascade::query {

struct PhraseTerm {
  std::span<const uint32_t> positions;  // the term's, in the document, sorted
  uint32_t offset = 0;                  // its position in the phrase
  uint32_t term_id = 0;                 // equal ids: the same term repeated
};

// The phrase frequency in one document (0: no match). Every term must have
// at least one position (a document lacking a term cannot match).
float PhraseFrequency(std::span<const PhraseTerm> terms, uint32_t slop);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_PHRASE_MATCH_H_
