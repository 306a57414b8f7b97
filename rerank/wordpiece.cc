// WordPiece tokenizer that reproduces Hugging Face tokenizers' BERT pipeline:
// added-token split -> BertNormalizer -> BertPreTokenizer -> WordPiece ->
// pair template with truncation.
//
// Where the Rust `tokenizers` crate and transformers' old Python
// BasicTokenizer disagree, we follow the Rust crate, since that is what
// transformers runs today (and what produced tests/data/hf-bert):
//   - control characters are Cc, Cf and Co (Python: every C* category);
//     they are removed *before* whitespace is mapped, so \v, \f and U+0085
//     vanish instead of separating words;
//   - whitespace is the Unicode White_Space property (Python: Zs only), so
//     U+2028/U+2029 separate words;
//   - accents are stripped (NFD, drop Mn) *before* lowercasing, and
//     lowercasing maps each code point on its own (no final-sigma rule);
//   - the CJK ranges are the crate's: U+2B820..2B91F is not among them.
// Character categories come from ICU (Unicode 15 for ICU 72); the crate's
// unicode_categories tables are older, so code points assigned since then
// may be classed differently (e.g. a recent emoji is [UNK] here).
// Pair truncation follows the fixtures rather than either code base; see
// EncodePair.
//
// Layout of the hot path: Tokenize() splits the raw text on special tokens,
// normalizes each piece into a scratch UTF-8 buffer (ASCII bytes through a
// 128-entry table; runs of other code points through ICU), then cuts words
// out of that buffer as string_views and looks their pieces up in a flat
// open-addressing table without copying them.
#include "rerank/wordpiece.h"

#include <simdjson.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cascade/status.h"

namespace cascade::rerank {
namespace {

// ---------------------------------------------------------------------------
// Character classes.

constexpr UChar32 kReplacement = 0xFFFD;

// Decodes one code point at *pos and advances *pos. An ill-formed sequence
// yields U+FFFD and consumes its maximal subpart (the Unicode/WHATWG rule),
// so each broken sequence counts as one replacement character.
inline UChar32 DecodeUtf8(const uint8_t* p, size_t n, size_t* pos) {
  size_t i = *pos;
  const uint8_t lead = p[i++];
  if (lead < 0x80) {
    *pos = i;
    return lead;
  }
  int need;
  UChar32 c;
  uint8_t lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
    c = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    c = lead & 0x0F;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    c = lead & 0x07;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    *pos = i;
    return kReplacement;
  }
  for (int k = 0; k < need; ++k) {
    if (i >= n || p[i] < lo || p[i] > hi) {
      *pos = i;
      return kReplacement;
    }
    lo = 0x80;
    hi = 0xBF;
    c = (c << 6) | (p[i++] & 0x3F);
  }
  *pos = i;
  return c;
}

inline void AppendUtf8(UChar32 c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

inline void AppendUtf16(UChar32 c, std::u16string* out) {
  if (c < 0x10000) {
    out->push_back(static_cast<char16_t>(c));
  } else {
    out->push_back(static_cast<char16_t>(U16_LEAD(c)));
    out->push_back(static_cast<char16_t>(U16_TRAIL(c)));
  }
}

// tokenizers' `is_control`: Cc, Cf or Co, but \t \n \r are whitespace.
inline bool IsControl(UChar32 c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  const int8_t type = u_charType(c);
  return type == U_CONTROL_CHAR || type == U_FORMAT_CHAR ||
         type == U_PRIVATE_USE_CHAR;
}

// Rust's char::is_whitespace: the White_Space property.
inline bool IsWhitespace(UChar32 c) { return u_isUWhiteSpace(c); }

// ASCII punctuation includes the symbols $ + < = > ^ ` | ~.
constexpr bool IsAsciiPunctuation(UChar32 c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
         (c >= 123 && c <= 126);
}

// ASCII punctuation or any Unicode P* category.
inline bool IsPunctuation(UChar32 c) {
  if (c < 0x80) return IsAsciiPunctuation(c);
  return (U_GET_GC_MASK(c) & U_GC_P_MASK) != 0;
}

// The CJK Unified Ideograph blocks exactly as tokenizers' BertNormalizer
// lists them (note 0x2B920, not 0x2B820, as Python BERT has).
inline bool IsChineseChar(UChar32 c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

enum class CharClass : uint8_t { kWord, kSpace, kPunct };

constexpr std::array<CharClass, 128> MakeAsciiClasses() {
  std::array<CharClass, 128> table{};
  for (int c = 0; c < 128; ++c) {
    if (c == ' ' || (c >= '\t' && c <= '\r')) {
      table[c] = CharClass::kSpace;
    } else if (IsAsciiPunctuation(c)) {
      table[c] = CharClass::kPunct;
    } else {
      table[c] = CharClass::kWord;
    }
  }
  return table;
}
constexpr std::array<CharClass, 128> kAsciiClasses = MakeAsciiClasses();

// ---------------------------------------------------------------------------
// Vocabulary: a flat open-addressing table keyed by (continuation?, bytes).
// Continuation pieces are stored without their "##" prefix so that a piece
// in the middle of a word can be looked up as a plain slice of the word.

inline uint64_t HashBytes(const char* p, size_t n, uint64_t seed) {
  uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ull);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * 0x94D049BB133111EBull;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

// The bytes of a key of 1..8 bytes as a zero-padded little-endian integer,
// from loads that stay inside the key.
inline uint64_t LoadShortKey(const char* p, size_t n) {
  if (n >= 4) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    return lo | (static_cast<uint64_t>(hi) << (8 * (n - 4)));
  }
  if (n >= 2) {
    uint16_t lo, hi;
    std::memcpy(&lo, p, 2);
    std::memcpy(&hi, p + n - 2, 2);
    return lo | (static_cast<uint64_t>(hi) << (8 * (n - 2)));
  }
  return static_cast<uint8_t>(p[0]);
}

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

class VocabTable {
 public:
  // Later inserts of the same key win, as they do in Python's load_vocab.
  void Insert(std::string_view key, bool continuation, int32_t id) {
    if (key.empty() || key.size() > std::numeric_limits<uint16_t>::max()) {
      return;  // no word piece can be empty; 64 KiB tokens are not real
    }
    Table& table = tables_[continuation];
    if ((table.count + 1) * 3 > table.slots.size() * 2) Grow(&table);
    const uint64_t h = Hash(key, continuation);
    const size_t mask = table.slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = table.slots[i];
      if (slot.length == 0) {
        slot.tag = Tag(h);
        slot.length = static_cast<uint16_t>(key.size());
        slot.id = id;
        if (key.size() <= 8) {
          slot.key = LoadShortKey(key.data(), key.size());
        } else {
          slot.key = arena_.size();
          arena_.append(key);
        }
        ++table.count;
        table.longest = std::max(table.longest, key.size());
        return;
      }
      if (Matches(slot, h, key)) {
        slot.id = id;
        return;
      }
    }
  }

  int32_t Find(std::string_view key, bool continuation) const {
    const Table& table = tables_[continuation];
    if (table.slots.empty() || key.empty()) return -1;
    const uint64_t h = Hash(key, continuation);
    const size_t mask = table.slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& slot = table.slots[i];
      if (slot.length == 0) return -1;
      if (Matches(slot, h, key)) return slot.id;
    }
  }

