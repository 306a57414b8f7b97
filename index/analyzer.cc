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
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <utility>

#include "index/analyzer_internal.h"

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

// Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, sorted, as
// EnglishStopWords() promises.
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
                            return !w.empty() && w.size() <= kMaxStopWordBytes;
                          }));

// A word of at most 8 bytes as a number: its bytes in memory order,
// zero-padded, as std::memcpy loads them. Words here never contain a NUL
// byte (NUL is no word char), so the padding keeps lengths apart.
constexpr uint64_t PackWord(std::string_view w) {
  uint64_t packed = 0;
  for (size_t i = 0; i < w.size() && i < 8; ++i) {
    const int shift = std::endian::native == std::endian::little
                          ? static_cast<int>(8 * i)
                          : static_cast<int>(8 * (7 - i));
    packed |= uint64_t{static_cast<unsigned char>(w[i])} << shift;
  }
  return packed;
}

// The stop words in a perfect hash table: slot (packed * kStopWordMultiplier)
// >> 57 holds the word or 0, so a lookup is one multiply, one load and one
// compare. The multiplier is searched for at compile time.
constexpr int kStopWordSlotBits = 7;
constexpr uint64_t StopWordSlot(uint64_t packed, uint64_t multiplier) {
  return (packed * multiplier) >> (64 - kStopWordSlotBits);
}
constexpr uint64_t FindStopWordMultiplier() {
  uint64_t multiplier = 0x9E3779B97F4A7C15ull;
  for (int attempt = 0; attempt < 10000; ++attempt) {
    std::array<bool, size_t{1} << kStopWordSlotBits> used{};
    bool ok = true;
    for (std::string_view w : kStopWords) {
      const uint64_t slot = StopWordSlot(PackWord(w), multiplier);
      if (used[slot]) {
        ok = false;
        break;
      }
      used[slot] = true;
    }
    if (ok) return multiplier;
    multiplier += 0x632BE59BD9B4E019ull;  // odd, so every candidate is odd
  }
  return 0;
}
constexpr uint64_t kStopWordMultiplier = FindStopWordMultiplier();
static_assert(kStopWordMultiplier != 0, "no perfect hash for the stop words");
constexpr std::array<uint64_t, size_t{1} << kStopWordSlotBits> kStopWordTable =
    [] {
      std::array<uint64_t, size_t{1} << kStopWordSlotBits> table{};
      for (std::string_view w : kStopWords) {
        const uint64_t packed = PackWord(w);
        table[StopWordSlot(packed, kStopWordMultiplier)] = packed;
      }
      return table;
    }();

// `packed` is PackWord of a folded term of 1 to kMaxStopWordBytes bytes.
bool IsPackedStopWord(uint64_t packed) {
  return kStopWordTable[StopWordSlot(packed, kStopWordMultiplier)] == packed;
}

// BreakIterator reports boundaries as int32_t, so each piece handed to ICU
// must stay below 2 GiB. Larger texts are cut at whitespace into pieces of
// at most this size.
constexpr size_t kMaxChunkBytes = size_t{1} << 30;

