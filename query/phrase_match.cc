#include "query/phrase_match.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace cascade::query {
namespace {

float ExactFrequency(std::span<const PhraseTerm> terms) {
  // Walk the first term's occurrences; every other term's cursor only moves
  // forward, since the phrase starts increase.
  std::vector<size_t> at(terms.size(), 0);
  float freq = 0;
  for (uint32_t p0 : terms[0].positions) {
    const int64_t start = int64_t{p0} - terms[0].offset;
    bool all = true;
    for (size_t i = 1; i < terms.size() && all; ++i) {
      const int64_t want = start + terms[i].offset;
      const std::span<const uint32_t> p = terms[i].positions;
      while (at[i] < p.size() && int64_t{p[at[i]]} < want) ++at[i];
      if (at[i] == p.size()) return freq;  // no later start can match
      all = int64_t{p[at[i]]} == want;
    }
    if (all) freq += 1;
  }
  return freq;
}

float SloppyFrequency(std::span<const PhraseTerm> terms, uint32_t slop) {
  const size_t n = terms.size();
  std::vector<size_t> at(n, 0);
  auto phrase_pos = [&](size_t i) {
    return int64_t{terms[i].positions[at[i]]} - terms[i].offset;
  };
  // Repeated terms must not share an occurrence.
  auto collides = [&]() {
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = i + 1; j < n; ++j) {
        if (terms[i].term_id == terms[j].term_id &&
            terms[i].positions[at[i]] == terms[j].positions[at[j]]) {
          return true;
        }
      }
    }
    return false;
  };
  float freq = 0;
  while (true) {
    // The occurrence with the smallest phrase position, the next smallest,
    // and the largest.
    size_t lead = 0;
    int64_t end = std::numeric_limits<int64_t>::min();
    for (size_t i = 0; i < n; ++i) {
      if (phrase_pos(i) < phrase_pos(lead)) lead = i;
      end = std::max(end, phrase_pos(i));
    }
    int64_t next = std::numeric_limits<int64_t>::max();
    for (size_t i = 0; i < n; ++i) {
      if (i != lead) next = std::min(next, phrase_pos(i));
    }
    // Advance the lead while it stays at or below the next smallest: the
    // last such occurrence gives the tightest window.
    bool exhausted = false;
    int64_t start = phrase_pos(lead);
    while (true) {
      start = phrase_pos(lead);
      if (at[lead] + 1 == terms[lead].positions.size()) {
        exhausted = true;
        break;
      }
      ++at[lead];
      if (phrase_pos(lead) > next) break;
    }
    // `start` is the lead's chosen occurrence; the window is [start, end].
    if (!exhausted) --at[lead];  // evaluate at the chosen occurrence
    if (end - start <= slop && !collides()) {
      freq += 1.0f / static_cast<float>(1 + (end - start));
    }
    if (exhausted) break;
    ++at[lead];  // move past it
  }
  return freq;
}

}  // namespace

float PhraseFrequency(std::span<const PhraseTerm> terms, uint32_t slop) {
  if (terms.empty()) return 0;
  for (const PhraseTerm& t : terms) {
    if (t.positions.empty()) return 0;
  }
  if (terms.size() == 1) return static_cast<float>(terms[0].positions.size());
  if (slop == 0) return ExactFrequency(terms);
  return SloppyFrequency(terms, slop);
}

}  // namespace cascade::query
