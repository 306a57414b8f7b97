#include "gpu/model/model_config.h"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <simdjson.h>

#include "gpu/model/safetensors.h"

namespace cascade::gpu {

namespace fs = std::filesystem;

// Printed verbatim when a folder holds only pytorch_model.bin: we do not
// read Python pickles (they can run code), so the user converts once.
const char kSafetensorsConversion[] =
    "python3 -c \"import sys,torch; from safetensors.torch import save_file; "
    "sd=torch.load(sys.argv[1]+'/pytorch_model.bin', map_location='cpu'); "
    "save_file({k: v.contiguous() for k, v in sd.items()}, "
    "sys.argv[1]+'/model.safetensors', metadata={'format': 'pt'})\" "
    "MODEL_DIR";

namespace {

bool IsFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// A parsed JSON file. The parser owns the memory the elements point into,
// so both live together.
struct JsonFile {
  std::string path;
  std::unique_ptr<simdjson::dom::parser> parser;
  simdjson::dom::object root;
};

Result<JsonFile> ReadJsonObject(const fs::path& path) {
  JsonFile file;
  file.path = path.string();
  if (!IsFile(path)) return Status::NotFound("no such file", file.path);
  simdjson::padded_string text;
  if (auto err = simdjson::padded_string::load(file.path).get(text)) {
    return Status::IOError("read " + file.path, simdjson::error_message(err));
  }
  file.parser = std::make_unique<simdjson::dom::parser>();
  simdjson::dom::element doc;
  if (auto err = file.parser->parse(text).get(doc)) {
    return Status::InvalidArgument(file.path + ": malformed JSON",
                                   simdjson::error_message(err));
  }
  if (doc.get_object().get(file.root)) {
    return Status::InvalidArgument(file.path, "top level is not an object");
  }
  return file;
}

Status FieldError(const JsonFile& file, std::string_view field,
                  std::string_view problem) {
  return Status::InvalidArgument(
      file.path + ": field \"" + std::string(field) + "\"", problem);
}

// A positive integer field; `fallback` (when > 0) is used when absent, the
// default of transformers' BertConfig.
Result<int> GetPositiveInt(const JsonFile& file, std::string_view field,
                           int fallback = 0) {
  simdjson::dom::element value;
  if (file.root[field].get(value)) {
    if (fallback > 0) return fallback;
    return FieldError(file, field, "missing");
  }
  int64_t v;
  if (value.get_int64().get(v)) return FieldError(file, field, "not an integer");
  if (v <= 0 || v > (int64_t{1} << 30)) {
    return FieldError(file, field, "out of range: " + std::to_string(v));
  }
  return static_cast<int>(v);
}

Result<std::string> GetString(const JsonFile& file, std::string_view field) {
  std::string_view s;
  auto value = file.root[field];
  if (value.error()) return FieldError(file, field, "missing");
  if (value.get_string().get(s)) return FieldError(file, field, "not a string");
  return std::string(s);
}

// Optional boolean, false when absent.
Result<bool> GetBool(const JsonFile& file, std::string_view field) {
  simdjson::dom::element value;
  if (file.root[field].get(value)) return false;
  bool b;
  if (value.get_bool().get(b)) return FieldError(file, field, "not a boolean");
  return b;
}

Result<Activation> ParseActivation(const JsonFile& file) {
  simdjson::dom::element value;
  if (file.root["hidden_act"].get(value)) return Activation::kGeluErf;
  std::string_view act;
  if (value.get_string().get(act)) {
    return FieldError(file, "hidden_act", "not a string");
  }
  if (act == "gelu") return Activation::kGeluErf;
  // transformers' tanh approximations; "gelu_fast" is the same formula with
  // the constant folded differently.
  if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") {
    return Activation::kGeluTanh;
  }
  if (act == "relu") return Activation::kRelu;
  return Status::NotSupported(file.path + ": hidden_act \"" +
                              std::string(act) + "\"",
                              "supported: gelu, gelu_new, gelu_pytorch_tanh, "
                              "gelu_fast, relu");
}

Result<BertConfig> ParseBertConfig(const JsonFile& file) {
  BertConfig bert;
  CASCADE_ASSIGN_OR_RETURN(bert.vocab_size, GetPositiveInt(file, "vocab_size"));
  CASCADE_ASSIGN_OR_RETURN(bert.hidden_size,
                           GetPositiveInt(file, "hidden_size"));
  CASCADE_ASSIGN_OR_RETURN(bert.num_layers,
                           GetPositiveInt(file, "num_hidden_layers"));
  CASCADE_ASSIGN_OR_RETURN(bert.num_heads,
                           GetPositiveInt(file, "num_attention_heads"));
  CASCADE_ASSIGN_OR_RETURN(bert.intermediate_size,
                           GetPositiveInt(file, "intermediate_size"));
  CASCADE_ASSIGN_OR_RETURN(
      bert.max_position_embeddings,
      GetPositiveInt(file, "max_position_embeddings", 512));
  CASCADE_ASSIGN_OR_RETURN(bert.type_vocab_size,
                           GetPositiveInt(file, "type_vocab_size", 2));
  simdjson::dom::element eps;
  if (!file.root["layer_norm_eps"].get(eps)) {
    double v;
    if (eps.get_double().get(v) || !(v > 0.0) || v > 1.0) {
      return FieldError(file, "layer_norm_eps", "not a number in (0, 1]");
    }
    bert.layer_norm_eps = static_cast<float>(v);
  }
  CASCADE_ASSIGN_OR_RETURN(bert.activation, ParseActivation(file));
  // Relative position variants add attention terms we don't compute; running
  // them as absolute would give wrong scores without any error.
  simdjson::dom::element position;
  if (!file.root["position_embedding_type"].get(position)) {
    std::string_view type;
    if (position.get_string().get(type)) {
      return FieldError(file, "position_embedding_type", "not a string");
    }
    if (type != "absolute") {
      return Status::NotSupported(
          file.path, "position_embedding_type \"" + std::string(type) + "\"");
    }
  }
  if (bert.hidden_size % bert.num_heads != 0) {
    return Status::InvalidArgument(
        file.path, "hidden_size " + std::to_string(bert.hidden_size) +
                       " is not divisible by num_attention_heads " +
                       std::to_string(bert.num_heads));
  }
  return bert;
}

// Cross-encoder label count as transformers derives it: id2label wins over
// num_labels, and the default is 2.
Result<int> ParseNumLabels(const JsonFile& file) {
  simdjson::dom::element id2label;
  if (!file.root["id2label"].get(id2label)) {
    simdjson::dom::object labels;
    if (id2label.get_object().get(labels)) {
      return FieldError(file, "id2label", "not an object");
    }
    return static_cast<int>(labels.size());
  }
  simdjson::dom::element num_labels;
  if (!file.root["num_labels"].get(num_labels)) {
    return GetPositiveInt(file, "num_labels");
  }
  return 2;
}

// Reads modules.json and the Pooling module's config into `config`.
Status ParseSentenceTransformers(const fs::path& dir, ModelConfig* config) {
  // modules.json is an array, so it can't go through ReadJsonObject.
  const fs::path modules_path = dir / "modules.json";
  simdjson::padded_string text;
  if (auto err = simdjson::padded_string::load(modules_path.string()).get(text)) {
    return Status::IOError("read " + modules_path.string(),
                           simdjson::error_message(err));
  }
  simdjson::dom::parser parser;
  simdjson::dom::array modules;
  if (auto err = parser.parse(text).get_array().get(modules)) {
    return Status::InvalidArgument(
        modules_path.string() + ": malformed (expected a JSON array)",
        simdjson::error_message(err));
  }
  std::string pooling_dir;
  bool have_pooling = false;
  for (simdjson::dom::element module : modules) {
    std::string_view type, path;
    if (module["type"].get_string().get(type)) {
      return Status::InvalidArgument(modules_path.string(),
                                     "a module has no string \"type\"");
    }
    if (module["path"].get_string().get(path)) path = "";
    const size_t dot = type.rfind('.');
    const std::string_view short_type =
        dot == std::string_view::npos ? type : type.substr(dot + 1);
    if (short_type == "Transformer") continue;  // the BERT at the root
    if (short_type == "Pooling") {
      have_pooling = true;
      pooling_dir = std::string(path);
    } else if (short_type == "Normalize") {
      config->normalize = true;
    } else {
      // Dense, LayerNorm, ...: running the encoder without them would give
      // wrong embeddings, so refuse rather than ignore.
      return Status::NotSupported(modules_path.string(),
                                  "sentence-transformers module " +
                                      std::string(type));
    }
  }
  if (!have_pooling) {
    return Status::InvalidArgument(modules_path.string(),
                                   "lists no Pooling module");
  }

  CASCADE_ASSIGN_OR_RETURN(JsonFile pooling,
                           ReadJsonObject(dir / pooling_dir / "config.json"));
  CASCADE_ASSIGN_OR_RETURN(bool cls,
                           GetBool(pooling, "pooling_mode_cls_token"));
  CASCADE_ASSIGN_OR_RETURN(bool mean,
                           GetBool(pooling, "pooling_mode_mean_tokens"));
  // Any other mode switched on (max, mean_sqrt_len, weightedmean, lasttoken,
  // or one added later) is refused by name.
  for (simdjson::dom::key_value_pair field : pooling.root) {
    if (!field.key.starts_with("pooling_mode_") ||
        field.key == "pooling_mode_cls_token" ||
        field.key == "pooling_mode_mean_tokens") {
      continue;
    }
    bool on = false;
    if (field.value.get_bool().get(on)) {
      return FieldError(pooling, field.key, "not a boolean");
    }
    if (on) {
      return Status::NotSupported(pooling.path,
                                  std::string(field.key) +
                                      " (only CLS or mean pooling)");
    }
  }
  if (cls == mean) {
    return Status::NotSupported(
        pooling.path, cls ? "CLS and mean pooling together (concatenated)"
                          : "no pooling mode set (CLS or mean expected)");
  }
  config->pooling = cls ? Pooling::kCls : Pooling::kMean;

  simdjson::dom::element dim;
  if (!pooling.root["word_embedding_dimension"].get(dim)) {
    CASCADE_ASSIGN_OR_RETURN(
        int d, GetPositiveInt(pooling, "word_embedding_dimension"));
    if (d != config->bert.hidden_size) {
      return FieldError(pooling, "word_embedding_dimension",
                        std::to_string(d) + " differs from hidden_size " +
                            std::to_string(config->bert.hidden_size));
    }
  }
  return Status::OK();
}

}  // namespace