// A folded term of at most kMaxKeyBytes bytes as the stem cache sees it: its
// bytes zero-padded, its length in the last byte. Words never contain NUL,
// so two keys are equal exactly when the terms are.
constexpr size_t kMaxKeyBytes = 23;
struct TermKey {
  // Builds the key of `term` (1 to kMaxKeyBytes bytes), applying `map` to
  // each byte on the way (lowercasing, or nothing).
  template <typename Map>
  TermKey(std::string_view term, Map map) {
    char bytes[kMaxKeyBytes + 1] = {};
    for (size_t i = 0; i < term.size(); ++i) bytes[i] = map(term[i]);
    bytes[kMaxKeyBytes] = static_cast<char>(term.size());
    std::memcpy(words, bytes, sizeof(words));
  }
  // The key of the lowercased ASCII token text[begin, begin + size), size
  // 1 to kMaxKeyBytes. The same as TermKey(token, AsciiLower), 8 bytes at a
  // time: it reads whole words of `text` where they lie inside it.
  static TermKey FromAscii(std::string_view text, size_t begin, size_t size) {
    constexpr uint64_t kOnes = 0x0101010101010101ull;
    constexpr uint64_t kHighBits = 0x8080808080808080ull;
    constexpr bool kLittle = std::endian::native == std::endian::little;
    TermKey key;
    for (size_t i = 0; i < 3; ++i) {
      const size_t offset = 8 * i;
      uint64_t w = 0;
      if (offset < size) {
        const size_t bytes = std::min<size_t>(8, size - offset);
        if (begin + offset + 8 <= text.size()) {
          std::memcpy(&w, text.data() + begin + offset, 8);
          if (bytes < 8) {
            const uint64_t keep = kLittle ? (uint64_t{1} << (8 * bytes)) - 1
                                          : ~(~uint64_t{0} >> (8 * bytes));
            w &= keep;
          }
        } else {
          std::memcpy(&w, text.data() + begin + offset, bytes);
        }
        // Every byte is below 0x80, so these sums carry into no other byte:
        // the high bit of each byte says byte >= 'A', then byte > 'Z'.
        const uint64_t at_least_a = (w + kOnes * (0x80 - 'A')) & kHighBits;
        const uint64_t above_z = (w + kOnes * (0x80 - 'Z' - 1)) & kHighBits;
        w |= (at_least_a & ~above_z) >> 2;  // 0x80 >> 2 is 'a' - 'A'
      }
      key.words[i] = w;
    }
    const uint64_t length = static_cast<uint64_t>(size);
    key.words[2] |= kLittle ? length << 56 : length;
    return key;
  }
  size_t size() const {
    char bytes[sizeof(words)];
    std::memcpy(bytes, words, sizeof(words));
    return static_cast<unsigned char>(bytes[kMaxKeyBytes]);
  }
  // Uninitialised; value-initialised (as in StemCache's zeroed sets), all
  // zero: the key of no term, as no term is empty.
  TermKey() = default;
  bool operator==(const TermKey& other) const {
    return ((words[0] ^ other.words[0]) | (words[1] ^ other.words[1]) |
            (words[2] ^ other.words[2])) == 0;
  }
  uint64_t Hash() const {
    uint64_t h = words[0] * 0x9E3779B97F4A7C15ull;
    h ^= words[1] * 0xC2B2AE3D27D4EB4Full;
    h ^= words[2] * 0x165667B19E3779F9ull;
    return (h ^ (h >> 29)) * 0x94D049BB133111EBull;
  }

  uint64_t words[3];
};
static_assert(sizeof(TermKey) == kMaxKeyBytes + 1);

// Stems of recent terms. Term frequencies are Zipfian, so a small cache
// answers most lookups, and a probe costs a fraction of a stemmer run
// (stemming was half the analysis time before the first cache). A
// std::unordered_map of 32k terms, cleared when full, thrashed on a 400k-term
// vocabulary and hashed, compared and allocated strings on every token; this
// is a 2-way set-associative cache in one flat array instead: each set is one
// 64-byte cache line holding two 32-byte slots, the key inline and the stem
// as "the key's first `keep` bytes, then `tail`" (stemming mostly cuts a
// suffix and appends a few letters). Terms longer than kMaxKeyBytes, and
// stems whose tail doesn't fit, are not cached: they are rare, and stemming
// them again gives the same result.
class StemCache {
 public:
  static constexpr size_t kMaxTailBytes = 6;

  struct Slot {
    TermKey key;  // all zero when empty: no term has length 0
    uint8_t keep;
    uint8_t tail_size;
    char tail[kMaxTailBytes];
  };
  static_assert(sizeof(Slot) == 32);

  // The slot holding `key`, or nullptr. `hash` is key.Hash(). Valid until
  // the next call.
  const Slot* Find(const TermKey& key, uint64_t hash) {
    if (sets_ == nullptr) return nullptr;
    Set& set = sets_[SetIndex(hash)];
    if (set.ways[0].key == key) return &set.ways[0];
    if (set.ways[1].key == key) {
      // Least recently used goes to way 1, to be replaced first.
      std::swap(set.ways[0], set.ways[1]);
      return &set.ways[0];
    }
    return nullptr;
  }

  // Starts loading the set that a key with this hash lives in.
  void Prefetch(uint64_t hash) const {
    if (sets_ != nullptr) __builtin_prefetch(&sets_[SetIndex(hash)]);
  }

