// Tests for index/analyzer.h. Every expected term list below was checked
// against the real ICU 72 / libstemmer 2.2 output, and the English ones
// against what Lucene's StandardTokenizer + PorterStemFilter produce.
#include "index/analyzer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "index/analyzer_internal.h"

namespace cascade::index {
namespace {

using Terms = std::vector<std::string>;

std::unique_ptr<Analyzer> MakeAnalyzer(const AnalyzerOptions& options) {
  Result<std::unique_ptr<Analyzer>> analyzer = Analyzer::Create(options);
  EXPECT_TRUE(analyzer.ok()) << analyzer.status().ToString();
  return std::move(analyzer).value();
}

Terms Analyze(const AnalyzerOptions& options, std::string_view text) {
  Terms terms;
  MakeAnalyzer(options)->Analyze(text, &terms);
  return terms;
}

Terms AnalyzeDefault(std::string_view text) {
  return Analyze(AnalyzerOptions(), text);
}

AnalyzerOptions NoStemming() {
  AnalyzerOptions options;
  options.stemmer = "none";
  return options;
}

// Structural UTF-8 check (lead byte, continuation bytes, no overlongs or
// surrogates), so the test needs no ICU of its own.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

TEST(AnalyzerTest, DefaultChainLowercasesDropsStopWordsAndStems) {
  EXPECT_EQ(AnalyzeDefault("The Quick Brown Foxes are jumping"),
            (Terms{"quick", "brown", "fox", "jump"}));
}

TEST(AnalyzerTest, DefaultOptionsMatchAnserini) {
  AnalyzerOptions options;
  EXPECT_EQ(options.stemmer, "porter");
  EXPECT_TRUE(options.stopwords);
  EXPECT_EQ(options.max_token_bytes, 255u);
  EXPECT_EQ(MakeAnalyzer(options)->options().stemmer, "porter");
}

TEST(AnalyzerTest, PositionsCountDroppedTokens) {
  auto analyzer = MakeAnalyzer(AnalyzerOptions());
  Terms terms;
  std::vector<uint32_t> positions;
  // "the" and "of" are stop words; punctuation takes no position; the
  // 300-letter word is over max_token_bytes and dropped, but counted.
  const std::string long_word(300, 'x');
  analyzer->Analyze("The quick, brown fox of " + long_word + " jumps!", &terms,
                    &positions);
  EXPECT_EQ(terms, (Terms{"quick", "brown", "fox", "jump"}));
  EXPECT_EQ(positions, (std::vector<uint32_t>{1, 2, 3, 6}));
  // Each call starts again at 0; the plain overload records nothing.
  terms.clear();
  positions.clear();
  analyzer->Analyze("fox fox", &terms, &positions);
  EXPECT_EQ(positions, (std::vector<uint32_t>{0, 1}));
  analyzer->Analyze("again", &terms);
  EXPECT_EQ(positions.size(), 2u);
  EXPECT_EQ(terms.size(), 3u);
}

TEST(AnalyzerTest, AppendsAfterExistingTerms) {
  std::unique_ptr<Analyzer> analyzer = MakeAnalyzer(AnalyzerOptions());
  Terms terms = {"kept"};
  analyzer->Analyze("Running dogs", &terms);
  analyzer->Analyze("", &terms);
  analyzer->Analyze("  ,;!? ... ", &terms);
  analyzer->Analyze("cats", &terms);
  EXPECT_EQ(terms, (Terms{"kept", "run", "dog", "cat"}));
}

TEST(AnalyzerTest, ReuseGivesSameTerms) {
  // Buffers and the stem cache are reused between calls; they must not leak
  // state from one text into the next.
  std::unique_ptr<Analyzer> analyzer = MakeAnalyzer(AnalyzerOptions());
  const std::string text = "Relational databases: conditional generalizations";
  Terms first, second;
  analyzer->Analyze(text, &first);
  analyzer->Analyze("a completely different text about Москва", &second);
  second.clear();
  analyzer->Analyze(text, &second);
  EXPECT_EQ(first, (Terms{"relat", "databas", "condit", "gener"}));
  EXPECT_EQ(first, second);
}

TEST(AnalyzerTest, StemCacheOverflowKeepsStemsRight) {
  // Enough distinct words that the stem cache grows (dropping its contents
  // each time) and evicts entries (50000 words in 32768 sets of two slots
  // at most); stems must equal those of analyzers that never fill it.
  std::vector<std::string> words;
  for (int i = 0; i < 50000; ++i) {
    std::string word = "re";
    for (int n = i; n > 0; n /= 20)
      word.push_back(static_cast<char>('a' + n % 20));
    word += (i % 3 == 0) ? "ational" : (i % 3 == 1) ? "izing" : "fulness";
    words.push_back(word);
  }
  std::unique_ptr<Analyzer> long_lived = MakeAnalyzer(AnalyzerOptions());
  Terms all;
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& word : words) long_lived->Analyze(word, &all);
  }
  ASSERT_EQ(all.size(), 2 * words.size());
  Terms expected;
  for (size_t i = 0; i < words.size(); i += 10000) {
    std::unique_ptr<Analyzer> fresh = MakeAnalyzer(AnalyzerOptions());
    for (size_t k = i; k < i + 10000; ++k) fresh->Analyze(words[k], &expected);
  }
  for (size_t i = 0; i < words.size(); ++i) {
    ASSERT_EQ(all[i], expected[i]) << words[i];
    ASSERT_EQ(all[words.size() + i], expected[i]) << words[i];
  }
}