  // Longest key in bytes: a slice longer than this cannot match, which
  // bounds WordPiece's longest-match search for long words.
  size_t longest(bool continuation) const {
    return tables_[continuation].longest;
  }

 private:
  // A 16-byte slot holds keys of up to 8 bytes (most word pieces) inline,
  // so a lookup usually touches one cache line; longer keys live in
  // arena_. The 16-bit tag settles nearly every mismatch early.
  struct Slot {
    uint64_t key = 0;  // short key bytes, or offset into arena_
    int32_t id = -1;
    uint16_t length = 0;  // 0: empty slot
    uint16_t tag = 0;
  };
  struct Table {
    std::vector<Slot> slots;
    size_t count = 0;
    size_t longest = 0;
  };

  static uint64_t Hash(std::string_view key, bool continuation) {
    const uint64_t seed = continuation ? 0x2545F4914F6CDD1Dull : 0;
    if (key.size() <= 8) {
      return Mix(LoadShortKey(key.data(), key.size()) ^ seed ^
                 (key.size() * 0x9E3779B97F4A7C15ull));
    }
    return HashBytes(key.data(), key.size(), seed);
  }
  static uint16_t Tag(uint64_t h) { return static_cast<uint16_t>(h >> 48); }

  bool Matches(const Slot& slot, uint64_t h, std::string_view key) const {
    if (slot.tag != Tag(h) || slot.length != key.size()) return false;
    if (key.size() <= 8) {
      return slot.key == LoadShortKey(key.data(), key.size());
    }
    return std::memcmp(arena_.data() + slot.key, key.data(), key.size()) == 0;
  }

  void Grow(Table* table) {
    std::vector<Slot> old = std::move(table->slots);
    table->slots.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    const size_t mask = table->slots.size() - 1;
    const bool continuation = table == &tables_[1];
    for (const Slot& slot : old) {
      if (slot.length == 0) continue;
      std::string key;
      if (slot.length <= 8) {
        for (int b = 0; b < slot.length; ++b) {
          key.push_back(static_cast<char>(slot.key >> (8 * b)));
        }
      } else {
        key.assign(arena_.data() + slot.key, slot.length);
      }
      size_t i = Hash(key, continuation) & mask;
      while (table->slots[i].length != 0) i = (i + 1) & mask;
      table->slots[i] = slot;
    }
  }

  Table tables_[2];  // [0]: word-initial pieces, [1]: continuations
  std::string arena_;
};

// ---------------------------------------------------------------------------
// Added (special) tokens, matched leftmost-longest before the model runs.

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool normalized = false;   // matched in normalized text, not raw text
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool single_word = false;  // only matches a whole word
};

inline bool IsWordCharForAdded(UChar32 c) { return c == '_' || u_isalnum(c); }

class AddedTokenMatcher {
 public:
  void Add(AddedToken token) {
    if (token.content.empty()) return;
    tokens_.push_back(std::move(token));
  }

