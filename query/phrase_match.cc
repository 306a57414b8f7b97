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
  // A repeated term's copies take distinct occurrences, and (without loss:
  // swapping two copies' occurrences never widens a window) increasing ones
  // in phrase order. `later[i]`: the copies of term i after it.
  std::vector<std::vector<size_t>> later(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      if (terms[j].term_id == terms[i].term_id) later[i].push_back(j);
    }
  }
  // Restores the order after copy i moved; false when a list runs out.
  auto reorder = [&](size_t i) {
    size_t previous = i;
    for (size_t j : later[i]) {
      const uint32_t floor = terms[previous].positions[at[previous]];
      while (terms[j].positions[at[j]] <= floor) {
        if (++at[j] == terms[j].positions.size()) return false;
      }
      previous = j;
    }
    return true;
  };
  for (size_t i = 0; i < n; ++i) {
    if (!reorder(i)) return 0;
  }
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
    // Advance the lead while it stays at or below the next smallest (and
    // before its later copies): the last such occurrence gives the
    // tightest window ending at `end`.
    const size_t last = terms[lead].positions.size() - 1;
    size_t limit = last;
    if (!later[lead].empty()) {
      const size_t j = later[lead][0];
      const uint32_t bound = terms[j].positions[at[j]];
      while (limit > at[lead] && terms[lead].positions[limit] >= bound) --limit;
    }
    while (at[lead] < limit &&
           int64_t{terms[lead].positions[at[lead] + 1]} - terms[lead].offset <= next) {
      ++at[lead];
    }
    const int64_t start = phrase_pos(lead);
    if (end - start <= slop) {
      freq += 1.0f / static_cast<float>(1 + (end - start));
    }
    // Move past it, keeping the copies in order.
    if (at[lead] == last) break;
    ++at[lead];
    if (!reorder(lead)) break;
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