TEST(AnalyzerTest, StopWordsCanBeKept) {
  AnalyzerOptions options;
  options.stopwords = false;
  // Porter stems "are" to "ar", as Lucene's PorterStemFilter does.
  EXPECT_EQ(Analyze(options, "The Quick Brown Foxes are jumping"),
            (Terms{"the", "quick", "brown", "fox", "ar", "jump"}));
}

TEST(AnalyzerTest, AllThirtyThreeLuceneStopWordsAreRemoved) {
  const std::vector<std::string_view>& words = EnglishStopWords();
  ASSERT_EQ(words.size(), 33u);
  std::string lower, upper;
  for (std::string_view w : words) {
    lower.append(w).append(" ");
    for (char c : w) upper.push_back(static_cast<char>(c - 'a' + 'A'));
    upper.append(", ");
  }
  EXPECT_EQ(AnalyzeDefault(lower), Terms{});
  EXPECT_EQ(AnalyzeDefault(upper), Terms{});

  AnalyzerOptions keep = NoStemming();
  keep.stopwords = false;
  Terms kept = Analyze(keep, upper);
  EXPECT_EQ(kept, Terms(words.begin(), words.end()));
  // Stop words are matched whole, not as prefixes.
  EXPECT_EQ(Analyze(NoStemming(), "theory anti them"),
            (Terms{"theory", "anti", "them"}));
}

TEST(AnalyzerTest, StemmerChoice) {
  AnalyzerOptions porter;
  AnalyzerOptions english;
  english.stemmer = "english";
  const char* text = "generalizations running ponies possibly are";
  // Porter: ization->ize, alize->al, then al is dropped (m > 1) -> "gener".
  EXPECT_EQ(Analyze(porter, text), (Terms{"gener", "run", "poni", "possibl"}));
  EXPECT_EQ(Analyze(english, text),
            (Terms{"general", "run", "poni", "possibl"}));
  EXPECT_EQ(Analyze(NoStemming(), text),
            (Terms{"generalizations", "running", "ponies", "possibly"}));

  porter.stopwords = english.stopwords = false;
  EXPECT_EQ(Analyze(porter, "are"), Terms{"ar"});
  EXPECT_EQ(Analyze(english, "are"), Terms{"are"});
}

