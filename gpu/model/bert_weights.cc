#include "gpu/model/bert_weights.h"

#include <memory>
#include <string>
#include <utility>

#include "gpu/model/safetensors.h"

namespace cascade::gpu {

namespace {

class WeightReader {
 public:
  WeightReader(const SafetensorsFile& file, std::string prefix)
      : file_(file), prefix_(std::move(prefix)) {}

  // "<base>.weight" [out][in] and "<base>.bias" [out]; `base` is taken as
  // is (no prefix), so heads outside the encoder can use it too.
  Result<LinearWeights> Linear(const std::string& base, int in, int out) const {
    LinearWeights linear;
    linear.in = in;
    linear.out = out;
    CASCADE_ASSIGN_OR_RETURN(linear.weight,
                             file_.ReadF32(base + ".weight", {out, in}));
    CASCADE_ASSIGN_OR_RETURN(linear.bias, file_.ReadF32(base + ".bias", {out}));
    return linear;
  }

  // Checkpoints converted from the original TensorFlow BERT call the
  // LayerNorm parameters gamma/beta; transformers renames them on load, so
  // we accept both.
  Result<LayerNormWeights> LayerNorm(const std::string& base,
                                     int hidden) const {
    LayerNormWeights norm;
    const bool old_names = file_.Find(base + ".weight") == nullptr &&
                           file_.Find(base + ".gamma") != nullptr;
    CASCADE_ASSIGN_OR_RETURN(
        norm.gamma,
        file_.ReadF32(base + (old_names ? ".gamma" : ".weight"), {hidden}));
    CASCADE_ASSIGN_OR_RETURN(
        norm.beta,
        file_.ReadF32(base + (old_names ? ".beta" : ".bias"), {hidden}));
    return norm;
  }

  Result<BertLayerWeights> Layer(int index, const BertConfig& c) const {
    const std::string p =
        prefix_ + "encoder.layer." + std::to_string(index) + ".";
    const int h = c.hidden_size;
    BertLayerWeights layer;
    CASCADE_ASSIGN_OR_RETURN(layer.query,
                             Linear(p + "attention.self.query", h, h));
    CASCADE_ASSIGN_OR_RETURN(layer.key, Linear(p + "attention.self.key", h, h));
    CASCADE_ASSIGN_OR_RETURN(layer.value,
                             Linear(p + "attention.self.value", h, h));
    CASCADE_ASSIGN_OR_RETURN(layer.attention_output,
                             Linear(p + "attention.output.dense", h, h));
    CASCADE_ASSIGN_OR_RETURN(layer.attention_norm,
                             LayerNorm(p + "attention.output.LayerNorm", h));
    CASCADE_ASSIGN_OR_RETURN(
        layer.intermediate,
        Linear(p + "intermediate.dense", h, c.intermediate_size));
    CASCADE_ASSIGN_OR_RETURN(
        layer.output, Linear(p + "output.dense", c.intermediate_size, h));
    CASCADE_ASSIGN_OR_RETURN(layer.output_norm,
                             LayerNorm(p + "output.LayerNorm", h));
    return layer;
  }

  Result<BertWeights> Encoder(const BertConfig& c) const {
    const std::string p = prefix_ + "embeddings.";
    const int h = c.hidden_size;
    BertWeights w;
    CASCADE_ASSIGN_OR_RETURN(
        w.word_embeddings,
        file_.ReadF32(p + "word_embeddings.weight", {c.vocab_size, h}));
    CASCADE_ASSIGN_OR_RETURN(
        w.position_embeddings,
        file_.ReadF32(p + "position_embeddings.weight",
                      {c.max_position_embeddings, h}));
    CASCADE_ASSIGN_OR_RETURN(
        w.token_type_embeddings,
        file_.ReadF32(p + "token_type_embeddings.weight",
                      {c.type_vocab_size, h}));
    CASCADE_ASSIGN_OR_RETURN(w.embedding_norm, LayerNorm(p + "LayerNorm", h));
    w.layers.reserve(c.num_layers);
    for (int i = 0; i < c.num_layers; ++i) {
      CASCADE_ASSIGN_OR_RETURN(BertLayerWeights layer, Layer(i, c));
      w.layers.push_back(std::move(layer));
    }
    return w;
  }

  const std::string& prefix() const { return prefix_; }

 private:
  const SafetensorsFile& file_;
  std::string prefix_;
};

}  // namespace

Result<BertWeights> LoadBertWeights(const ModelConfig& config) {
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                           SafetensorsFile::Open(config.weights_file));
  std::string prefix = "bert.";
  if (config.kind == ModelKind::kBiEncoder) {
    // sentence-transformers saves the bare BertModel; a folder exported from
    // a Bert*For* class keeps the "bert." prefix.
    const bool root_names =
        file->Find("embeddings.word_embeddings.weight") != nullptr;
    const bool bert_names =
        file->Find("bert.embeddings.word_embeddings.weight") != nullptr;
    prefix = (!root_names && bert_names) ? "bert." : "";
  }
  WeightReader reader(*file, prefix);
  CASCADE_ASSIGN_OR_RETURN(BertWeights weights, reader.Encoder(config.bert));

  const int h = config.bert.hidden_size;
  switch (config.kind) {
    case ModelKind::kCrossEncoder: {
      CASCADE_ASSIGN_OR_RETURN(LinearWeights pooler,
                               reader.Linear(prefix + "pooler.dense", h, h));
      weights.pooler = std::move(pooler);
      CASCADE_ASSIGN_OR_RETURN(
          LinearWeights classifier,
          reader.Linear("classifier", h, config.num_labels));
      weights.classifier = std::move(classifier);
      break;
    }
    case ModelKind::kTokenWeigher: {
      CASCADE_ASSIGN_OR_RETURN(LinearWeights projection,
                               reader.Linear("tok_proj", h, 1));
      weights.token_projection = std::move(projection);
      break;
    }
    case ModelKind::kBiEncoder:
      break;  // pooling and normalisation have no parameters
  }
  return weights;
}

}  // namespace cascade::gpu
