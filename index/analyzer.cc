#include "index/analyzer.h"

#include <libstemmer.h>
#include <unicode/brkiter.h>
#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/ubrk.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <unordered_map>
#include <utility>

// Where this chain differs from Anserini's Lucene chain (all of it outside
// ASCII text except the last point, so English BM25 is unaffected):
//  - Lucene's StandardTokenizer emits one token per Han ideograph and per
//    Hiragana char, and one token per run of Thai/Lao/Khmer/Burmese. ICU's
//    root word BreakIterator splits all of these into dictionary words. We
//    keep ICU's behaviour: it needs no extra code, and since queries go
//    through the same chain, terms still match.
//  - Lucene emits emoji as tokens; ICU gives them rule status
//    UBRK_WORD_NONE, so we drop them with the punctuation.
//  - LowerCaseFilter only lowercases; we apply NFKC_Casefold, which also
//    folds compatibility forms (full-width Latin, ligatures) and ß -> ss.
//  - Lucene splits a token longer than 255 UTF-16 units into pieces; we
//    drop tokens over max_token_bytes UTF-8 bytes, as specified.

namespace cascade::index {
namespace {

constexpr std::string_view kNoStemmer = "none";
// Lucene's Porter variant, built in (see PorterWord); libstemmer's "porter"
// is the published algorithm and is not used.
constexpr std::string_view kPorter = "porter";

// Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, sorted so that
// IsStopWord can binary-search it.
constexpr std::string_view kStopWords[] = {
    "a",    "an",   "and",  "are",  "as",   "at",    "be",   "but",   "by",
    "for",  "if",   "in",   "into", "is",   "it",    "no",   "not",   "of",
    "on",   "or",   "such", "that", "the",  "their", "then", "there", "these",
    "they", "this", "to",   "was",  "will", "with"};
constexpr size_t kMaxStopWordBytes = 5;
static_assert(std::is_sorted(std::begin(kStopWords), std::end(kStopWords)));
static_assert(std::size(kStopWords) == 33);
static_assert(std::all_of(std::begin(kStopWords), std::end(kStopWords),
                          [](std::string_view w) {
                            return w.size() <= kMaxStopWordBytes;
                          }));

// BreakIterator reports boundaries as int32_t, so each piece handed to ICU
// must stay below 2 GiB. Larger texts are cut at whitespace into pieces of
// at most this size.
constexpr size_t kMaxChunkBytes = size_t{1} << 30;

// Bounds the stem cache of each Analyzer to a few MiB.
constexpr size_t kMaxCachedStems = size_t{1} << 15;

// Lets the stem cache be probed with a string_view, without building a key.
struct TermHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>()(s);
  }
};

// Martin Porter's stemmer exactly as Lucene's PorterStemmer (and so
// PorterStemFilter) runs it. That class follows Porter's reference "Release
// 3" code, which departs from the published algorithm that Snowball's
// "porter" implements in three places:
//  - words of one or two chars are never stemmed ("us" stays "us", where
//    Snowball gives "u", and "s" stays "s", where Snowball gives "");
//  - step 2 maps -bli to -ble (published: -abli to -able), so "possibly"
//    becomes "possibl" rather than "possibli";
//  - step 2 also maps -logi to -log (when m > 0), so "apology" becomes
//    "apolog" rather than "apologi";
//  - (a consequence of its plain double-consonant test) -yy, -hh, -ww etc.
//    lose a letter before -ed/-ing too, where Snowball only undoubles
//    bb dd ff gg mm nn pp rr tt.
// A differential run against libstemmer's "porter" over 475k synthetic
// words differed only in words touched by these departures.
// Anserini's BM25 numbers come from this variant, hence our own copy.
// Lucene runs it on UTF-16 units; any unit other than a, e, i, o, u (and y
// after a consonant) is a consonant. CharT is char for ASCII words and
// char16_t for the rest, which reproduces those semantics exactly.
struct PorterRule {
  std::string_view suffix;
  std::string_view replacement;
};