TEST(AnalyzerTest, PorterMatchesPortersPaperExamples) {
  AnalyzerOptions options;
  options.stopwords = false;
  // Word/stem pairs from Porter (1980), "An algorithm for suffix stripping".
  const std::pair<const char*, const char*> kPairs[] = {
      {"caresses", "caress"},
      {"ponies", "poni"},
      {"ties", "ti"},
      {"cats", "cat"},
      {"feed", "feed"},
      {"agreed", "agre"},
      {"plastered", "plaster"},
      {"bled", "bled"},
      {"motoring", "motor"},
      {"sing", "sing"},
      {"conflated", "conflat"},
      {"troubled", "troubl"},
      {"sized", "size"},
      {"hopping", "hop"},
      {"tanned", "tan"},
      {"falling", "fall"},
      {"hissing", "hiss"},
      {"fizzed", "fizz"},
      {"failing", "fail"},
      {"filing", "file"},
      {"happy", "happi"},
      {"sky", "sky"},
      {"relational", "relat"},
      {"conditional", "condit"},
      {"rational", "ration"},
      {"valenci", "valenc"},
      {"digitizer", "digit"},
      {"conformabli", "conform"},
      {"radicalli", "radic"},
      {"vileli", "vile"},
      {"vietnamization", "vietnam"},
      {"predication", "predic"},
      {"operator", "oper"},
      {"feudalism", "feudal"},
      {"decisiveness", "decis"},
      {"hopefulness", "hope"},
      {"callousness", "callous"},
      {"sensibiliti", "sensibl"},
      {"triplicate", "triplic"},
      {"formative", "form"},
      {"electrical", "electr"},
      {"goodness", "good"},
      {"revival", "reviv"},
      {"allowance", "allow"},
      {"inference", "infer"},
      {"airliner", "airlin"},
      {"gyroscopic", "gyroscop"},
      {"adjustable", "adjust"},
      {"defensible", "defens"},
      {"irritant", "irrit"},
      {"replacement", "replac"},
      {"adjustment", "adjust"},
      {"dependent", "depend"},
      {"adoption", "adopt"},
      {"homologous", "homolog"},
      {"communism", "commun"},
      {"activate", "activ"},
      {"effective", "effect"},
      {"bowdlerize", "bowdler"},
      {"probate", "probat"},
      {"rate", "rate"},
      {"cease", "ceas"},
      {"controll", "control"},
      {"roll", "roll"},
      // ization -> ize, alize -> al, then -al goes (m > 1).
      {"generalizations", "gener"}};
  std::unique_ptr<Analyzer> analyzer = MakeAnalyzer(options);
  for (const auto& [word, stem] : kPairs) {
    Terms terms;
    analyzer->Analyze(word, &terms);
    EXPECT_EQ(terms, Terms{stem}) << word;
  }
}

TEST(AnalyzerTest, PorterFollowsLuceneWhereItDepartsFromThePaper) {
  // Lucene's PorterStemmer (Porter's reference code) differs from Snowball's
  // "porter", which gives "possibli", "apologi", "u" and "" for these.
  AnalyzerOptions options;
  options.stopwords = false;
  EXPECT_EQ(Analyze(options, "possibly probably apology biology biological"),
            (Terms{"possibl", "probabl", "apolog", "biologi", "biolog"}));
  EXPECT_EQ(Analyze(options, "us s as is"), (Terms{"us", "s", "as", "is"}));
  // Non-ASCII letters are consonants, one per UTF-16 unit as in Lucene.
  EXPECT_EQ(Analyze(options, "cafés naïvely"), (Terms{"café", "naïv"}));
}

TEST(AnalyzerTest, NumbersStayWhole) {
  // UAX#29 keeps "." and "," between digits inside a number.
  EXPECT_EQ(AnalyzeDefault("In 1984 pi was 3.14, and 1,000.5 units"),
            (Terms{"1984", "pi", "3.14", "1,000.5", "unit"}));
}

TEST(AnalyzerTest, WordInternalPunctuationFollowsUax29) {
  AnalyzerOptions options = NoStemming();
  // Apostrophes (ASCII and U+2019) and periods between letters join; hyphens
  // split; underscore joins (ExtendNumLet).
  EXPECT_EQ(Analyze(options, "Don't Don\u2019t U.S.A. wi-fi foo_bar"),
            (Terms{"don't", "don\u2019t", "u.s.a", "wi", "fi", "foo_bar"}));
  // Surprise relative to Lucene's StandardTokenizer ("foo", "bar.com"): ICU's
  // root rules keep an e-mail-like word whole.
  EXPECT_EQ(Analyze(options, "foo@bar.com"), Terms{"foo@bar.com"});
  EXPECT_EQ(Analyze(options, "http://x.org/a?b=c"),
            (Terms{"http", "x.org", "b", "c"}));
}

// The ASCII fast path (a hand-written UAX#29 scanner) must give exactly the
// word tokens of ICU's BreakIterator. Spans are compared directly, and whole
// analysis (terms and positions) against an analyzer forced onto ICU.

std::string SpansToString(std::string_view text,
                          const std::vector<WordSpan>& spans) {
  std::string out;
  for (const WordSpan& span : spans) {
    out.append("[")
        .append(text.substr(span.begin, span.end - span.begin))
        .append("]");
  }
  return out;
}

