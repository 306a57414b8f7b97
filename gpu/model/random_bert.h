// Randomly initialised BERT models of real shapes, for speed benchmarks
// and tests that need no checkpoint: speed does not depend on the values,
// and a GPU backend can be checked against the CPU one on any shape.
//
// Thread-safety: pure functions.
#ifndef CASCADE_GPU_MODEL_RANDOM_BERT_H_
#define CASCADE_GPU_MODEL_RANDOM_BERT_H_

#include <cstdint>
#include <string_view>

#include "cascade/status.h"
#include "gpu/backend.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"

namespace cascade::gpu {

// A one-label cross-encoder config of a named shape:
//   "minilm-l6"  hidden 384, 6 layers, 12 heads, FFN 1536 (the shape of
//                cross-encoder/ms-marco-MiniLM-L-6-v2)
//   "bert-base"  hidden 768, 12 layers, 12 heads, FFN 3072
// Both: vocab 30522, 512 positions, 2 token types, erf GELU.
// InvalidArgument for another name.
Result<ModelConfig> CrossEncoderShape(std::string_view name);

// Weights for `config` (its kind decides the head): uniform in
// [-scale, scale] (the default is about BERT's initialiser, std 0.02);
// LayerNorm gamma 1 and beta 0 unless `random_norms`, which draws them too
// (1 +- scale, +- scale) so that a wrong formula shows. Same seed, same
// weights.
BertWeights RandomBertWeights(const ModelConfig& config, uint32_t seed,
                              float scale = 0.035f, bool random_norms = false);

// `pairs` sequences of `length` tokens each, [CLS] query [SEP] passage
// [SEP] with the query a quarter of the tokens, word ids drawn from
// [1000, 30000) (clamped to the vocabulary).
PairBatch RandomPairs(int pairs, int length, int vocab_size, uint32_t seed);

// `pairs` sequences whose lengths are drawn uniformly from
// [min_length, max_length], otherwise as RandomPairs.
PairBatch RandomMixedPairs(int pairs, int min_length, int max_length,
                           int vocab_size, uint32_t seed);

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_MODEL_RANDOM_BERT_H_