// Rules within a step are tried in order and the first matching suffix
// decides, even if its measure condition then fails. Lucene's code switches
// on one letter first, but two suffixes that can match the same word always
// share that letter, so a flat first-match list behaves the same.
constexpr PorterRule kPorterStep2[] = {
    {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"},
    {"anci", "ance"},   {"izer", "ize"},    {"bli", "ble"},
    {"alli", "al"},     {"entli", "ent"},   {"eli", "e"},
    {"ousli", "ous"},   {"ization", "ize"}, {"ation", "ate"},
    {"ator", "ate"},    {"alism", "al"},    {"iveness", "ive"},
    {"fulness", "ful"}, {"ousness", "ous"}, {"aliti", "al"},
    {"iviti", "ive"},   {"biliti", "ble"},  {"logi", "log"}};
constexpr PorterRule kPorterStep3[] = {
    {"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"},
    {"ical", "ic"},  {"ful", ""},   {"ness", ""}};
constexpr std::string_view kPorterStep4[] = {
    "al",  "ance", "ence", "er",  "ic",  "able", "ible", "ant", "ement", "ment",
    "ent", "ion",  "ou",   "ism", "ate", "iti",  "ous",  "ive", "ize"};

template <typename CharT>
class PorterWord {
 public:
  // Stems chars[0, length) in place. No rule lengthens a word beyond its
  // original length, so the buffer never grows.
  PorterWord(CharT* chars, size_t length)
      : b_(chars), k_(static_cast<int>(length) - 1) {}

  // Returns the length of the stem.
  size_t Stem() {
    if (k_ > 1) {
      Step1ab();
      Step1c();
      ApplyFirstRule(kPorterStep2);
      ApplyFirstRule(kPorterStep3);
      Step4();
      Step5();
    }
    return static_cast<size_t>(k_ + 1);
  }

 private:
  bool IsConsonant(int i) const {
    switch (b_[i]) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        return false;
      case 'y':
        return i == 0 || !IsConsonant(i - 1);
      default:
        return true;
    }
  }

  // Porter's m: the number of vowel-to-consonant transitions in b_[0, j_].
  int Measure() const {
    int m = 0;
    bool previous_vowel = false;
    for (int i = 0; i <= j_; ++i) {
      bool consonant = IsConsonant(i);
      if (consonant && previous_vowel) ++m;
      previous_vowel = !consonant;
    }
    return m;
  }

  bool VowelInStem() const {
    for (int i = 0; i <= j_; ++i) {
      if (!IsConsonant(i)) return true;
    }
    return false;
  }

  bool DoubleConsonant(int i) const {
    return i >= 1 && b_[i] == b_[i - 1] && IsConsonant(i);
  }

  // Consonant-vowel-consonant ending at i, the last not w, x or y: the shape
  // of a short word that lost a final e (hop(e), but not snow).
  bool Cvc(int i) const {
    if (i < 2 || !IsConsonant(i) || IsConsonant(i - 1) || !IsConsonant(i - 2)) {
      return false;
    }
    return b_[i] != 'w' && b_[i] != 'x' && b_[i] != 'y';
  }

  // On a match, j_ becomes the index just before the suffix; otherwise j_ is
  // left alone (Step1ab relies on that).
  bool EndsWith(std::string_view suffix) {
    int length = static_cast<int>(suffix.size());
    int start = k_ - length + 1;
    if (start < 0) return false;
    for (int i = length - 1; i >= 0; --i) {
      if (b_[start + i] != static_cast<CharT>(suffix[i])) return false;
    }
    j_ = k_ - length;
    return true;
  }

  // Replaces b_[j_ + 1, k_] with `s`.
  void SetTo(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
      b_[j_ + 1 + static_cast<int>(i)] = static_cast<CharT>(s[i]);
    }
    k_ = j_ + static_cast<int>(s.size());
  }

  // Plurals, -ed and -ing.
  void Step1ab() {
    if (b_[k_] == 's') {
      if (EndsWith("sses")) {
        k_ -= 2;
      } else if (EndsWith("ies")) {
        SetTo("i");
      } else if (b_[k_ - 1] != 's') {
        --k_;
      }
    }
    if (EndsWith("eed")) {
      if (Measure() > 0) --k_;
    } else if ((EndsWith("ed") || EndsWith("ing")) && VowelInStem()) {
      k_ = j_;
      if (EndsWith("at")) {
        SetTo("ate");
      } else if (EndsWith("bl")) {
        SetTo("ble");
      } else if (EndsWith("iz")) {
        SetTo("ize");
      } else if (DoubleConsonant(k_)) {
        CharT last = b_[k_];
        if (last != 'l' && last != 's' && last != 'z') --k_;
      } else if (Measure() == 1 && Cvc(k_)) {
        SetTo("e");  // j_ == k_ here, so this appends
      }
    }
  }

  // Final y to i when the stem has a vowel.
  void Step1c() {
    if (EndsWith("y") && VowelInStem()) b_[k_] = 'i';
  }

  template <size_t N>
  void ApplyFirstRule(const PorterRule (&rules)[N]) {
    for (const PorterRule& rule : rules) {
      if (EndsWith(rule.suffix)) {
        if (Measure() > 0) SetTo(rule.replacement);
        return;
      }
    }
  }

  // -ant, -ence etc. when the stem has m > 1.
  void Step4() {
    for (std::string_view suffix : kPorterStep4) {
      if (!EndsWith(suffix)) continue;
      if (suffix == "ion" && (j_ < 0 || (b_[j_] != 's' && b_[j_] != 't'))) {
        return;
      }
      if (Measure() > 1) k_ = j_;
      return;
    }
  }

  // Final e, and -ll to -l, when m > 1.
  void Step5() {
    j_ = k_;
    if (b_[k_] == 'e') {
      int m = Measure();
      if (m > 1 || (m == 1 && !Cvc(k_ - 1))) --k_;
    }
    if (b_[k_] == 'l' && DoubleConsonant(k_) && Measure() > 1) --k_;
  }

  CharT* b_;
  int k_;      // index of the last char of the word
  int j_ = 0;  // index of the last char of the stem (before a suffix)
};