// Checks one text; returns false (after reporting) on a difference.
bool AsciiSpansMatchIcu(Analyzer& analyzer, std::string_view text) {
  std::vector<WordSpan> fast = AnalyzerTestPeer::TEST_AsciiWordSpans(text);
  std::vector<WordSpan> icu =
      AnalyzerTestPeer::TEST_IcuWordSpans(analyzer, text);
  if (fast == icu) return true;
  ADD_FAILURE() << "text " << testing::PrintToString(std::string(text))
                << "\n  fast path: " << SpansToString(text, fast)
                << "\n  ICU:       " << SpansToString(text, icu);
  return false;
}

TEST(AnalyzerTest, AsciiFastPathSegmentsLikeIcu) {
  std::unique_ptr<Analyzer> analyzer = MakeAnalyzer(AnalyzerOptions());
  size_t cases = 0;
  // Every ASCII string of one or two chars.
  for (int a = 0; a < 128; ++a) {
    std::string one(1, static_cast<char>(a));
    ASSERT_TRUE(AsciiSpansMatchIcu(*analyzer, one));
    ++cases;
    for (int b = 0; b < 128; ++b) {
      ASSERT_TRUE(AsciiSpansMatchIcu(*analyzer, one + static_cast<char>(b)));
      ++cases;
    }
  }
  // Every string of three and four chars over one or two members of each
  // word-break class that matters (letters of both cases, '@', digits,
  // '_', the Mid* chars '.' '\'' ',' ';' and ':', spaces, CR, LF, '"', '-'
  // and NUL).
  const std::string classes("aZ@1_.',;: \t\r\n\"-", 16);
  const std::string alphabet = classes + std::string(1, '\0');
  const size_t k = alphabet.size();
  for (size_t length = 3; length <= 4; ++length) {
    size_t total = 1;
    for (size_t i = 0; i < length; ++i) total *= k;
    std::string text(length, ' ');
    for (size_t n = 0; n < total; ++n) {
      for (size_t i = 0, rest = n; i < length; ++i, rest /= k) {
        text[i] = alphabet[rest % k];
      }
      ASSERT_TRUE(AsciiSpansMatchIcu(*analyzer, text));
      ++cases;
    }
  }
  // Random strings up to 64 chars, mostly from the tricky chars, sometimes
  // any ASCII byte.
  std::mt19937 rng(29);
  const std::string tricky = "abcxyzAEIOUY@0123456789._',;:-  \t\r\n\"`#/()!?";
  std::uniform_int_distribution<size_t> pick(0, tricky.size() - 1);
  std::uniform_int_distribution<size_t> length(0, 64);
  std::uniform_int_distribution<int> any_ascii(0, 127);
  std::uniform_int_distribution<int> percent(0, 99);
  for (int i = 0; i < 100000; ++i) {
    std::string text;
    for (size_t n = length(rng); n > 0; --n) {
      text.push_back(percent(rng) < 10 ? static_cast<char>(any_ascii(rng))
                                       : tricky[pick(rng)]);
    }
    ASSERT_TRUE(AsciiSpansMatchIcu(*analyzer, text));
    ++cases;
  }
  EXPECT_EQ(cases, 128u + 128u * 128u + 17u * 17u * 17u * (1u + 17u) + 100000u);
}

TEST(AnalyzerTest, AsciiFastPathEdgeCases) {
  // Checked against ICU 72 by hand, and each through both paths.
  AnalyzerOptions options = NoStemming();
  options.stopwords = false;
  const std::string text =
      "u.s.a. 3.14 1,000.5 a1.b 1a.b _ __ a_1 can't' 'quoted' foo@bar.com "
      "a:b 1;2 a;b a.1 -x- 1,,2 a..b";
  const Terms expected = {
      "u.s.a", "3.14",   "1,000.5",     "a1", "b", "1a.b", "__", "a_1",
      "can't", "quoted", "foo@bar.com", "a",  "b", "1;2",  "a",  "b",
      "a",     "1",      "x",           "1",  "2", "a",    "b"};
  std::unique_ptr<Analyzer> fast = MakeAnalyzer(options);
  std::unique_ptr<Analyzer> icu = MakeAnalyzer(options);
  AnalyzerTestPeer::TEST_SetIcuOnly(*icu, true);
  Terms fast_terms, icu_terms;
  fast->Analyze(text, &fast_terms);
  icu->Analyze(text, &icu_terms);
  EXPECT_EQ(fast_terms, expected);
  EXPECT_EQ(icu_terms, expected);
}

