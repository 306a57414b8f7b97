// PhraseFrequency against hand-worked documents and, for match/no-match, a
// brute-force search over every choice of occurrences.
#include "query/phrase_match.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "tests/query/phrase_oracle.h"

namespace cascade::query {
namespace {

using Positions = std::vector<uint32_t>;

float Freq(const std::vector<Positions>& positions,
           const std::vector<uint32_t>& offsets, uint32_t slop,
           std::vector<uint32_t> ids = {}) {
  std::vector<PhraseTerm> terms;
  for (size_t i = 0; i < positions.size(); ++i) {
    terms.push_back({positions[i], offsets[i],
                     ids.empty() ? static_cast<uint32_t>(i) : ids[i]});
  }
  return PhraseFrequency(terms, slop);
}

TEST(PhraseMatchTest, ExactPhrases) {
  // "quick brown": quick@{1,7}, brown@{2,9} -> once, at 1.
  EXPECT_EQ(Freq({{1, 7}, {2, 9}}, {0, 1}, 0), 1.0f);
  // Twice.
  EXPECT_EQ(Freq({{1, 7}, {2, 8}}, {0, 1}, 0), 2.0f);
  // Reversed order is no exact match.
  EXPECT_EQ(Freq({{2}, {1}}, {0, 1}, 0), 0.0f);
  // A gap in the query (a removed stop word): fox@0 woods@3 in the phrase.
  EXPECT_EQ(Freq({{10}, {13}}, {0, 3}, 0), 1.0f);
  EXPECT_EQ(Freq({{10}, {12}}, {0, 3}, 0), 0.0f);
  // Three terms.
  EXPECT_EQ(Freq({{0, 5}, {1, 6}, {2, 8}}, {0, 1, 2}, 0), 1.0f);
  // A missing term never matches.
  EXPECT_EQ(Freq({{0}, {}}, {0, 1}, 3), 0.0f);
}

TEST(PhraseMatchTest, SloppyPhrases) {
  // "a b"~1 on "a x b": span 1 -> 1/2.
  EXPECT_FLOAT_EQ(Freq({{0}, {2}}, {0, 1}, 1), 0.5f);
  EXPECT_EQ(Freq({{0}, {3}}, {0, 1}, 1), 0.0f);
  // Swapped words: "a b" on "b a" needs slop 2 (Lucene's edit distance).
  EXPECT_EQ(Freq({{1}, {0}}, {0, 1}, 1), 0.0f);
  EXPECT_FLOAT_EQ(Freq({{1}, {0}}, {0, 1}, 2), 1.0f / 3.0f);
  // Exact occurrences count 1 each under a slop too.
  EXPECT_FLOAT_EQ(Freq({{0, 10}, {1, 11}}, {0, 1}, 3), 2.0f);
  // A repeated term needs two occurrences: "a a"~2 on one "a" is no match.
  EXPECT_EQ(Freq({{4}, {4}}, {0, 1}, 2, {7, 7}), 0.0f);
  EXPECT_GT(Freq({{4, 6}, {4, 6}}, {0, 1}, 2, {7, 7}), 0.0f);
}

bool BruteMatch(const std::vector<Positions>& positions,
                const std::vector<uint32_t>& offsets, uint32_t slop) {
  std::vector<const std::vector<uint32_t>*> lists;
  std::vector<uint32_t> ids;
  for (const Positions& p : positions) {
    ids.push_back(static_cast<uint32_t>(lists.size()));
    lists.push_back(&p);
  }
  return PhraseWithinSlop(lists, offsets, ids, slop);
}

TEST(PhraseMatchTest, MatchesExactlyWhenSomeWindowFits) {
  std::mt19937 rng(3);
  int matched = 0;
  for (int round = 0; round < 3000; ++round) {
    const size_t n = 2 + rng() % 3;
    std::vector<Positions> positions(n);
    std::vector<uint32_t> offsets;
    for (size_t i = 0; i < n; ++i) {
      offsets.push_back(static_cast<uint32_t>(i + (rng() % 3 == 0 ? 1 : 0) + (i ? offsets.back() : 0)));
      const size_t count = 1 + rng() % 4;
      for (size_t c = 0; c < count; ++c) positions[i].push_back(rng() % 30);
      std::sort(positions[i].begin(), positions[i].end());
      positions[i].erase(std::unique(positions[i].begin(), positions[i].end()),
                         positions[i].end());
    }
    const uint32_t slop = rng() % 5;
    const bool want = BruteMatch(positions, offsets, slop);
    matched += want;
    EXPECT_EQ(Freq(positions, offsets, slop) > 0, want)
        << "round " << round << " slop " << slop;
  }
  EXPECT_GT(matched, 300);  // the cases are not all misses
}

}  // namespace
}  // namespace cascade::query
