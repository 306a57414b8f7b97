// WordPieceTokenizer: BERT's tokenizer, producing exactly the ids Hugging
// Face's BertTokenizer (and tokenizers' BertWordPiece pipeline) produce.
//
// Steps: text cleaning (drop NUL, U+FFFD and control characters; map
// whitespace to spaces), spaces around CJK ideographs, lowercasing and
// accent stripping (NFD, then drop combining marks) when configured,
// whitespace split, punctuation split, then greedy longest-match-first
// WordPiece with "##" continuations; a word with no match, or longer than
// max_input_chars_per_word characters, becomes [UNK].
//
// Thread-safety: immutable after creation; const methods may be called from
// several threads at once.
#ifndef CASCADE_RERANK_WORDPIECE_H_
#define CASCADE_RERANK_WORDPIECE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::rerank {

// Mirrors tokenizers' BertNormalizer and WordPiece settings. Special tokens
// (unk, cls, sep, pad, mask) that are in the vocabulary are matched in the raw
// text before normalization, as HF's added-token pass does, so "[SEP]" in a
// passage becomes the [SEP] id, while "[sep]" does not.
struct TokenizerConfig {
  bool lowercase = true;
  bool strip_accents = true;  // HF: defaults to `lowercase` when unset
  bool split_chinese_chars = true;
  // Drop NUL, U+FFFD and Cc/Cf/Co characters; map White_Space to ' '.
  bool clean_text = true;
  int max_input_chars_per_word = 100;  // longer words become unk_token
  std::string unk_token = "[UNK]";     // must be in the vocabulary
  std::string cls_token = "[CLS]";     // must be in the vocabulary
  std::string sep_token = "[SEP]";     // must be in the vocabulary
  std::string pad_token = "[PAD]";     // pad_id() is -1 when absent
  std::string mask_token = "[MASK]";   // only matched as a special token
  std::string continuing_prefix = "##";
};

enum class Truncation {
  // Drop tokens from the longer of the two, one at a time; once they are
  // equal, alternately from the query and the passage, so an odd budget
  // leaves the extra token to the passage (what transformers 5 produces).
  kLongestFirst,
  kOnlySecond,  // drop tokens from the passage only
};

struct Encoding {
  std::vector<int32_t> ids;       // with special tokens
  std::vector<int32_t> type_ids;  // 0 for [CLS] q [SEP], 1 for p [SEP]
};

// The files a tokenizer is built from, read into memory (an index stores
// them so that query-time tokenization needs no model folder).
struct TokenizerFiles {
  std::string source;                 // where they came from, for errors
  std::string tokenizer_json;         // empty when absent
  std::string vocab_txt;              // used when tokenizer_json is empty
  std::string tokenizer_config_json;  // empty when absent
};

// Reads tokenizer.json (or vocab.txt) and tokenizer_config.json from a model
// folder. NotFound when the folder or both vocabularies are missing.
Result<TokenizerFiles> ReadTokenizerFiles(const std::string& dir);

class WordPieceTokenizer {
 public:
  // From a model folder: tokenizer.json when present (its normalizer
  // settings, vocabulary and added tokens), else vocab.txt with
  // tokenizer_config.json (do_lower_case, strip_accents,
  // tokenize_chinese_chars, token names). NotFound when the folder or both
  // vocabularies are missing; InvalidArgument naming file and field for a
  // malformed one; NotSupported for a tokenizer.json whose model is not
  // WordPiece or whose normalizer / pre-tokenizer is not BERT's.
  static Result<std::unique_ptr<WordPieceTokenizer>> FromFolder(
      const std::string& dir);
  // The same from files already in memory (errors name files.source).
  static Result<std::unique_ptr<WordPieceTokenizer>> FromFiles(
      const TokenizerFiles& files);
  // From a vocab.txt (one token per line; id = line number - 1). NotFound
  // when the file is missing; InvalidArgument when unk, cls or sep is not in
  // it.
  static Result<std::unique_ptr<WordPieceTokenizer>> FromVocabFile(
      const std::string& path, const TokenizerConfig& config);
  ~WordPieceTokenizer();

  // Appends the ids of `text` (UTF-8; invalid bytes are treated like
  // U+FFFD) to *ids, without special tokens.
  void Tokenize(std::string_view text, std::vector<int32_t>* ids) const;
  // The token strings of `text` (for tests and `cascade model info`).
  std::vector<std::string> TokenStrings(std::string_view text) const;

  // [CLS] query [SEP] passage [SEP], truncated to max_length tokens.
  // InvalidArgument when max_length < 3, or, for kOnlySecond, when the
  // passage would have to lose all of its tokens (HF refuses that too).
  Result<Encoding> EncodePair(std::string_view query, std::string_view passage,
                              size_t max_length, Truncation truncation) const;
  // [CLS] text [SEP], truncated to max_length tokens (>= 2).
  Result<Encoding> EncodeSingle(std::string_view text, size_t max_length) const;

  const TokenizerConfig& config() const;
  // Number of ids: the highest id (vocabulary or added token) plus one.
  size_t vocab_size() const;
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t pad_id() const;
  int32_t unk_id() const;
  // The token of an id ("" when out of range).
  std::string_view token(int32_t id) const;
  // The id of a token, or -1.
  int32_t id(std::string_view token) const;

 private:
  struct Impl;
  explicit WordPieceTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade::rerank

#endif  // CASCADE_RERANK_WORDPIECE_H_