// Random texts of words (stop words, words to stem, mixed case, numbers,
// over-long words, tricky punctuation) between random separators, with
// non-ASCII snippets mixed in: some texts pure ASCII (fast path only), some
// mixed (the fast path hands runs around the non-ASCII bytes to ICU).
std::string RandomText(std::mt19937& rng, bool with_non_ascii) {
  // Words of 23 and 24 letters straddle the stem cache's key limit; 300
  // letters is over max_token_bytes.
  static const std::vector<std::string> kWords = [] {
    std::vector<std::string> words = {"the",
                                      "The",
                                      "THE",
                                      "a",
                                      "of",
                                      "and",
                                      "to",
                                      "Their",
                                      "there",
                                      "is",
                                      "running",
                                      "Runs",
                                      "generalizations",
                                      "ponies",
                                      "possibly",
                                      "caresses",
                                      "relational",
                                      "hopping",
                                      "sky",
                                      "Skies",
                                      "u.s.a",
                                      "U.S.A.",
                                      "can't",
                                      "don't",
                                      "3.14",
                                      "1,000.5",
                                      "1;2",
                                      "a1",
                                      "b2c",
                                      "foo_bar",
                                      "_",
                                      "__",
                                      "foo@bar.com",
                                      "x.org",
                                      "Antidisestablishmentarianism",
                                      "ok",
                                      "I",
                                      "internationalizations",
                                      "fOx",
                                      "jumping",
                                      "e.g",
                                      "a.b.c",
                                      "it's",
                                      "rock'n'roll",
                                      "12",
                                      "7"};
    words.push_back(std::string(23, 'q'));
    words.push_back("Relationalizationalizing");
    words.push_back(std::string(300, 'z'));
    return words;
  }();
  static const std::vector<std::string> kSeparators = {
      " ",    " ",  " ", "  ", ", ", ". ", "; ", ": ", "\n",
      "\r\n", "\t", "-", "'",  "\"", "(",  ") ", "/",  ".",
      ",",    ";",  ":", "_",  "@",  "!",  "?",  ""};
  static const std::vector<std::string> kNonAscii = {
      "caf\u00e9",     "\u041c\u043e\u0441\u043a\u0432\u0430",
      "\u2019",        "\u0301",
      " \u0301",       "\u00a0",
      "\u4e2d\u6587",  "\U0001F600",
      "\xFF",          "\xC3",
      "\u00c9t\u00e9", "na\u00efve",
      "\u00df",        "\uFF21\uFF22",
      "\u200d",        "\u00ad"};
  std::uniform_int_distribution<size_t> words(0, 60);
  std::uniform_int_distribution<int> percent(0, 99);
  std::string text;
  for (size_t n = words(rng); n > 0; --n) {
    if (with_non_ascii && percent(rng) < 8) {
      text += kNonAscii[rng() % kNonAscii.size()];
    }
    text += kWords[rng() % kWords.size()];
    text += kSeparators[rng() % kSeparators.size()];
  }
  return text;
}

TEST(AnalyzerTest, AsciiFastPathTermsAndPositionsMatchIcu) {
  AnalyzerOptions plain = NoStemming();
  plain.stopwords = false;
  AnalyzerOptions short_tokens;
  short_tokens.max_token_bytes = 6;
  AnalyzerOptions snowball;
  snowball.stemmer = "english";
  size_t cases = 0;
  for (const AnalyzerOptions& options :
       {AnalyzerOptions(), plain, short_tokens, snowball}) {
    std::unique_ptr<Analyzer> fast = MakeAnalyzer(options);
    std::unique_ptr<Analyzer> icu = MakeAnalyzer(options);
    AnalyzerTestPeer::TEST_SetIcuOnly(*icu, true);
    std::mt19937 rng(7);
    for (int i = 0; i < 5000; ++i) {
      const std::string text = RandomText(rng, i % 2 == 1);
      Terms fast_terms, icu_terms;
      std::vector<uint32_t> fast_positions, icu_positions;
      fast->Analyze(text, &fast_terms, &fast_positions);
      icu->Analyze(text, &icu_terms, &icu_positions);
      ASSERT_EQ(fast_terms, icu_terms) << testing::PrintToString(text);
      ASSERT_EQ(fast_positions, icu_positions) << testing::PrintToString(text);
      ++cases;
    }
  }
  EXPECT_EQ(cases, 20000u);
}