  void Finish() {
    for (auto& list : by_first_byte_) list.clear();
    starts_.fill(false);
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const auto first = static_cast<uint8_t>(tokens_[i].content[0]);
      by_first_byte_[first].push_back(i);
      starts_[first] = true;
    }
    for (auto& list : by_first_byte_) {
      std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) {
        return tokens_[a].content.size() > tokens_[b].content.size();
      });
    }
  }

  bool empty() const { return tokens_.empty(); }

  const AddedToken* FindContent(std::string_view content) const {
    for (const AddedToken& token : tokens_) {
      if (token.content == content) return &token;
    }
    return nullptr;
  }

  // Calls on_text(piece) for the text between matches and on_token(id) for
  // each match, in order.
  template <typename OnText, typename OnToken>
  void Split(std::string_view text, OnText&& on_text,
             OnToken&& on_token) const {
    if (tokens_.empty()) {
      on_text(text);
      return;
    }
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    const size_t n = text.size();
    size_t piece_start = 0;
    size_t i = 0;
    while (i < n) {
      if (!starts_[p[i]]) {
        ++i;
        continue;
      }
      const std::vector<size_t>& candidates = by_first_byte_[p[i]];
      const AddedToken* hit = nullptr;
      for (size_t index : candidates) {
        const AddedToken& token = tokens_[index];
        if (text.compare(i, token.content.size(), token.content) != 0) {
          continue;
        }
        if (token.single_word &&
            !IsWordBoundary(text, i, i + token.content.size())) {
          continue;
        }
        hit = &token;
        break;
      }
      if (hit == nullptr) {
        ++i;
        continue;
      }
      size_t start = i;
      size_t end = i + hit->content.size();
      if (hit->lstrip) start = SkipSpaceBackward(text, piece_start, start);
      if (hit->rstrip) end = SkipSpaceForward(text, end);
      if (start > piece_start) {
        on_text(text.substr(piece_start, start - piece_start));
      }
      on_token(hit->id);
      piece_start = i = end;
    }
    if (piece_start < n) on_text(text.substr(piece_start));
  }

 private:
  static UChar32 CharBefore(std::string_view text, size_t pos) {
    size_t start = pos - 1;
    while (start > 0 && pos - start < 4 &&
           (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) {
      --start;
    }
    size_t at = start;
    UChar32 c = DecodeUtf8(reinterpret_cast<const uint8_t*>(text.data()),
                           text.size(), &at);
    return at == pos ? c : kReplacement;
  }

  static bool IsWordBoundary(std::string_view text, size_t start, size_t end) {
    if (start > 0 && IsWordCharForAdded(CharBefore(text, start))) return false;
    if (end < text.size()) {
      size_t at = end;
      UChar32 c = DecodeUtf8(reinterpret_cast<const uint8_t*>(text.data()),
                             text.size(), &at);
      if (IsWordCharForAdded(c)) return false;
    }
    return true;
  }

  static size_t SkipSpaceBackward(std::string_view text, size_t floor,
                                  size_t pos) {
    while (pos > floor) {
      size_t start = pos - 1;
      while (start > floor &&
             (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80)
        --start;
      size_t at = start;
      UChar32 c = DecodeUtf8(reinterpret_cast<const uint8_t*>(text.data()),
                             text.size(), &at);
      if (at != pos || !IsWhitespace(c)) break;
      pos = start;
    }
    return pos;
  }

  static size_t SkipSpaceForward(std::string_view text, size_t pos) {
    while (pos < text.size()) {
      size_t at = pos;
      UChar32 c = DecodeUtf8(reinterpret_cast<const uint8_t*>(text.data()),
                             text.size(), &at);
      if (!IsWhitespace(c)) break;
      pos = at;
    }
    return pos;
  }

  std::vector<AddedToken> tokens_;
  std::array<std::vector<size_t>, 256> by_first_byte_;
  std::array<bool, 256> starts_{};  // some token begins with this byte
};

// Per-call buffers; kept on the stack of Tokenize so that const methods stay
// thread-safe without locks.
struct Scratch {
  std::string normalized;
  std::u16string run;  // non-ASCII code points awaiting NFD
  std::u16string nfd;
};

// ---------------------------------------------------------------------------
// File and JSON helpers.

Result<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound("no such file", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read", path);
  return buffer.str();
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

using simdjson::dom::element;
using simdjson::dom::object;

// Field access that reports "<file>: <field>: <what>" on a type mismatch.
// Absent and null fields leave the output untouched (and *present false).
class JsonReader {
 public:
  explicit JsonReader(std::string file) : file_(std::move(file)) {}

  Status Bad(std::string_view field, std::string_view what) const {
    return Status::InvalidArgument(file_ + ": " + std::string(field), what);
  }

  // The field, or nullopt when absent or null.
  static std::optional<element> Get(const object& obj, std::string_view key) {
    element value;
    if (obj.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) {
      return std::nullopt;
    }
    return value;
  }

  Status Bool(const object& obj, std::string_view key, std::string_view field,
              bool* out, bool* present = nullptr) const {
    if (present != nullptr) *present = false;
    std::optional<element> value = Get(obj, key);
    if (!value) return Status::OK();
    if (value->get_bool().get(*out) != simdjson::SUCCESS) {
      return Bad(field, "expected true or false");
    }
    if (present != nullptr) *present = true;
    return Status::OK();
  }

  Status String(const object& obj, std::string_view key, std::string_view field,
                std::string* out) const {
    std::optional<element> value = Get(obj, key);
    if (!value) return Status::OK();
    std::string_view text;
    if (value->get_string().get(text) != simdjson::SUCCESS) {
      return Bad(field, "expected a string");
    }
    out->assign(text);
    return Status::OK();
  }

  // A token name given either as "[CLS]" or as {"content": "[CLS]", ...}, as
  // tokenizer_config.json writes both.
  Status TokenName(const object& obj, std::string_view key,
                   std::string_view field, std::string* out) const {
    std::optional<element> value = Get(obj, key);
    if (!value) return Status::OK();
    std::string_view text;
    if (value->get_string().get(text) == simdjson::SUCCESS) {
      out->assign(text);
      return Status::OK();
    }
    object token;
    if (value->get_object().get(token) == simdjson::SUCCESS) {
      return String(token, "content", std::string(field) + ".content", out);
    }
    return Bad(field, "expected a string or an object with \"content\"");
  }

  Status Index(const element& value, std::string_view field,
               int32_t* out) const {
    int64_t number;
    if (value.get_int64().get(number) != simdjson::SUCCESS || number < 0 ||
        number > std::numeric_limits<int32_t>::max()) {
      return Bad(field, "expected a non-negative 32-bit integer");
    }
    *out = static_cast<int32_t>(number);
    return Status::OK();
  }

  Status Parse(simdjson::dom::parser* parser, const std::string& content,
               object* root) const {
    simdjson::padded_string padded(content);
    element doc;
    simdjson::error_code err = parser->parse(padded).get(doc);
    if (err != simdjson::SUCCESS) {
      return Status::InvalidArgument(file_ + ": not valid JSON",
                                     simdjson::error_message(err));
    }
    if (doc.get_object().get(*root) != simdjson::SUCCESS) {
      return Status::InvalidArgument(file_, "expected a JSON object");
    }
    return Status::OK();
  }

 private:
  std::string file_;
};

// Reads tokenizer_config.json (transformers' BertTokenizer arguments) into
// *config. Absent fields keep BertTokenizer's defaults.
Status ParseTokenizerConfig(const std::string& content, const std::string& path,
                            TokenizerConfig* config) {
  JsonReader json(path);
  simdjson::dom::parser parser;
  object root;
  CASCADE_RETURN_IF_ERROR(json.Parse(&parser, content, &root));
  CASCADE_RETURN_IF_ERROR(
      json.Bool(root, "do_lower_case", "do_lower_case", &config->lowercase));
  config->strip_accents = config->lowercase;  // null: follows lowercase
  CASCADE_RETURN_IF_ERROR(json.Bool(root, "strip_accents", "strip_accents",
                                    &config->strip_accents));
  CASCADE_RETURN_IF_ERROR(json.Bool(root, "tokenize_chinese_chars",
                                    "tokenize_chinese_chars",
                                    &config->split_chinese_chars));
  CASCADE_RETURN_IF_ERROR(
      json.TokenName(root, "unk_token", "unk_token", &config->unk_token));
  CASCADE_RETURN_IF_ERROR(
      json.TokenName(root, "cls_token", "cls_token", &config->cls_token));
  CASCADE_RETURN_IF_ERROR(
      json.TokenName(root, "sep_token", "sep_token", &config->sep_token));
  CASCADE_RETURN_IF_ERROR(
      json.TokenName(root, "pad_token", "pad_token", &config->pad_token));
  CASCADE_RETURN_IF_ERROR(
      json.TokenName(root, "mask_token", "mask_token", &config->mask_token));
  return Status::OK();
}

// The special tokens a BertTokenizer built from vocab.txt registers as added
// tokens (matched in raw text), when the vocabulary has them.
std::vector<AddedToken> SpecialTokensOf(
    const TokenizerConfig& config,
    const std::vector<std::pair<std::string, int32_t>>& vocab) {
  std::vector<AddedToken> added;
  for (const std::string* name :
       {&config.pad_token, &config.unk_token, &config.cls_token,
        &config.sep_token, &config.mask_token}) {
    if (name->empty()) continue;
    bool seen = false;
    for (const AddedToken& token : added) seen |= token.content == *name;
    if (seen) continue;
    // Last occurrence wins, as in the vocabulary table.
    int32_t id = -1;
    for (const auto& [token, token_id] : vocab) {
      if (token == *name) id = token_id;
    }
    if (id >= 0) added.push_back(AddedToken{*name, id});
  }
  return added;
}

}  // namespace

// ---------------------------------------------------------------------------

struct WordPieceTokenizer::Impl {
  TokenizerConfig config;
  std::vector<std::string> id_to_token;
  VocabTable vocab;
  AddedTokenMatcher raw_added;         // matched before normalization
  AddedTokenMatcher normalized_added;  // matched after normalization
  int32_t unk_id = -1;
  int32_t cls_id = -1;
  int32_t sep_id = -1;
  int32_t pad_id = -1;
  const UNormalizer2* nfd = nullptr;
  static constexpr size_t kMaxRun = size_t{1} << 20;  // UTF-16 units
  static constexpr int32_t kMaxId = 1 << 24;
  // Normalization of each ASCII byte: the byte it becomes, or -1 to drop it.
  std::array<int16_t, 128> ascii_map{};

  void Init() {
    for (int c = 0; c < 128; ++c) {
      int16_t out = static_cast<int16_t>(c);
      if (config.clean_text) {
        // Controls are dropped before whitespace is mapped, so \v and \f go
        // away while \t \n \r become spaces.
        if (c == '\t' || c == '\n' || c == '\r') {
          out = ' ';
        } else if (c < 0x20 || c == 0x7F) {
          out = -1;
        }
      }
      if (config.lowercase && c >= 'A' && c <= 'Z') out = c - 'A' + 'a';
      ascii_map[c] = out;
    }
  }

  int32_t Lookup(std::string_view token) const {
    int32_t id = vocab.Find(token, /*continuation=*/false);
    if (id >= 0) return id;
    const AddedToken* added = raw_added.FindContent(token);
    if (added == nullptr) added = normalized_added.FindContent(token);
    return added != nullptr ? added->id : -1;
  }

  void AppendLowercase(UChar32 c, std::string* out) const {
    if (!config.lowercase) {
      AppendUtf8(c, out);
    } else if (c == 0x130) {
      // The only unconditional multi-code-point lowercase mapping (Rust's
      // char::to_lowercase; u_tolower gives the simple mapping 'i').
      out->push_back('i');
      AppendUtf8(0x307, out);
    } else {
      AppendUtf8(u_tolower(c), out);
    }
  }

  // NFD (when stripping accents), drop Mn, lowercase: the steps after
  // clean-up, applied to a run of non-ASCII code points. NFD needs the whole
  // run because it reorders combining marks; an ASCII character that
  // survives clean-up always starts a new run.
  void FlushRun(Scratch* scratch) const {
    if (scratch->run.empty()) return;
    const UChar* source = scratch->run.data();
    int32_t length = static_cast<int32_t>(scratch->run.size());
    if (config.strip_accents) {
      UErrorCode err = U_ZERO_ERROR;
      int32_t normalized_prefix =
          unorm2_spanQuickCheckYes(nfd, source, length, &err);
      if (U_SUCCESS(err) && normalized_prefix < length) {
        scratch->nfd.resize(static_cast<size_t>(length) * 3 + 4);
        err = U_ZERO_ERROR;
        int32_t out_length =
            unorm2_normalize(nfd, source, length, scratch->nfd.data(),
                             static_cast<int32_t>(scratch->nfd.size()), &err);
        if (err == U_BUFFER_OVERFLOW_ERROR) {
          scratch->nfd.resize(out_length);
          err = U_ZERO_ERROR;
          out_length =
              unorm2_normalize(nfd, source, length, scratch->nfd.data(),
                               static_cast<int32_t>(scratch->nfd.size()), &err);
        }
        // ICU only fails here on allocation; keeping the text un-decomposed
        // is then the best we can do.
        if (U_SUCCESS(err)) {
          source = scratch->nfd.data();
          length = out_length;
        }
      }
    }
    std::string* out = &scratch->normalized;
    for (int32_t i = 0; i < length;) {
      UChar32 c;
      U16_NEXT(source, i, length, c);
      if (config.strip_accents && u_charType(c) == U_NON_SPACING_MARK) {
        continue;
      }
      AppendLowercase(c, out);
    }
    scratch->run.clear();
  }

  // BertNormalizer: writes the normalized text into scratch->normalized.
  void Normalize(std::string_view text, Scratch* scratch) const {
    std::string& out = scratch->normalized;
    out.clear();
    out.reserve(text.size() + 16);
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
      const uint8_t byte = p[i];
      if (byte < 0x80) {
        ++i;
        const int16_t mapped = ascii_map[byte];
        if (mapped < 0) continue;  // dropped: does not end a non-ASCII run
        if (!scratch->run.empty()) FlushRun(scratch);
        out.push_back(static_cast<char>(mapped));
        continue;
      }
      const UChar32 c = DecodeUtf8(p, n, &i);
      if (config.clean_text) {
        if (c == kReplacement || IsControl(c)) continue;
        if (IsWhitespace(c)) {
          FlushRun(scratch);
          out.push_back(' ');
          continue;
        }
      }
      // Bounds the UTF-16 buffer (and ICU's int32 lengths) on huge inputs;
      // cutting where NFD has a boundary keeps the result exact.
      if (scratch->run.size() >= kMaxRun && unorm2_hasBoundaryBefore(nfd, c)) {
        FlushRun(scratch);
      }
      if (config.split_chinese_chars && IsChineseChar(c)) {
        scratch->run.push_back(u' ');
        AppendUtf16(c, &scratch->run);
        scratch->run.push_back(u' ');
        continue;
      }
      AppendUtf16(c, &scratch->run);
    }
    FlushRun(scratch);
  }

  // Greedy longest-match-first over the characters of one word.
  void WordPiece(std::string_view word, std::vector<int32_t>* ids) const {
    const size_t n = word.size();
    const auto max_chars = static_cast<size_t>(config.max_input_chars_per_word);
    if (n > max_chars) {  // bytes >= characters, so only then count
      size_t chars = 0;
      for (char byte : word) {
        chars += (static_cast<uint8_t>(byte) & 0xC0) != 0x80;
      }
      if (chars > max_chars) {
        ids->push_back(unk_id);
        return;
      }
    }
    const size_t first_piece = ids->size();
    size_t start = 0;
    while (start < n) {
      const bool continuation = start > 0;
      size_t end = std::min(n, start + vocab.longest(continuation));
      while (end < n && end > start &&
             (static_cast<uint8_t>(word[end]) & 0xC0) == 0x80) {
        --end;
      }
      int32_t id = -1;
      while (end > start) {
        id = vocab.Find(word.substr(start, end - start), continuation);
        if (id >= 0) break;
        do {
          --end;
        } while (end > start &&
                 (static_cast<uint8_t>(word[end]) & 0xC0) == 0x80);
      }
      if (id < 0) {
        ids->resize(first_piece);
        ids->push_back(unk_id);
        return;
      }
      ids->push_back(id);
      start = end;
    }
  }

  // BertPreTokenizer (split on whitespace, isolate each punctuation
  // character) followed by WordPiece on each word. `text` is valid UTF-8.
  void SplitWords(std::string_view text, std::vector<int32_t>* ids) const {
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    const size_t n = text.size();
    constexpr size_t kNoWord = static_cast<size_t>(-1);
    size_t word_start = kNoWord;
    size_t i = 0;
    while (i < n) {
      const size_t at = i;
      CharClass cls;
      if (p[i] < 0x80) {
        cls = kAsciiClasses[p[i]];
        ++i;
      } else {
        const UChar32 c = DecodeUtf8(p, n, &i);
        cls = IsWhitespace(c)    ? CharClass::kSpace
              : IsPunctuation(c) ? CharClass::kPunct
                                 : CharClass::kWord;
      }
      if (cls == CharClass::kWord) {
        if (word_start == kNoWord) word_start = at;
        continue;
      }
      if (word_start != kNoWord) {
        WordPiece(text.substr(word_start, at - word_start), ids);
        word_start = kNoWord;
      }
      if (cls == CharClass::kPunct) WordPiece(text.substr(at, i - at), ids);
    }
    if (word_start != kNoWord) WordPiece(text.substr(word_start), ids);
  }

  void TokenizePiece(std::string_view piece, Scratch* scratch,
                     std::vector<int32_t>* ids) const {
    Normalize(piece, scratch);
    normalized_added.Split(
        scratch->normalized,
        [&](std::string_view text) { SplitWords(text, ids); },
        [&](int32_t id) { ids->push_back(id); });
  }

  void Tokenize(std::string_view text, std::vector<int32_t>* ids) const {
    Scratch scratch;
    raw_added.Split(
        text,
        [&](std::string_view piece) { TokenizePiece(piece, &scratch, ids); },
        [&](int32_t id) { ids->push_back(id); });
  }

  // Builds the tokenizer once the vocabulary and settings are known. `source`
  // names the file in error messages.
  static Result<std::unique_ptr<Impl>> Build(
      const std::string& source, TokenizerConfig config,
      const std::vector<std::pair<std::string, int32_t>>& vocab,
      std::vector<AddedToken> added) {
    if (config.max_input_chars_per_word <= 0) {
      return Status::InvalidArgument(source + ": max_input_chars_per_word",
                                     "must be positive");
    }
    auto impl = std::make_unique<Impl>();
    impl->config = std::move(config);
    UErrorCode err = U_ZERO_ERROR;
    impl->nfd = unorm2_getNFDInstance(&err);
    if (U_FAILURE(err)) {
      return Status::Internal("ICU NFD normalizer", u_errorName(err));
    }
    impl->Init();

    int32_t max_id = -1;
    for (const auto& [token, id] : vocab) max_id = std::max(max_id, id);
    for (const AddedToken& token : added) max_id = std::max(max_id, token.id);
    // Ids index a dense table; a stray huge id would allocate gigabytes.
    if (max_id >= kMaxId) {
      return Status::InvalidArgument(
          source + ": token id " + std::to_string(max_id),
          "ids must be below 2^24");
    }
    impl->id_to_token.resize(static_cast<size_t>(max_id) + 1);

    const std::string& prefix = impl->config.continuing_prefix;
    for (const auto& [token, id] : vocab) {
      impl->id_to_token[id] = token;
      impl->vocab.Insert(token, /*continuation=*/false, id);
      if (token.size() > prefix.size() && token.starts_with(prefix)) {
        impl->vocab.Insert(std::string_view(token).substr(prefix.size()),
                           /*continuation=*/true, id);
      }
    }
    for (AddedToken& token : added) {
      impl->id_to_token[token.id] = token.content;
      if (token.normalized) {
        // HF matches a normalized added token by its normalized content.
        Scratch scratch;
        impl->Normalize(token.content, &scratch);
        token.content = scratch.normalized;
        impl->normalized_added.Add(std::move(token));
      } else {
        impl->raw_added.Add(std::move(token));
      }
    }
    impl->raw_added.Finish();
    impl->normalized_added.Finish();

    const TokenizerConfig& c = impl->config;
    impl->unk_id = impl->Lookup(c.unk_token);
    impl->cls_id = impl->Lookup(c.cls_token);
    impl->sep_id = impl->Lookup(c.sep_token);
    impl->pad_id = impl->Lookup(c.pad_token);
    for (const auto& [name, token, id] :
         {std::tuple<const char*, const std::string&, int32_t>{
              "unk_token", c.unk_token, impl->unk_id},
          {"cls_token", c.cls_token, impl->cls_id},
          {"sep_token", c.sep_token, impl->sep_id}}) {
      if (id < 0) {
        return Status::InvalidArgument(
            source + ": " + name, "\"" + token + "\" is not in the vocabulary");
      }
    }
    return impl;
  }

  static Result<std::unique_ptr<Impl>> FromVocabText(
      const std::string& content, const std::string& path,
      const TokenizerConfig& config) {
    std::vector<std::pair<std::string, int32_t>> vocab;
    size_t start = 0;
    while (start < content.size()) {
      size_t end = content.find('\n', start);
      if (end == std::string::npos) end = content.size();
      std::string_view line(content.data() + start, end - start);
      // Python's load_vocab strips only "\n"; we also drop a CRLF's "\r",
      // which no real token ends with.
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (vocab.size() >=
          static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
        return Status::InvalidArgument(path, "too many tokens");
      }
      vocab.emplace_back(std::string(line), static_cast<int32_t>(vocab.size()));
      start = end + 1;
    }
    if (vocab.empty()) return Status::InvalidArgument(path, "empty vocabulary");
    return Build(path, config, vocab, SpecialTokensOf(config, vocab));
  }

  // tokenizer.json as written by the tokenizers library. Token names that
  // tokenizer.json does not carry (pad, mask) come from `config`.
  static Result<std::unique_ptr<Impl>> FromTokenizerJson(
      const std::string& content, const std::string& path,
      TokenizerConfig config) {
    JsonReader json(path);
    simdjson::dom::parser parser;
    object root;
    CASCADE_RETURN_IF_ERROR(json.Parse(&parser, content, &root));

    // model: the WordPiece vocabulary.
    std::optional<element> model_value = JsonReader::Get(root, "model");
    object model;
    if (!model_value ||
        model_value->get_object().get(model) != simdjson::SUCCESS) {
      return json.Bad("model", "expected an object");
    }
    std::string model_type = "WordPiece";
    CASCADE_RETURN_IF_ERROR(
        json.String(model, "type", "model.type", &model_type));
    if (model_type != "WordPiece") {
      return Status::NotSupported(path + ": model.type", model_type);
    }
    CASCADE_RETURN_IF_ERROR(
        json.String(model, "unk_token", "model.unk_token", &config.unk_token));
    CASCADE_RETURN_IF_ERROR(json.String(model, "continuing_subword_prefix",
                                        "model.continuing_subword_prefix",
                                        &config.continuing_prefix));
    if (std::optional<element> value =
            JsonReader::Get(model, "max_input_chars_per_word")) {
      int32_t max_chars;
      CASCADE_RETURN_IF_ERROR(
          json.Index(*value, "model.max_input_chars_per_word", &max_chars));
      config.max_input_chars_per_word = max_chars;
    }
    std::optional<element> vocab_value = JsonReader::Get(model, "vocab");
    object vocab_object;
    if (!vocab_value ||
        vocab_value->get_object().get(vocab_object) != simdjson::SUCCESS) {
      return json.Bad("model.vocab", "expected an object of token -> id");
    }
    std::vector<std::pair<std::string, int32_t>> vocab;
    for (auto field : vocab_object) {
      int32_t id;
      CASCADE_RETURN_IF_ERROR(json.Index(
          field.value, "model.vocab[\"" + std::string(field.key) + "\"]", &id));
      vocab.emplace_back(std::string(field.key), id);
    }
    if (vocab.empty()) return json.Bad("model.vocab", "empty vocabulary");

    // normalizer: BertNormalizer, or none at all.
    if (std::optional<element> value = JsonReader::Get(root, "normalizer")) {
      object normalizer;
      if (value->get_object().get(normalizer) != simdjson::SUCCESS) {
        return json.Bad("normalizer", "expected an object");
      }
      std::string type;
      CASCADE_RETURN_IF_ERROR(
          json.String(normalizer, "type", "normalizer.type", &type));
      if (type != "BertNormalizer") {
        return Status::NotSupported(path + ": normalizer.type", type);
      }
      config.clean_text = true;
      config.split_chinese_chars = true;
      config.lowercase = true;
      CASCADE_RETURN_IF_ERROR(json.Bool(normalizer, "clean_text",
                                        "normalizer.clean_text",
                                        &config.clean_text));
      CASCADE_RETURN_IF_ERROR(json.Bool(normalizer, "handle_chinese_chars",
                                        "normalizer.handle_chinese_chars",
                                        &config.split_chinese_chars));
      CASCADE_RETURN_IF_ERROR(json.Bool(
          normalizer, "lowercase", "normalizer.lowercase", &config.lowercase));
      config.strip_accents = config.lowercase;  // null: follows lowercase
      CASCADE_RETURN_IF_ERROR(json.Bool(normalizer, "strip_accents",
                                        "normalizer.strip_accents",
                                        &config.strip_accents));
    } else {
      config.clean_text = false;
      config.split_chinese_chars = false;
      config.lowercase = false;
      config.strip_accents = false;
    }

    // pre_tokenizer: without BertPreTokenizer the words would differ.
    {
      std::string type;
      std::optional<element> value = JsonReader::Get(root, "pre_tokenizer");
      object pre_tokenizer;
      if (value &&
          value->get_object().get(pre_tokenizer) == simdjson::SUCCESS) {
        CASCADE_RETURN_IF_ERROR(
            json.String(pre_tokenizer, "type", "pre_tokenizer.type", &type));
      }
      if (type != "BertPreTokenizer") {
        return Status::NotSupported(path + ": pre_tokenizer.type",
                                    type.empty() ? "none" : type);
      }
    }

    // post_processor: which tokens frame a pair. TemplateProcessing names them
    // in its "pair" template; BertProcessing as "cls"/"sep": [token, id].
    if (std::optional<element> value =
            JsonReader::Get(root, "post_processor")) {
      object post;
      if (value->get_object().get(post) != simdjson::SUCCESS) {
        return json.Bad("post_processor", "expected an object");
      }
      simdjson::dom::array pair;
      std::optional<element> pair_value = JsonReader::Get(post, "pair");
      std::vector<std::string> specials;
      if (pair_value &&
          pair_value->get_array().get(pair) == simdjson::SUCCESS) {
        for (element item : pair) {
          element special;
          std::string_view id;
          if (item.at_key("SpecialToken").get(special) == simdjson::SUCCESS &&
              special.at_key("id").get_string().get(id) == simdjson::SUCCESS) {
            specials.emplace_back(id);
          }
        }
        if (specials.size() >= 2) {
          config.cls_token = specials.front();
          config.sep_token = specials.back();
        }
      }
      for (auto [key, out] :
           {std::pair<const char*, std::string*>{"cls", &config.cls_token},
            {"sep", &config.sep_token}}) {
        simdjson::dom::array entry;
        std::string_view name;
        std::optional<element> entry_value = JsonReader::Get(post, key);
        if (entry_value &&
            entry_value->get_array().get(entry) == simdjson::SUCCESS &&
            entry.at(0).get_string().get(name) == simdjson::SUCCESS) {
          out->assign(name);
        }
      }
    }
    if (std::optional<element> value = JsonReader::Get(root, "padding")) {
      object padding;
      if (value->get_object().get(padding) == simdjson::SUCCESS) {
        CASCADE_RETURN_IF_ERROR(json.String(
            padding, "pad_token", "padding.pad_token", &config.pad_token));
      }
    }

    // added_tokens: matched before the model, in raw or normalized text.
    std::vector<AddedToken> added;
    if (std::optional<element> value = JsonReader::Get(root, "added_tokens")) {
      simdjson::dom::array list;
      if (value->get_array().get(list) != simdjson::SUCCESS) {
        return json.Bad("added_tokens", "expected an array");
      }
      size_t index = 0;
      for (element item : list) {
        const std::string field =
            "added_tokens[" + std::to_string(index++) + "]";
        object token_object;
        if (item.get_object().get(token_object) != simdjson::SUCCESS) {
          return json.Bad(field, "expected an object");
        }
        AddedToken token;
        std::optional<element> id_value = JsonReader::Get(token_object, "id");
        if (!id_value) return json.Bad(field + ".id", "missing");
        CASCADE_RETURN_IF_ERROR(
            json.Index(*id_value, field + ".id", &token.id));
        CASCADE_RETURN_IF_ERROR(json.String(
            token_object, "content", field + ".content", &token.content));
        bool special = false;
        CASCADE_RETURN_IF_ERROR(
            json.Bool(token_object, "special", field + ".special", &special));
        token.normalized = !special;  // tokenizers' default
        CASCADE_RETURN_IF_ERROR(json.Bool(token_object, "normalized",
                                          field + ".normalized",
                                          &token.normalized));
        CASCADE_RETURN_IF_ERROR(json.Bool(token_object, "lstrip",
                                          field + ".lstrip", &token.lstrip));
        CASCADE_RETURN_IF_ERROR(json.Bool(token_object, "rstrip",
                                          field + ".rstrip", &token.rstrip));
        CASCADE_RETURN_IF_ERROR(json.Bool(token_object, "single_word",
                                          field + ".single_word",
                                          &token.single_word));
        added.push_back(std::move(token));
      }
    }
    return Build(path, std::move(config), vocab, std::move(added));
  }
};

