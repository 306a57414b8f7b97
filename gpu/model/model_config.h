// ModelConfig: what a Hugging Face checkpoint folder holds, read from its
// config.json (and, for sentence-transformers models, modules.json and
// 1_Pooling/config.json), before any weight is loaded.
//
// Supported layouts:
//   BertForSequenceClassification  cross-encoder; num_labels 1 (the logit is
//                                  the score) or 2 (softmax, the positive
//                                  label's probability is the score)
//   sentence-transformers BertModel bi-encoder: modules.json lists a
//                                  Pooling module (CLS or mean) and maybe
//                                  Normalize; weights at the root
//   TILDEv2                        token weigher: bert.* plus tok_proj
//                                  (Linear hidden -> 1); detected from the
//                                  weights (architectures may say BertModel
//                                  or TILDEv2)
// Anything else is refused with NotSupported naming the architecture.
//
// Thread-safety: plain values and pure functions.
#ifndef CASCADE_GPU_MODEL_MODEL_CONFIG_H_
#define CASCADE_GPU_MODEL_MODEL_CONFIG_H_

#include <string>
#include <string_view>

#include "cascade/status.h"

namespace cascade::gpu {

enum class ModelKind { kCrossEncoder, kBiEncoder, kTokenWeigher };
enum class Pooling { kCls, kMean };
enum class Activation { kGeluErf, kGeluTanh, kRelu };

std::string_view ModelKindName(ModelKind kind);  // "cross-encoder", ...

struct BertConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 512;
  int type_vocab_size = 2;
  float layer_norm_eps = 1e-12f;
  Activation activation = Activation::kGeluErf;  // config "hidden_act"
};

struct ModelConfig {
  std::string dir;           // the checkpoint folder
  std::string architecture;  // config.json "architectures"[0], or "" if absent
  ModelKind kind = ModelKind::kCrossEncoder;
  BertConfig bert;
  int num_labels = 1;                  // cross-encoder only
  Pooling pooling = Pooling::kCls;     // bi-encoder only
  bool normalize = false;              // bi-encoder only: L2-normalise
  std::string weights_file;            // absolute path of model.safetensors
};

// The one-line command that converts a folder's pytorch_model.bin into
// model.safetensors (MODEL_DIR stands for the folder); the NotSupported
// error for a pickle-only folder quotes it.
extern const char kSafetensorsConversion[];

// Reads the configuration of the checkpoint in `dir`. config.json must give
// model_type, vocab_size, hidden_size, num_hidden_layers,
// num_attention_heads and intermediate_size; the other BertConfig fields
// take transformers' defaults when absent. Errors:
//  NotFound        no folder, no config.json, or no model.safetensors;
//  InvalidArgument config.json (or modules.json, pooling config) malformed
//                  or missing a field, or hidden_size not divisible by the
//                  head count (the message names file and field);
//  NotSupported    an architecture other than the above, a model_type
//                  other than bert, a hidden_act other than gelu / gelu_new /
//                  gelu_pytorch_tanh / gelu_fast / relu, a non-absolute
//                  position_embedding_type, pooling other than CLS or mean,
//                  a sentence-transformers module other than Pooling and
//                  Normalize, a cross-encoder with other than 1 or 2 labels;
//                  a folder with pytorch_model.bin but no model.safetensors
//                  (the message quotes kSafetensorsConversion).
// The kind is decided from the files: modules.json => bi-encoder;
// architectures[0] == "BertForSequenceClassification" => cross-encoder;
// "TILDE" in architectures[0], or a tok_proj.weight tensor in the weights
// (the file's header is read for that) => token weigher. A cross-encoder's
// num_labels is the size of id2label, else num_labels, else 2, as in
// transformers.
Result<ModelConfig> LoadModelConfig(const std::string& dir);

}  // namespace cascade::gpu

#endif  // CASCADE_GPU_MODEL_MODEL_CONFIG_H_