TEST(AnalyzerTest, CyrillicIsLowercasedAndStemmedByRussian) {
  EXPECT_EQ(Analyze(NoStemming(), "Москва столица России"),
            (Terms{"москва", "столица", "россии"}));
  // Porter only knows a-z, so it leaves Cyrillic alone.
  EXPECT_EQ(AnalyzeDefault("Москва столица России"),
            (Terms{"москва", "столица", "россии"}));
  AnalyzerOptions russian;
  russian.stemmer = "russian";
  EXPECT_EQ(Analyze(russian, "Москва столица России"),
            (Terms{"москв", "столиц", "росс"}));
}

TEST(AnalyzerTest, ArabicGreekAndAccentedLatin) {
  AnalyzerOptions options = NoStemming();
  EXPECT_EQ(Analyze(options, "مرحبا بالعالم"), (Terms{"مرحبا", "بالعالم"}));
  // Case folding maps final sigma to sigma; accents stay.
  EXPECT_EQ(Analyze(options, "Η Αθήνα ΟΔΥΣΣΕΥΣ"),
            (Terms{"η", "αθήνα", "οδυσσευσ"}));
  EXPECT_EQ(Analyze(options, "Café NAÏVE résumé"),
            (Terms{"café", "naïve", "résumé"}));
}

TEST(AnalyzerTest, ChineseIsSplitIntoDictionaryWords) {
  // ICU groups Han into dictionary words; Lucene would emit one token per
  // ideograph. Either way every character must be covered.
  const std::string text = "北京是中国的首都";
  Terms terms = AnalyzeDefault(text);
  EXPECT_EQ(terms, (Terms{"北京", "是", "中国", "的", "首都"}));
  std::string joined;
  for (const std::string& t : terms) joined += t;
  EXPECT_EQ(joined, text);
}

TEST(AnalyzerTest, JapaneseKanjiKanaAndKatakanaAreKept) {
  Terms terms = AnalyzeDefault("東京は日本の首都です。カタカナ");
  EXPECT_EQ(terms,
            (Terms{"東京", "は", "日本", "の", "首都", "です", "カタカナ"}));
}

TEST(AnalyzerTest, HangulAndThai) {
  // Hangul is ALetter in UAX#29: whitespace-delimited words stay whole.
  EXPECT_EQ(AnalyzeDefault("한국어 텍스트입니다"),
            (Terms{"한국어", "텍스트입니다"}));
  // Thai has no spaces between words; ICU splits it by dictionary.
  EXPECT_EQ(AnalyzeDefault("ภาษาไทยง่ายนิดเดียว"),
            (Terms{"ภาษา", "ไทย", "ง่าย", "นิด", "เดียว"}));
}

TEST(AnalyzerTest, NfkcCaseFolding) {
  AnalyzerOptions options = NoStemming();
  EXPECT_EQ(Analyze(options, "ＡＢＣ"), Terms{"abc"});
  EXPECT_EQ(Analyze(options, "Straße"), Terms{"strasse"});
  EXPECT_EQ(Analyze(options, "\uFB01sh"), Terms{"fish"});  // "ﬁ" ligature
  // A soft hyphen is part of the word for UAX#29 and removed by folding.
  EXPECT_EQ(Analyze(options, "co\u00ADoperate"), Terms{"cooperate"});
  // Folding happens before stemming and stop words.
  EXPECT_EQ(AnalyzeDefault("Straße"), Terms{"strass"});
  EXPECT_EQ(AnalyzeDefault("ＴＨＥ Ｆｏｘｅｓ"), Terms{"fox"});
}

TEST(AnalyzerTest, SymbolsAndEmojiAreNotTerms) {
  EXPECT_EQ(AnalyzeDefault("I \u2764\uFE0F emoji \U0001F600 ok +-*/ $ % &"),
            (Terms{"i", "emoji", "ok"}));
}

