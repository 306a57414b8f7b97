// The brute-force phrase check the phrase tests compare against: whether a
// document holds a phrase within a slop, by trying every choice of word
// occurrences. For small documents and phrases only.
#ifndef CASCADE_TESTS_QUERY_PHRASE_ORACLE_H_
#define CASCADE_TESTS_QUERY_PHRASE_ORACLE_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace cascade::query {

// positions[i]: the sorted positions of the phrase's i-th word in the
// document (none: no match); offsets[i]: its position in the phrase;
// ids[i]: equal for a repeated word, whose copies must then take distinct
// occurrences. True when some choice spans at most `slop` phrase positions
// (position - offset), Lucene's slop; slop 0 is the exact phrase.
inline bool PhraseWithinSlop(const std::vector<const std::vector<uint32_t>*>& positions,
                             const std::vector<uint32_t>& offsets,
                             const std::vector<uint32_t>& ids, uint32_t slop) {
  const size_t n = positions.size();
  for (const auto* p : positions) {
    if (p->empty()) return false;
  }
  std::vector<size_t> pick(n, 0);
  while (true) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool distinct = true;
    for (size_t i = 0; i < n; ++i) {
      const int64_t p = int64_t{(*positions[i])[pick[i]]} - offsets[i];
      lo = std::min(lo, p);
      hi = std::max(hi, p);
      for (size_t j = 0; j < i; ++j) {
        distinct &= !(ids[i] == ids[j] && pick[i] == pick[j]);
      }
    }
    if (distinct && hi - lo <= slop) return true;
    size_t i = 0;
    while (i < n && ++pick[i] == positions[i]->size()) pick[i++] = 0;
    if (i == n) return false;
  }
}

}  // namespace cascade::query

#endif  // CASCADE_TESTS_QUERY_PHRASE_ORACLE_H_