// ---------------------------------------------------------------------------

WordPieceTokenizer::WordPieceTokenizer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

WordPieceTokenizer::~WordPieceTokenizer() = default;

Result<TokenizerFiles> ReadTokenizerFiles(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::NotFound("tokenizer folder", dir);
  }
  const std::filesystem::path folder(dir);
  TokenizerFiles files;
  files.source = dir;
  const std::string config_path = (folder / "tokenizer_config.json").string();
  if (FileExists(config_path)) {
    CASCADE_ASSIGN_OR_RETURN(files.tokenizer_config_json, ReadFile(config_path));
  }
  const std::string json_path = (folder / "tokenizer.json").string();
  const std::string vocab_path = (folder / "vocab.txt").string();
  if (FileExists(json_path)) {
    CASCADE_ASSIGN_OR_RETURN(files.tokenizer_json, ReadFile(json_path));
  } else if (FileExists(vocab_path)) {
    CASCADE_ASSIGN_OR_RETURN(files.vocab_txt, ReadFile(vocab_path));
  } else {
    return Status::NotFound("no tokenizer.json or vocab.txt in", dir);
  }
  return files;
}

Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromFiles(
    const TokenizerFiles& files) {
  const std::filesystem::path folder(files.source);
  TokenizerConfig config;
  if (!files.tokenizer_config_json.empty()) {
    CASCADE_RETURN_IF_ERROR(ParseTokenizerConfig(
        files.tokenizer_config_json,
        (folder / "tokenizer_config.json").string(), &config));
  }
  std::unique_ptr<Impl> impl;
  if (!files.tokenizer_json.empty()) {
    CASCADE_ASSIGN_OR_RETURN(
        impl, Impl::FromTokenizerJson(files.tokenizer_json,
                                      (folder / "tokenizer.json").string(), config));
  } else if (!files.vocab_txt.empty()) {
    CASCADE_ASSIGN_OR_RETURN(
        impl, Impl::FromVocabText(files.vocab_txt,
                                  (folder / "vocab.txt").string(), config));
  } else {
    return Status::InvalidArgument("no tokenizer.json or vocab.txt in",
                                   files.source);
  }
  return std::unique_ptr<WordPieceTokenizer>(
      new WordPieceTokenizer(std::move(impl)));
}

Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromFolder(
    const std::string& dir) {
  CASCADE_ASSIGN_OR_RETURN(TokenizerFiles files, ReadTokenizerFiles(dir));
  return FromFiles(files);
}

Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::FromVocabFile(
    const std::string& path, const TokenizerConfig& config) {
  CASCADE_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                           Impl::FromVocabText(content, path, config));
  return std::unique_ptr<WordPieceTokenizer>(
      new WordPieceTokenizer(std::move(impl)));
}