bool IsStopWord(std::string_view term) {
  // Most terms are longer than every stop word; skip the search for them.
  if (term.size() > kMaxStopWordBytes) return false;
  return std::binary_search(std::begin(kStopWords), std::end(kStopWords), term);
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool IsKnownStemmer(std::string_view name) {
  for (const char** p = sb_stemmer_list(); *p != nullptr; ++p) {
    if (name == *p) return true;
  }
  return false;
}

std::string ValidStemmerNames() {
  std::string names(kNoStemmer);
  for (const char** p = sb_stemmer_list(); *p != nullptr; ++p) {
    names.append(", ");
    names.append(*p);
  }
  return names;
}

// Length of the first piece of `text` (which is longer than kMaxChunkBytes)
// to analyse on its own. Cutting at ASCII whitespace keeps every word whole;
// failing that (a gigabyte without a space), cut before a UTF-8 lead byte so
// that no character is split.
size_t ChunkLength(std::string_view text) {
  constexpr size_t kSearchBytes = size_t{1} << 20;
  for (size_t i = kMaxChunkBytes; i > kMaxChunkBytes - kSearchBytes; --i) {
    char c = text[i - 1];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') return i;
  }
  size_t cut = kMaxChunkBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return cut > 0 ? cut : kMaxChunkBytes;
}

}  // namespace

const std::vector<std::string_view>& EnglishStopWords() {
  static const std::vector<std::string_view>* const kWords =
      new std::vector<std::string_view>(std::begin(kStopWords),
                                        std::end(kStopWords));
  return *kWords;
}

Status ValidateAnalyzerOptions(const AnalyzerOptions& options) {
  std::string problems;
  if (options.stemmer != kNoStemmer && !IsKnownStemmer(options.stemmer)) {
    problems.append("unknown stemmer '" + options.stemmer +
                    "' (valid: " + ValidStemmerNames() + ")");
  }
  if (options.max_token_bytes == 0) {
    if (!problems.empty()) problems.append("; ");
    problems.append("max_token_bytes must be > 0");
  }
  if (problems.empty()) return Status::OK();
  return Status::InvalidArgument("analyzer options", problems);
}

struct Analyzer::Impl {
  ~Impl() {
    if (snowball != nullptr) sb_stemmer_delete(snowball);
  }