  // Caches `stem` as the stem of `term` (whose key is `key`) if it fits.
  void Insert(const TermKey& key, uint64_t hash, std::string_view term,
              std::string_view stem) {
    size_t keep = 0;
    while (keep < term.size() && keep < stem.size() &&
           term[keep] == stem[keep]) {
      ++keep;
    }
    if (stem.size() - keep > kMaxTailBytes) return;
    // The cache starts small, so that an analyzer that stems little (one
    // query, a few snippets) doesn't allocate and zero 2 MiB, and doubles,
    // dropping its contents, whenever it has taken twice as many stems as
    // it has slots: it is too small for the vocabulary then.
    if (sets_ == nullptr ||
        (inserts_ > 4 * (size_t{1} << set_bits_) && set_bits_ < kMaxSetBits)) {
      if (sets_ != nullptr) ++set_bits_;
      sets_ = std::make_unique<Set[]>(size_t{1} << set_bits_);  // zeroed
      inserts_ = 0;
    }
    ++inserts_;
    Set& set = sets_[SetIndex(hash)];
    set.ways[1] = set.ways[0];
    Slot& slot = set.ways[0];
    slot.key = key;
    slot.keep = static_cast<uint8_t>(keep);
    slot.tail_size = static_cast<uint8_t>(stem.size() - keep);
    std::memcpy(slot.tail, stem.data() + keep, stem.size() - keep);
  }

 private:
  // From 2^8 sets of 64 bytes (16 KiB, 512 terms) up to 2^15 (2 MiB, 65536
  // terms) per Analyzer.
  static constexpr int kMinSetBits = 8;
  static constexpr int kMaxSetBits = 15;

  struct alignas(64) Set {
    Slot ways[2];
  };

  size_t SetIndex(uint64_t hash) const { return hash >> (64 - set_bits_); }

  std::unique_ptr<Set[]> sets_;  // 2^set_bits_ sets, or none yet
  int set_bits_ = kMinSetBits;
  size_t inserts_ = 0;  // since sets_ was allocated
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

// Index of the first byte >= 0x80 in text[from, end), or text.size().
size_t FindNonAscii(std::string_view text, size_t from) {
  constexpr uint64_t kHighBits = 0x8080808080808080ull;
  const char* p = text.data();
  const size_t n = text.size();
  size_t i = from;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, sizeof(w));
    if (((w[0] | w[1] | w[2] | w[3]) & kHighBits) != 0) break;
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof(w));
    if ((w & kHighBits) != 0) break;
  }
  for (; i < n; ++i) {
    if (static_cast<unsigned char>(p[i]) >= 0x80) return i;
  }
  return n;
}

bool IsAscii(std::string_view s) { return FindNonAscii(s, 0) == s.size(); }

char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

// ASCII whitespace: the fast path may cut a text after one of these (see
// SafeCutBefore).
bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

// The word-break classes (UAX#29) of ASCII chars as ICU's root word rules
// (ICU 72) use them. Found by, and checked against, ICU itself: see
// AnalyzerTest.AsciiFastPathSegmentsLikeIcu. Two surprises relative to the
// UAX#29 tables: ICU counts '@' as ALetter (so "foo@bar.com" is one word),
// and takes ':' out of MidLetter (so "a:b" is two). Everything else that is
// not listed (space, tab, CR, LF, other punctuation and controls) joins no
// word char, so it acts as Other here; how ICU groups those chars among
// themselves (CR LF, runs of spaces) doesn't matter, since such segments have
// rule status UBRK_WORD_NONE and are never terms.
enum class WordBreak : uint8_t {
  kOther,
  kALetter,       // A-Z a-z @: rule status UBRK_WORD_LETTER
  kNumeric,       // 0-9: rule status UBRK_WORD_NUMBER
  kExtendNumLet,  // _
  kMidNumLet,     // . and the apostrophe (Single_Quote), between letters
                  // (WB6, WB7) or digits (WB11, WB12)
  kMidNum,        // , ; between digits only (WB11, WB12)
};

constexpr std::array<WordBreak, 128> kAsciiWordBreak = [] {
  std::array<WordBreak, 128> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[c] = WordBreak::kALetter;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = WordBreak::kALetter;
  table['@'] = WordBreak::kALetter;
  for (int c = '0'; c <= '9'; ++c) table[c] = WordBreak::kNumeric;
  table['_'] = WordBreak::kExtendNumLet;
  table['.'] = WordBreak::kMidNumLet;
  table['\''] = WordBreak::kMidNumLet;
  table[','] = WordBreak::kMidNum;
  table[';'] = WordBreak::kMidNum;
  return table;
}();

WordBreak AsciiWordBreak(char c) {
  return kAsciiWordBreak[static_cast<unsigned char>(c) & 0x7F];
}