void WordPieceTokenizer::Tokenize(std::string_view text,
                                  std::vector<int32_t>* ids) const {
  impl_->Tokenize(text, ids);
}

std::vector<std::string> WordPieceTokenizer::TokenStrings(
    std::string_view text) const {
  std::vector<int32_t> ids;
  impl_->Tokenize(text, &ids);
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) tokens.emplace_back(token(id));
  return tokens;
}

Result<Encoding> WordPieceTokenizer::EncodePair(std::string_view query,
                                                std::string_view passage,
                                                size_t max_length,
                                                Truncation truncation) const {
  constexpr size_t kSpecialTokens = 3;  // [CLS] q [SEP] p [SEP]
  if (max_length < kSpecialTokens) {
    return Status::InvalidArgument(
        "EncodePair: max_length " + std::to_string(max_length),
        "must be at least 3 ([CLS], [SEP], [SEP])");
  }
  std::vector<int32_t> first, second;
  impl_->Tokenize(query, &first);
  impl_->Tokenize(passage, &second);
  const size_t budget = max_length - kSpecialTokens;
  size_t keep_first = first.size();
  size_t keep_second = second.size();
  if (keep_first + keep_second > budget) {
    if (truncation == Truncation::kOnlySecond) {
      const size_t excess = keep_first + keep_second - budget;
      // tokenizers refuses when the passage would be left empty, too.
      if (keep_second <= excess) {
        return Status::InvalidArgument(
            "EncodePair: only_second truncation to max_length " +
                std::to_string(max_length),
            "the query alone has " + std::to_string(keep_first) + " tokens");
      }
      keep_second -= excess;
    } else {
      // longest_first as the fixtures from transformers 5 show it: tokens go
      // from the longer side until both are equal, then alternately from
      // the first and the second, so an odd budget leaves the extra token
      // to the second whichever was longer. (tokenizers' Rust code and the
      // older Python loop would give it to the longer or the first side.)
      const size_t shorter = std::min(keep_first, keep_second);
      if (shorter * 2 <= budget) {
        // Only the longer side shrinks.
        if (keep_first > keep_second) {
          keep_first = budget - keep_second;
        } else {
          keep_second = budget - keep_first;
        }
      } else {
        keep_first = budget / 2;
        keep_second = budget - keep_first;
      }
    }
  }
  Encoding encoding;
  const size_t total = keep_first + keep_second + kSpecialTokens;
  encoding.ids.reserve(total);
  encoding.ids.push_back(impl_->cls_id);
  encoding.ids.insert(encoding.ids.end(), first.begin(),
                      first.begin() + keep_first);
  encoding.ids.push_back(impl_->sep_id);
  encoding.ids.insert(encoding.ids.end(), second.begin(),
                      second.begin() + keep_second);
  encoding.ids.push_back(impl_->sep_id);
  encoding.type_ids.assign(keep_first + 2, 0);
  encoding.type_ids.resize(total, 1);
  return encoding;
}

