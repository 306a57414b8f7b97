// BertWeights: the parameters of a BERT encoder and its head, in fp32,
// loaded from a checkpoint by tensor name with every shape checked.
//
// Layout convention (written down once): a Linear's weight is row-major
// [out][in], as PyTorch stores it, so y = x W^T + b; embeddings are
// [rows][hidden].
//
// Tensor names: "<p>embeddings.word_embeddings.weight", ...,
// "<p>encoder.layer.<i>.attention.self.query.weight", ..., where <p> is
// "bert." for BertForSequenceClassification and TILDEv2, "" for
// sentence-transformers BertModel (a "bert." prefix is accepted there too).
// LayerNorm parameters may be called weight/bias or gamma/beta (older
// checkpoints).
#ifndef CASCADE_GPU_MODEL_BERT_WEIGHTS_H_
#define CASCADE_GPU_MODEL_BERT_WEIGHTS_H_

#include <optional>
#include <string_view>
#include <vector>

#include "cascade/status.h"
#include "gpu/model/model_config.h"

namespace cascade::gpu {

struct LinearWeights {
  int in = 0, out = 0;
  std::vector<float> weight;  // [out][in]
  std::vector<float> bias;    // [out]
};

struct LayerNormWeights {
  std::vector<float> gamma, beta;  // [hidden]
};

struct BertLayerWeights {
  LinearWeights query, key, value, attention_output;
  LayerNormWeights attention_norm;
  LinearWeights intermediate, output;
  LayerNormWeights output_norm;
};

struct BertWeights {
  std::vector<float> word_embeddings;      // [vocab][hidden]
  std::vector<float> position_embeddings;  // [max_position][hidden]
  std::vector<float> token_type_embeddings;  // [type_vocab][hidden]
  LayerNormWeights embedding_norm;
  std::vector<BertLayerWeights> layers;
  std::optional<LinearWeights> pooler;      // cross-encoder: tanh(W h_cls + b)
  std::optional<LinearWeights> classifier;  // cross-encoder: [num_labels][hidden]
  std::optional<LinearWeights> token_projection;  // TILDEv2: [1][hidden]
};

// Loads and checks every tensor the model kind needs from
// config.weights_file. Errors name the missing or mis-shaped tensor
// (NotFound / InvalidArgument) or the file (Corruption).
Result<BertWeights> LoadBertWeights(const ModelConfig& config);

// Checks every tensor's size against the config and that the model's kind
// has its head (every backend's Create runs it). InvalidArgument names the
// tensor; NotSupported for a cross-encoder with other than 1 or 2 labels.
Status CheckBertWeights(const ModelConfig& config, const BertWeights& weights);

// NotSupported for a backend call whose head the model lacks, e.g.
// MissingHead("Score", "cross-encoder", kind).
Status MissingHead(std::string_view method, std::string_view needs,
                   ModelKind kind);

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_MODEL_BERT_WEIGHTS_H_