  void AnalyzePiece(std::string_view text, std::vector<std::string>* terms);
  void EmitToken(std::string_view raw, std::vector<std::string>* terms);
  // EmitToken's work: appends the term of one word token, if any.
  void EmitTerm(std::string_view raw, std::vector<std::string>* terms);
  bool Stems() const { return porter || snowball != nullptr; }
  // The stem of `term`; valid until the next call.
  const std::string& Stem(const std::string& term);
  // Stems `term` into `*stem`; false when the stemmer ran out of memory.
  bool ComputeStem(const std::string& term, std::string* stem);

  AnalyzerOptions options;
  std::unique_ptr<icu::BreakIterator> words;
  const icu::Normalizer2* fold = nullptr;  // owned by ICU, never freed
  bool porter = false;                     // options.stemmer == "porter"
  sb_stemmer* snowball = nullptr;          // any other stemmer but "none"
  // Reused for every token so that folding and stemming allocate only when
  // a token is longer than any seen before.
  std::string folded;
  std::string stemmed;
  std::u16string utf16;
  // Positions: when set, EmitToken appends each term's position here. Every
  // word token takes a position, kept or dropped (stop words, over-long
  // tokens), as Lucene's position increments count them.
  std::vector<uint32_t>* positions = nullptr;
  uint32_t position = 0;
  // Stems of recent terms. Term frequencies are Zipfian, so a small cache
  // answers most lookups, and a hash probe costs a fraction of a stemmer
  // run (stemming was half the analysis time before the cache).
  std::unordered_map<std::string, std::string, TermHash, std::equal_to<>> stems;
};

bool Analyzer::Impl::ComputeStem(const std::string& term, std::string* stem) {
  if (snowball != nullptr) {
    const sb_symbol* out = sb_stemmer_stem(
        snowball, reinterpret_cast<const sb_symbol*>(term.data()),
        static_cast<int>(term.size()));
    if (out == nullptr) return false;
    stem->assign(reinterpret_cast<const char*>(out),
                 static_cast<size_t>(sb_stemmer_length(snowball)));
    // An empty term could never be searched for; keep the word instead.
    if (stem->empty()) *stem = term;
    return true;
  }
  if (IsAscii(term)) {
    *stem = term;
    stem->resize(PorterWord<char>(stem->data(), stem->size()).Stem());
    return true;
  }
  // Lucene stems UTF-16 units; convert so that multi-byte chars count as
  // one consonant each, as they do there. `term` is ICU's output, so valid.
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  utf16.resize(term.size());  // never more UTF-16 units than UTF-8 bytes
  u_strFromUTF8WithSub(utf16.data(), static_cast<int32_t>(utf16.size()),
                       &length, term.data(), static_cast<int32_t>(term.size()),
                       0xFFFD, nullptr, &status);
  if (U_FAILURE(status)) return false;
  length = static_cast<int32_t>(
      PorterWord<char16_t>(utf16.data(), static_cast<size_t>(length)).Stem());
  stem->resize(term.size());  // stemming never lengthens the word
  int32_t bytes = 0;
  u_strToUTF8(stem->data(), static_cast<int32_t>(stem->size()), &bytes,
              utf16.data(), length, &status);
  if (U_FAILURE(status)) return false;
  stem->resize(static_cast<size_t>(bytes));
  return true;
}

const std::string& Analyzer::Impl::Stem(const std::string& term) {
  auto it = stems.find(std::string_view(term));
  if (it != stems.end()) return it->second;
  // Failure means out of memory; the unstemmed term is better than losing
  // it, and isn't cached so that a later call may stem it.
  if (!ComputeStem(term, &stemmed)) return term;
  // Dropping the whole cache when full is crude, but the frequent terms come
  // back within a few documents, and it bounds memory with no bookkeeping.
  if (stems.size() >= kMaxCachedStems) stems.clear();
  return stems.emplace(term, stemmed).first->second;
}