Result<Encoding> WordPieceTokenizer::EncodeSingle(std::string_view text,
                                                  size_t max_length) const {
  if (max_length < 2) {
    return Status::InvalidArgument(
        "EncodeSingle: max_length " + std::to_string(max_length),
        "must be at least 2 ([CLS], [SEP])");
  }
  Encoding encoding;
  encoding.ids.push_back(impl_->cls_id);
  impl_->Tokenize(text, &encoding.ids);
  if (encoding.ids.size() > max_length - 1) encoding.ids.resize(max_length - 1);
  encoding.ids.push_back(impl_->sep_id);
  encoding.type_ids.assign(encoding.ids.size(), 0);
  return encoding;
}

const TokenizerConfig& WordPieceTokenizer::config() const {
  return impl_->config;
}

size_t WordPieceTokenizer::vocab_size() const {
  return impl_->id_to_token.size();
}

int32_t WordPieceTokenizer::cls_id() const { return impl_->cls_id; }
int32_t WordPieceTokenizer::sep_id() const { return impl_->sep_id; }
int32_t WordPieceTokenizer::pad_id() const { return impl_->pad_id; }
int32_t WordPieceTokenizer::unk_id() const { return impl_->unk_id; }

std::string_view WordPieceTokenizer::token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size()) {
    return {};
  }
  return impl_->id_to_token[id];
}

int32_t WordPieceTokenizer::id(std::string_view token) const {
  return impl_->Lookup(token);
}

}  // namespace cascade::rerank