TEST(AnalyzerTest, InvalidUtf8SeparatesWordsAndNeverLeaksIntoTerms) {
  AnalyzerOptions options = NoStemming();
  // Stray continuation byte, truncated 3-byte and 4-byte sequences, an
  // overlong encoding and a lone 0xFF.
  EXPECT_EQ(Analyze(options,
                    "abc\xFF"
                    "def"),
            (Terms{"abc", "def"}));
  EXPECT_EQ(Analyze(options, "x\x80y \xE4\xB8 z"), (Terms{"x", "y", "z"}));
  EXPECT_EQ(Analyze(options, "caf\xC3\xA9\xC3"), Terms{"café"});
  EXPECT_EQ(Analyze(options,
                    "\xF0\x9F\x98"
                    "x \xC0\xAF"
                    "y"),
            (Terms{"x", "y"}));
  EXPECT_EQ(Analyze(options, "\xC3"), Terms{});

  // Random bytes, biased towards UTF-8 lead and continuation bytes and
  // letters: nothing crashes, and every term is valid UTF-8.
  std::unique_ptr<Analyzer> analyzer = MakeAnalyzer(AnalyzerOptions());
  std::mt19937 rng(42);
  const std::string alphabet = "aZ9 .'\x80\xBF\xC3\xA9\xE4\xB8\xAD\xF0\x9F\xFF";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<size_t> length(0, 64);
  std::uniform_int_distribution<int> any_byte(0, 255);
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    size_t n = length(rng);
    for (size_t k = 0; k < n; ++k) {
      text.push_back(i % 2 ? alphabet[pick(rng)]
                           : static_cast<char>(any_byte(rng)));
    }
    Terms terms;
    analyzer->Analyze(text, &terms);
    for (const std::string& t : terms) {
      ASSERT_FALSE(t.empty()) << testing::PrintToString(text);
      ASSERT_TRUE(IsValidUtf8(t)) << "term from random text #" << i;
    }
  }
}

TEST(AnalyzerTest, OverlongTokensAreDropped) {
  Terms terms =
      AnalyzeDefault(std::string(255, 'x') + " ok " + std::string(256, 'y'));
  EXPECT_EQ(terms, (Terms{std::string(255, 'x'), "ok"}));

  AnalyzerOptions options = NoStemming();
  options.max_token_bytes = 5;
  EXPECT_EQ(Analyze(options, "abcde abcdef"), Terms{"abcde"});
  // "éée" is 5 bytes, "ééé" 6.
  EXPECT_EQ(Analyze(options, "éée ééé"), Terms{"éée"});

  // The limit applies after folding: full-width "ＡＢＣ" is 9 bytes as
  // written but "abc" after it.
  options.max_token_bytes = 3;
  EXPECT_EQ(Analyze(options, "ＡＢＣ ＡＢＣＤ"), Terms{"abc"});
}

TEST(AnalyzerTest, UnknownStemmerIsInvalidArgument) {
  AnalyzerOptions options;
  options.stemmer = "klingon";
  Status status = ValidateAnalyzerOptions(options);
  EXPECT_TRUE(status.IsInvalidArgument());
  EXPECT_NE(status.message().find("klingon"), std::string::npos);
  // The message lists what would have worked.
  EXPECT_NE(status.message().find("porter"), std::string::npos);
  EXPECT_NE(status.message().find("none"), std::string::npos);

  Result<std::unique_ptr<Analyzer>> analyzer = Analyzer::Create(options);
  ASSERT_FALSE(analyzer.ok());
  EXPECT_TRUE(analyzer.status().IsInvalidArgument());
  EXPECT_NE(analyzer.status().message().find("klingon"), std::string::npos);
}

TEST(AnalyzerTest, ZeroMaxTokenBytesIsInvalidArgument) {
  AnalyzerOptions options;
  options.max_token_bytes = 0;
  Status status = ValidateAnalyzerOptions(options);
  EXPECT_TRUE(status.IsInvalidArgument());
  EXPECT_NE(status.message().find("max_token_bytes"), std::string::npos);
}

TEST(AnalyzerTest, EveryListedStemmerCanBeCreated) {
  for (const char* name : {"none", "porter", "english", "french", "german",
                           "russian", "arabic", "greek", "spanish"}) {
    AnalyzerOptions options;
    options.stemmer = name;
    EXPECT_TRUE(ValidateAnalyzerOptions(options).ok()) << name;
    EXPECT_TRUE(Analyzer::Create(options).ok()) << name;
  }
  AnalyzerOptions french;
  french.stemmer = "french";
  EXPECT_EQ(Analyze(french, "continuellement"), Terms{"continuel"});
}

}  // namespace
}  // namespace cascade::index
