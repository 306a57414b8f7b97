// Analyzer: turns UTF-8 text into the terms that the index stores and that
// queries look up.
//
// Documents and queries must go through the same chain, or terms won't match.
// The default chain mirrors Anserini's DefaultEnglishAnalyzer (Lucene's
// StandardTokenizer, LowerCaseFilter, StopFilter with the 33 English stop
// words, PorterStemFilter), so that BM25 runs line up with Anserini's
// published numbers on English collections:
//
//   1. UAX#29 word segmentation (ICU's word BreakIterator). Only segments that
//      contain letters, numbers, kana or ideographs become tokens; spaces and
//      punctuation are dropped. "don't", "3.14" and "u.s.a" stay one token.
//      ASCII runs skip ICU: a scanner of ICU's rules restricted to ASCII
//      finds exactly ICU's tokens there, several times faster.
//      Chinese and Japanese runs are split into words by ICU's dictionary
//      (Lucene instead emits one token per Han ideograph / Hiragana char);
//      Thai, Lao, Khmer and Burmese are split by dictionary too.
//   2. NFKC case folding ("ＡＢＣ" -> "abc", "Straße" -> "strasse"). For
//      ASCII this is plain lowercasing, which is all Lucene does.
//   3. Stop word removal (optional).
//   4. Tokens longer than max_token_bytes after step 2 are dropped.
//   5. Stemming (optional): Lucene's Porter variant by default, or any
//      libstemmer (Snowball) algorithm.
//
// Thread-safety: an Analyzer holds a BreakIterator, a stemmer and a stem
// cache with mutable state, so it is not thread-safe. Use one Analyzer per
// thread; creating one is cheap compared with analysing a corpus. Its stem
// cache grows with the vocabulary it sees, up to 2 MiB.
#ifndef CASCADE_INDEX_ANALYZER_H_
#define CASCADE_INDEX_ANALYZER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::index {

struct AnalyzerOptions {
  // Stemmer applied to each token, or "none" for no stemming. "porter" is
  // Martin Porter's algorithm exactly as Lucene's PorterStemFilter runs it
  // (built in: it departs from the published algorithm that libstemmer's
  // "porter" implements, e.g. "possibly" -> "possibl", "apology" -> "apolog",
  // and words of one or two letters are left alone). Every other name is a
  // Snowball algorithm from libstemmer: "english" (Porter2), "french",
  // "russian", ...; ValidateAnalyzerOptions' error lists them. Default
  // "porter".
  std::string stemmer = "porter";
  // Drop Lucene's 33 default English stop words
  // (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), matched after case folding and
  // before stemming. Default true.
  bool stopwords = true;
  // Tokens longer than this many bytes of UTF-8 after case folding are
  // dropped (not split). Must be > 0. Default 255, Lucene's maximum token
  // length (Lucene counts UTF-16 units and splits instead; see analyzer.cc).
  size_t max_token_bytes = 255;
};

// Returns OK, or InvalidArgument naming each bad field: an unknown stemmer
// (the message lists the valid names) or max_token_bytes == 0.
Status ValidateAnalyzerOptions(const AnalyzerOptions& options);

// The English stop word list that AnalyzerOptions::stopwords removes, in
// alphabetical order. Exposed so that query code can explain dropped terms.
const std::vector<std::string_view>& EnglishStopWords();

class Analyzer {
 public:
  // Validates `options` (errors as ValidateAnalyzerOptions) and builds the
  // ICU and libstemmer objects once. Internal if ICU fails to load its data.
  static Result<std::unique_ptr<Analyzer>> Create(
      const AnalyzerOptions& options);

  ~Analyzer();
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  // Appends the terms of `text`, in text order, to `*terms` (existing
  // entries are kept). `text` is UTF-8; ill-formed bytes are treated as
  // U+FFFD, which separates words and never becomes a term. Never fails.
  // `text` need only live for the duration of the call.
  void Analyze(std::string_view text, std::vector<std::string>* terms);
  // The same, also appending each appended term's position to *positions:
  // the index of its word token in `text` (from 0), counting the tokens
  // that yield no term (stop words, over-long tokens), as Lucene's position
  // increments do, so "the quick fox" gives quick@1 and fox@2 and a phrase
  // query keeps its gaps.
  void Analyze(std::string_view text, std::vector<std::string>* terms,
               std::vector<uint32_t>* positions);

  const AnalyzerOptions& options() const;

 private:
  friend struct AnalyzerTestPeer;  // index/analyzer_internal.h, tests only

  struct Impl;
  explicit Analyzer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_ANALYZER_H_