// ALetter, Numeric and ExtendNumLet join each other directly (WB5, WB8 to
// WB10, WB13a, WB13b).
bool IsWordChar(WordBreak b) {
  return b == WordBreak::kALetter || b == WordBreak::kNumeric ||
         b == WordBreak::kExtendNumLet;
}

// Calls emit(begin, end) for each segment of the ASCII `text` that ICU's
// word BreakIterator (root locale) reports with rule status >=
// UBRK_WORD_NONE_LIMIT, in order, with ICU's boundaries.
//
// A segment is a maximal run of word chars, where a MidNumLet between two
// letters, or a MidNumLet or MidNum between two digits, also joins; ICU
// chains these rules, so "1a.b" and "a.b1,2" are single segments while "a1.b"
// is two. Every such segment has status >= UBRK_WORD_NONE_LIMIT except a
// lone "_" (UBRK_WORD_NONE; "__" and "_1" are words).
template <typename Emit>
void SegmentAsciiWords(std::string_view text, Emit&& emit) {
  const char* p = text.data();
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const WordBreak first = AsciiWordBreak(p[i]);
    if (!IsWordChar(first)) {
      ++i;
      continue;
    }
    const size_t begin = i++;
    WordBreak last = first;
    while (i < n) {
      const WordBreak b = AsciiWordBreak(p[i]);
      if (IsWordChar(b)) {
        last = b;
        ++i;
        continue;
      }
      if ((b == WordBreak::kMidNumLet || b == WordBreak::kMidNum) &&
          i + 1 < n) {
        const WordBreak next = AsciiWordBreak(p[i + 1]);
        if ((last == WordBreak::kALetter && next == WordBreak::kALetter &&
             b == WordBreak::kMidNumLet) ||
            (last == WordBreak::kNumeric && next == WordBreak::kNumeric)) {
          last = next;
          i += 2;
          continue;
        }
      }
      break;
    }
    if (i - begin == 1 && first == WordBreak::kExtendNumLet) continue;
    emit(begin, i);
  }
}

// Mixed texts are cut into runs for the fast path and runs for ICU. A cut at
// `p` is safe when text[p - 1] is ASCII whitespace and text[p] is ASCII:
// ICU breaks there in the whole text too (no UAX#29 rule joins whitespace to
// a following ASCII char; CR LF and space runs do join, but they are never
// terms, so splitting them changes nothing), and no rule looks across
// whitespace, so both sides segment on their own as they do in the whole.

// The last safe cut in (from, before), or `from`; text[from, before) is
// ASCII.
size_t SafeCutBefore(std::string_view text, size_t from, size_t before) {
  for (size_t p = before; p > from + 1;) {
    --p;
    if (IsAsciiSpace(text[p - 1])) return p;
  }
  return from;
}

// Where an ICU run that must cover text[non_ascii] ends: the first safe cut
// after it that is followed by at least kMinAsciiRun ASCII bytes (or the end
// of the text), so that words mixing scripts go through ICU whole and a text
// with non-ASCII every few words doesn't restart ICU for each one.
size_t IcuRunEnd(std::string_view text, size_t non_ascii) {
  constexpr size_t kMinAsciiRun = 64;
  const size_t n = text.size();
  size_t i = non_ascii;
  while (true) {
    size_t p = i + 1;
    while (p < n && !IsAsciiSpace(text[p - 1])) ++p;
    if (p >= n) return n;
    const size_t until = std::min(n, p + kMinAsciiRun);
    const size_t next = FindNonAscii(text.substr(0, until), p);
    if (next == until) return p;
    i = next;
  }
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

  // Analyses a text of less than 2 GiB: ASCII runs through
  // SegmentAsciiWords, the rest through ICU.
  void AnalyzePiece(std::string_view text, std::vector<std::string>* terms);
  void AnalyzeAscii(std::string_view text, std::vector<std::string>* terms);
  void AnalyzeWithIcu(std::string_view text, std::vector<std::string>* terms);
  // Calls emit_term(), which appends the term of one word token to *terms
  // if it has one, and counts the token's position.
  template <typename EmitTerm>
  void EmitToken(std::vector<std::string>* terms, EmitTerm emit_term);
  // The term of an ASCII token: lowercasing is all NFKC_Casefold does to
  // ASCII, so these skip ICU.
  void EmitAsciiTerm(std::string_view raw, std::vector<std::string>* terms);
  // The term of any other token.
  void EmitFoldedTerm(std::string_view raw, std::vector<std::string>* terms);
  // The rest of the chain for a folded term of at most kMaxKeyBytes bytes:
  // stop words, then the stem cache. `hash` is key.Hash().
  void EmitKeyedTerm(const TermKey& key, uint64_t hash,
                     std::vector<std::string>* terms);
  // The same for a longer folded term: never a stop word, never cached.
  void EmitLongTerm(const std::string& term, std::vector<std::string>* terms);
  bool Stems() const { return porter || snowball != nullptr; }
  // Stems `term` into `*stem`; false when the stemmer ran out of memory.
  bool ComputeStem(std::string_view term, std::string* stem);

  AnalyzerOptions options;
  std::unique_ptr<icu::BreakIterator> words;
  const icu::Normalizer2* fold = nullptr;  // owned by ICU, never freed
  bool porter = false;                     // options.stemmer == "porter"
  sb_stemmer* snowball = nullptr;          // any other stemmer but "none"
  // Test only (AnalyzerTestPeer::TEST_SetIcuOnly): segment everything with
  // ICU, as the chain did before the ASCII fast path.
  bool icu_only = false;
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
  StemCache stems;
};

