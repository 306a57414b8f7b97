// The model-side halves of TILDEv2 that need a tokenizer or a model: which
// query tokens count (stop ids), and turning passages into per-token
// weights with a token weigher (index time).
//
// Query tokens follow the TILDEv2 reference: the query's WordPiece ids
// without special tokens, minus "stop ids": NLTK's English stopwords (less
// the question words where/how/what/when/which/why/who) that are a single
// token, the "##s" suffix, and every token that is not a "##" continuation
// and is not made only of ASCII letters, digits, '_' and '-' (punctuation,
// bracketed specials, non-ASCII pieces).
//
// Thread-safety: TildeQueryEncoder is immutable after creation (const
// methods from any thread); WeighPassages uses the model, one call at a time.
#ifndef CASCADE_RERANK_TILDE_QUERY_H_
#define CASCADE_RERANK_TILDE_QUERY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cascade/status.h"
#include "rerank/neural_model.h"
#include "rerank/wordpiece.h"

namespace cascade::rerank {

// The stop ids of a vocabulary, sorted.
std::vector<int32_t> TildeStopIds(const WordPieceTokenizer& tokenizer);

class TildeQueryEncoder {
 public:
  // `tokenizer` must outlive the encoder.
  explicit TildeQueryEncoder(const WordPieceTokenizer* tokenizer);
  // The query ids a TILDE score sums over, in query order (repeats kept).
  std::vector<int32_t> Encode(std::string_view query) const;
  const WordPieceTokenizer& tokenizer() const { return *tokenizer_; }

 private:
  const WordPieceTokenizer* tokenizer_;
  std::vector<int32_t> stop_ids_;
};

// Distinct token ids with a weight (not yet quantized).
using TokenWeightList = std::vector<std::pair<int32_t, float>>;

// Runs a token weigher over passages (each truncated to the model's maximum
// length) and max-pools each passage's weights per distinct id, leaving out
// special tokens and weights <= 0. NotSupported unless `model` is a token
// weigher.
Result<std::vector<TokenWeightList>> WeighPassages(
    NeuralModel& model, std::span<const std::string> passages);

// Maps precomputed {"token": weight} entries to ids of `tokenizer`, keeping
// the maximum weight of a repeated token. InvalidArgument naming the token
// for one that is not in the vocabulary, an empty token, or a weight that is
// negative or not finite.
Result<TokenWeightList> MapTokenWeights(
    const WordPieceTokenizer& tokenizer,
    std::span<const std::pair<std::string, float>> entries);

}  // namespace cascade::rerank

#endif  // CASCADE_RERANK_TILDE_QUERY_H_