std::string_view ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kCrossEncoder: return "cross-encoder";
    case ModelKind::kBiEncoder: return "bi-encoder";
    case ModelKind::kTokenWeigher: return "token-weigher";
  }
  return "unknown";
}

Result<ModelConfig> LoadModelConfig(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound("no model folder", dir);
  }
  const fs::path root = fs::absolute(dir, ec);
  if (ec) return Status::IOError("resolve " + dir, ec.message());

  if (!IsFile(root / "config.json")) {
    return Status::NotFound("no config.json in model folder", dir);
  }
  CASCADE_ASSIGN_OR_RETURN(JsonFile file, ReadJsonObject(root / "config.json"));

  ModelConfig config;
  config.dir = dir;
  simdjson::dom::element architectures;
  if (!file.root["architectures"].get(architectures)) {
    simdjson::dom::array list;
    if (architectures.get_array().get(list)) {
      return FieldError(file, "architectures", "not an array");
    }
    if (list.size() > 0) {
      std::string_view first;
      if (list.at(0).get_string().get(first)) {
        return FieldError(file, "architectures", "not an array of strings");
      }
      config.architecture = std::string(first);
    }
  }
  CASCADE_ASSIGN_OR_RETURN(std::string model_type,
                           GetString(file, "model_type"));
  const std::string described =
      "architecture \"" + config.architecture + "\" (model_type \"" +
      model_type + "\")";
  if (model_type != "bert") {
    return Status::NotSupported(file.path,
                                described + ": only BERT models are supported");
  }
  CASCADE_ASSIGN_OR_RETURN(config.bert, ParseBertConfig(file));

  const fs::path weights = root / "model.safetensors";
  if (!IsFile(weights)) {
    if (IsFile(root / "pytorch_model.bin")) {
      return Status::NotSupported(
          dir + " holds pytorch_model.bin but no model.safetensors",
          std::string("convert it once with: ") + kSafetensorsConversion);
    }
    return Status::NotFound("no model.safetensors in model folder", dir);
  }
  config.weights_file = weights.string();

  const std::string& arch = config.architecture;
  const bool bert_arch = arch.empty() || arch.starts_with("Bert");
  if (IsFile(root / "modules.json")) {
    // sentence-transformers saves BertModel; older exports may name a
    // BERT head class, whose bert.* weights the loader also accepts.
    if (!bert_arch) {
      return Status::NotSupported(file.path,
                                  described + " in a sentence-transformers "
                                              "folder");
    }
    config.kind = ModelKind::kBiEncoder;
    CASCADE_RETURN_IF_ERROR(ParseSentenceTransformers(root, &config));
    return config;
  }
  if (arch == "BertForSequenceClassification") {
    config.kind = ModelKind::kCrossEncoder;
    CASCADE_ASSIGN_OR_RETURN(config.num_labels, ParseNumLabels(file));
    if (config.num_labels != 1 && config.num_labels != 2) {
      return Status::NotSupported(
          file.path, "cross-encoder with " +
                         std::to_string(config.num_labels) +
                         " labels (1 or 2 supported)");
    }
    return config;
  }
  bool tilde = arch.find("TILDE") != std::string::npos;
  if (!tilde && bert_arch) {
    // TILDEv2 checkpoints are often saved as plain BertModel; the
    // projection head in the weights is what tells them apart.
    CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> st,
                             SafetensorsFile::Open(config.weights_file));
    tilde = st->Find("tok_proj.weight") != nullptr;
  }
  if (tilde) {
    config.kind = ModelKind::kTokenWeigher;
    return config;
  }
  return Status::NotSupported(
      file.path, described +
                     ": expected BertForSequenceClassification, a "
                     "sentence-transformers folder (modules.json) or TILDEv2 "
                     "(tok_proj weights)");
}

}  // namespace cascade::gpu