bool Analyzer::Impl::ComputeStem(std::string_view term, std::string* stem) {
  if (snowball != nullptr) {
    const sb_symbol* out = sb_stemmer_stem(
        snowball, reinterpret_cast<const sb_symbol*>(term.data()),
        static_cast<int>(term.size()));
    if (out == nullptr) return false;
    stem->assign(reinterpret_cast<const char*>(out),
                 static_cast<size_t>(sb_stemmer_length(snowball)));
    // An empty term could never be searched for; keep the word instead.
    if (stem->empty()) stem->assign(term);
    return true;
  }
  if (IsAscii(term)) {
    stem->assign(term);
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

void Analyzer::Impl::AnalyzePiece(std::string_view text,
                                  std::vector<std::string>* terms) {
  if (icu_only) {
    AnalyzeWithIcu(text, terms);
    return;
  }
  size_t done = 0;
  while (done < text.size()) {
    const size_t non_ascii = FindNonAscii(text, done);
    if (non_ascii == text.size()) {
      AnalyzeAscii(text.substr(done), terms);
      return;
    }
    const size_t cut = SafeCutBefore(text, done, non_ascii);
    if (cut > done) AnalyzeAscii(text.substr(done, cut - done), terms);
    const size_t end = IcuRunEnd(text, non_ascii);
    AnalyzeWithIcu(text.substr(cut, end - cut), terms);
    done = end;
  }
}

void Analyzer::Impl::AnalyzeAscii(std::string_view text,
                                  std::vector<std::string>* terms) {
  // Tokens are emitted kLag tokens behind the scanner, and the stem cache
  // set of each is prefetched as it is found: a rare term's probe is a cache
  // miss otherwise, which cost a fifth of the analysis time.
  struct Pending {
    size_t begin;
    size_t size;
    TermKey key;  // when size <= kMaxKeyBytes
    uint64_t hash;
  };
  constexpr size_t kLag = 8;
  Pending pending[kLag];
  size_t found = 0;
  auto emit = [&](const Pending& token) {
    EmitToken(terms, [&] {
      if (token.size > options.max_token_bytes) return;
      if (token.size <= kMaxKeyBytes) {
        EmitKeyedTerm(token.key, token.hash, terms);
        return;
      }
      folded.resize(token.size);
      std::transform(text.begin() + token.begin,
                     text.begin() + token.begin + token.size, folded.begin(),
                     AsciiLower);
      EmitLongTerm(folded, terms);
    });
  };
  SegmentAsciiWords(text, [&](size_t begin, size_t end) {
    Pending& token = pending[found % kLag];
    if (found >= kLag) emit(token);
    ++found;
    token.begin = begin;
    token.size = end - begin;
    if (token.size > kMaxKeyBytes) return;
    token.key = TermKey::FromAscii(text, begin, token.size);
    token.hash = token.key.Hash();
    if (token.size > kMaxStopWordBytes ||
        !IsPackedStopWord(token.key.words[0])) {
      stems.Prefetch(token.hash);
    }
  });
  for (size_t i = found > kLag ? found - kLag : 0; i < found; ++i) {
    emit(pending[i % kLag]);
  }
}

void Analyzer::Impl::AnalyzeWithIcu(std::string_view text,
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
      const std::string_view raw = text.substr(start, end - start);
      EmitToken(terms, [&] {
        if (IsAscii(raw)) {
          EmitAsciiTerm(raw, terms);
        } else {
          EmitFoldedTerm(raw, terms);
        }
      });
    }
  }
  utext_close(&utext);
}