void Analyzer::Impl::AnalyzePiece(std::string_view text,
                                  std::vector<std::string>* terms) {
  // A UText over the caller's bytes lets ICU walk UTF-8 directly, without a
  // UTF-16 copy of the whole text. Ill-formed bytes read as U+FFFD, whose
  // word-break class is Other, so they end words and yield no term.
  UText utext = UTEXT_INITIALIZER;
  UErrorCode status = U_ZERO_ERROR;
  utext_openUTF8(&utext, text.data(), static_cast<int64_t>(text.size()),
                 &status);
  words->setText(&utext, status);
  // Both calls fail only on allocation failure; there is nothing sensible to
  // emit then, and Analyze has no error channel by design.
  if (U_SUCCESS(status)) {
    int32_t start = words->first();
    for (int32_t end = words->next(); end != icu::BreakIterator::DONE;
         start = end, end = words->next()) {
      // UBRK_WORD_NONE covers spaces, punctuation, symbols and emoji; the
      // ranges above it are numbers, letters, kana and ideographs.
      if (words->getRuleStatus() < UBRK_WORD_NONE_LIMIT) continue;
      EmitToken(text.substr(start, end - start), terms);
    }
  }
  utext_close(&utext);
}

void Analyzer::Impl::EmitToken(std::string_view raw,
                               std::vector<std::string>* terms) {
  const size_t before = terms->size();
  EmitTerm(raw, terms);
  if (positions != nullptr && terms->size() > before) {
    positions->push_back(position);
  }
  ++position;
}

void Analyzer::Impl::EmitTerm(std::string_view raw,
                              std::vector<std::string>* terms) {
  // NFKC_Casefold maps ASCII to ASCII by lowercasing alone, so the common
  // case skips ICU.
  if (IsAscii(raw)) {
    if (raw.size() > options.max_token_bytes) return;
    folded.resize(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      folded[i] =
          (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
    }
  } else {
    folded.clear();
    icu::StringByteSink<std::string> sink(&folded);
    UErrorCode status = U_ZERO_ERROR;
    fold->normalizeUTF8(
        0, icu::StringPiece(raw.data(), static_cast<int32_t>(raw.size())), sink,
        nullptr, status);
    // Failure means out of memory; dropping one token is the least harm.
    if (U_FAILURE(status)) return;
    // Folding removes default-ignorable chars (soft hyphen, ZWJ), so a token
    // made only of those vanishes.
    if (folded.empty() || folded.size() > options.max_token_bytes) return;
  }

  if (options.stopwords && IsStopWord(folded)) return;

  if (Stems()) {
    terms->push_back(Stem(folded));
    return;
  }
  terms->push_back(folded);
}

Result<std::unique_ptr<Analyzer>> Analyzer::Create(
    const AnalyzerOptions& options) {
  CASCADE_RETURN_IF_ERROR(ValidateAnalyzerOptions(options));

  auto impl = std::make_unique<Impl>();
  impl->options = options;

  UErrorCode status = U_ZERO_ERROR;
  impl->words.reset(
      icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
  if (U_FAILURE(status) || impl->words == nullptr) {
    return Status::Internal("create ICU word BreakIterator",
                            u_errorName(status));
  }
  impl->fold = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status) || impl->fold == nullptr) {
    return Status::Internal("load ICU NFKC_Casefold data", u_errorName(status));
  }
  if (options.stemmer == kPorter) {
    impl->porter = true;
  } else if (options.stemmer != kNoStemmer) {
    impl->snowball = sb_stemmer_new(options.stemmer.c_str(), "UTF_8");
    // The name was validated above, so only allocation can fail here.
    if (impl->snowball == nullptr) {
      return Status::ResourceExhausted("create libstemmer stemmer",
                                       options.stemmer);
    }
  }
  return std::unique_ptr<Analyzer>(new Analyzer(std::move(impl)));
}

Analyzer::Analyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Analyzer::~Analyzer() = default;

void Analyzer::Analyze(std::string_view text, std::vector<std::string>* terms,
                       std::vector<uint32_t>* positions) {
  impl_->positions = positions;
  impl_->position = 0;
  Analyze(text, terms);
  impl_->positions = nullptr;
}

void Analyzer::Analyze(std::string_view text, std::vector<std::string>* terms) {
  while (text.size() > kMaxChunkBytes) {
    size_t length = ChunkLength(text);
    impl_->AnalyzePiece(text.substr(0, length), terms);
    text.remove_prefix(length);
  }
  if (!text.empty()) impl_->AnalyzePiece(text, terms);
}

const AnalyzerOptions& Analyzer::options() const { return impl_->options; }

}  // namespace cascade::index
