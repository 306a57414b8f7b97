#include "gpu/model/bert_weights.h"

#include <memory>
#include <string>
#include <string_view>
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

Status CheckSize(const std::string& name, size_t actual, size_t expected) {
  if (actual == expected) return Status::OK();
  return Status::InvalidArgument("weights do not match the config",
                                 name + " has " + std::to_string(actual) +
                                     " values, expected " +
                                     std::to_string(expected));
}

Status CheckLinear(const std::string& name, const LinearWeights& linear, int in,
                   int out) {
  if (linear.in != in || linear.out != out) {
    return Status::InvalidArgument("weights do not match the config",
                                   name + " is " + std::to_string(linear.in) +
                                       " -> " + std::to_string(linear.out) +
                                       ", expected " + std::to_string(in) +
                                       " -> " + std::to_string(out));
  }
  CASCADE_RETURN_IF_ERROR(CheckSize(name + ".weight", linear.weight.size(),
                                    static_cast<size_t>(in) * out));
  return CheckSize(name + ".bias", linear.bias.size(), out);
}

Status CheckNorm(const std::string& name, const LayerNormWeights& norm,
                 int hidden) {
  CASCADE_RETURN_IF_ERROR(
      CheckSize(name + ".weight", norm.gamma.size(), hidden));
  return CheckSize(name + ".bias", norm.beta.size(), hidden);
}

}  // namespace

Status CheckBertWeights(const ModelConfig& config, const BertWeights& w) {
  const BertConfig& c = config.bert;
  if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.num_layers < 0 ||
      c.num_heads <= 0 || c.intermediate_size <= 0 ||
      c.max_position_embeddings <= 0 || c.type_vocab_size <= 0) {
    return Status::InvalidArgument(
        "bad model config",
        "vocab_size, hidden_size, num_heads, intermediate_size, "
        "max_position_embeddings and type_vocab_size must be positive");
  }
  if (c.hidden_size % c.num_heads != 0) {
    return Status::InvalidArgument(
        "bad model config", "hidden_size " + std::to_string(c.hidden_size) +
                                " is not a multiple of num_heads " +
                                std::to_string(c.num_heads));
  }
  const size_t h = c.hidden_size;
  CASCADE_RETURN_IF_ERROR(CheckSize("embeddings.word_embeddings.weight",
                                    w.word_embeddings.size(),
                                    c.vocab_size * h));
  CASCADE_RETURN_IF_ERROR(CheckSize("embeddings.position_embeddings.weight",
                                    w.position_embeddings.size(),
                                    c.max_position_embeddings * h));
  CASCADE_RETURN_IF_ERROR(CheckSize("embeddings.token_type_embeddings.weight",
                                    w.token_type_embeddings.size(),
                                    c.type_vocab_size * h));
  CASCADE_RETURN_IF_ERROR(
      CheckNorm("embeddings.LayerNorm", w.embedding_norm, c.hidden_size));
  if (w.layers.size() != static_cast<size_t>(c.num_layers)) {
    return Status::InvalidArgument("weights do not match the config",
                                   std::to_string(w.layers.size()) +
                                       " encoder layers, config says " +
                                       std::to_string(c.num_layers));
  }
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const BertLayerWeights& l = w.layers[i];
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    const int hs = c.hidden_size, is = c.intermediate_size;
    CASCADE_RETURN_IF_ERROR(
        CheckLinear(p + "attention.self.query", l.query, hs, hs));
    CASCADE_RETURN_IF_ERROR(
        CheckLinear(p + "attention.self.key", l.key, hs, hs));
    CASCADE_RETURN_IF_ERROR(
        CheckLinear(p + "attention.self.value", l.value, hs, hs));
    CASCADE_RETURN_IF_ERROR(
        CheckLinear(p + "attention.output.dense", l.attention_output, hs, hs));
    CASCADE_RETURN_IF_ERROR(
        CheckNorm(p + "attention.output.LayerNorm", l.attention_norm, hs));
    CASCADE_RETURN_IF_ERROR(
        CheckLinear(p + "intermediate.dense", l.intermediate, hs, is));
    CASCADE_RETURN_IF_ERROR(CheckLinear(p + "output.dense", l.output, is, hs));
    CASCADE_RETURN_IF_ERROR(
        CheckNorm(p + "output.LayerNorm", l.output_norm, hs));
  }
  switch (config.kind) {
    case ModelKind::kCrossEncoder:
      if (config.num_labels != 1 && config.num_labels != 2) {
        return Status::NotSupported(
            "cross-encoder heads",
            "num_labels " + std::to_string(config.num_labels) +
                " (only 1: logit, or 2: softmax of the second label)");
      }
      if (!w.pooler || !w.classifier) {
        return Status::InvalidArgument(
            "weights do not match the config",
            "a cross-encoder needs pooler.dense and classifier");
      }
      CASCADE_RETURN_IF_ERROR(
          CheckLinear("pooler.dense", *w.pooler, c.hidden_size, c.hidden_size));
      CASCADE_RETURN_IF_ERROR(CheckLinear("classifier", *w.classifier,
                                          c.hidden_size, config.num_labels));
      break;
    case ModelKind::kTokenWeigher:
      if (!w.token_projection) {
        return Status::InvalidArgument("weights do not match the config",
                                       "a token weigher needs tok_proj");
      }
      CASCADE_RETURN_IF_ERROR(
          CheckLinear("tok_proj", *w.token_projection, c.hidden_size, 1));
      break;
    case ModelKind::kBiEncoder:
      break;
  }
  return Status::OK();
}


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

Status MissingHead(std::string_view method, std::string_view needs,
                   ModelKind kind) {
  return Status::NotSupported(
      std::string(method) + " needs a " + std::string(needs),
      "this model is a " + std::string(ModelKindName(kind)));
}

}  // namespace cascade::gpu