template <typename EmitTerm>
void Analyzer::Impl::EmitToken(std::vector<std::string>* terms,
                               EmitTerm emit_term) {
  const size_t before = terms->size();
  emit_term();
  if (positions != nullptr && terms->size() > before) {
    positions->push_back(position);
  }
  ++position;
}

void Analyzer::Impl::EmitAsciiTerm(std::string_view raw,
                                   std::vector<std::string>* terms) {
  if (raw.size() > options.max_token_bytes) return;
  if (raw.size() <= kMaxKeyBytes) {
    const TermKey key(raw, AsciiLower);
    EmitKeyedTerm(key, key.Hash(), terms);
    return;
  }
  folded.resize(raw.size());
  std::transform(raw.begin(), raw.end(), folded.begin(), AsciiLower);
  EmitLongTerm(folded, terms);
}

void Analyzer::Impl::EmitFoldedTerm(std::string_view raw,
                                    std::vector<std::string>* terms) {
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
  if (folded.size() <= kMaxKeyBytes) {
    const TermKey key(folded, [](char c) { return c; });
    EmitKeyedTerm(key, key.Hash(), terms);
    return;
  }
  EmitLongTerm(folded, terms);
}

void Analyzer::Impl::EmitKeyedTerm(const TermKey& key, uint64_t hash,
                                   std::vector<std::string>* terms) {
  char bytes[sizeof(TermKey)];
  std::memcpy(bytes, key.words, sizeof(bytes));
  const std::string_view term(bytes, key.size());
  if (options.stopwords && term.size() <= kMaxStopWordBytes &&
      IsPackedStopWord(key.words[0])) {
    return;
  }
  if (!Stems()) {
    terms->emplace_back(term);
    return;
  }
  if (const StemCache::Slot* slot = stems.Find(key, hash)) {
    char stem[kMaxKeyBytes + StemCache::kMaxTailBytes];
    std::memcpy(stem, bytes, slot->keep);
    std::memcpy(stem + slot->keep, slot->tail, slot->tail_size);
    terms->emplace_back(stem, slot->keep + slot->tail_size);
    return;
  }
  // Failure means out of memory; the unstemmed term is better than losing
  // it, and isn't cached so that a later call may stem it.
  if (!ComputeStem(term, &stemmed)) {
    terms->emplace_back(term);
    return;
  }
  stems.Insert(key, hash, term, stemmed);
  terms->push_back(stemmed);
}

void Analyzer::Impl::EmitLongTerm(const std::string& term,
                                  std::vector<std::string>* terms) {
  static_assert(kMaxKeyBytes >= kMaxStopWordBytes);
  if (Stems() && ComputeStem(term, &stemmed)) {
    terms->push_back(stemmed);
    return;
  }
  terms->push_back(term);
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

std::vector<WordSpan> AnalyzerTestPeer::TEST_AsciiWordSpans(
    std::string_view text) {
  std::vector<WordSpan> spans;
  SegmentAsciiWords(text, [&](size_t begin, size_t end) {
    spans.push_back(WordSpan{begin, end});
  });
  return spans;
}

std::vector<WordSpan> AnalyzerTestPeer::TEST_IcuWordSpans(
    Analyzer& analyzer, std::string_view text) {
  std::vector<WordSpan> spans;
  icu::BreakIterator& words = *analyzer.impl_->words;
  UText utext = UTEXT_INITIALIZER;
  UErrorCode status = U_ZERO_ERROR;
  utext_openUTF8(&utext, text.data(), static_cast<int64_t>(text.size()),
                 &status);
  words.setText(&utext, status);
  if (U_SUCCESS(status)) {
    int32_t start = words.first();
    for (int32_t end = words.next(); end != icu::BreakIterator::DONE;
         start = end, end = words.next()) {
      if (words.getRuleStatus() < UBRK_WORD_NONE_LIMIT) continue;
      spans.push_back(
          WordSpan{static_cast<size_t>(start), static_cast<size_t>(end)});
    }
  }
  utext_close(&utext);
  return spans;
}

void AnalyzerTestPeer::TEST_SetIcuOnly(Analyzer& analyzer, bool icu_only) {
  analyzer.impl_->icu_only = icu_only;
}

}  // namespace cascade::index
