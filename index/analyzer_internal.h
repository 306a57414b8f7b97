// Test-only hooks into index/analyzer.cc; not part of the library's API.
//
// The analyzer segments ASCII text with its own scanner rather than ICU's
// word BreakIterator, and must give exactly ICU's tokens. These hooks let a
// differential test run both and compare (AnalyzerTest in
// tests/index/analyzer_test.cc).
#ifndef CASCADE_INDEX_ANALYZER_INTERNAL_H_
#define CASCADE_INDEX_ANALYZER_INTERNAL_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "index/analyzer.h"

namespace cascade::index {

// One word token of a text: bytes [begin, end).
struct WordSpan {
  size_t begin;
  size_t end;
  bool operator==(const WordSpan&) const = default;
};

struct AnalyzerTestPeer {
  // The word tokens of the ASCII `text` as the fast path finds them.
  static std::vector<WordSpan> TEST_AsciiWordSpans(std::string_view text);
  // The word tokens of `text` as ICU finds them: the segments of the word
  // BreakIterator of `analyzer` whose rule status is >= UBRK_WORD_NONE_LIMIT.
  // `text` must be shorter than 2 GiB.
  static std::vector<WordSpan> TEST_IcuWordSpans(Analyzer& analyzer,
                                                 std::string_view text);
  // With `icu_only`, `analyzer` segments all text with ICU, ASCII included,
  // as it did before the fast path: the reference to compare against.
  static void TEST_SetIcuOnly(Analyzer& analyzer, bool icu_only);
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_ANALYZER_INTERNAL_H_
