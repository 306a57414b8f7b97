// Writes a randomly initialised BERT cross-encoder of a real shape as a
// Hugging Face checkpoint folder (config.json, model.safetensors, and the
// tokenizer files of an existing folder), so the speed benchmarks can run
// the whole reranking path on realistic shapes without a model hub.
//
//   random_cross_encoder --shape minilm-l6|bert-base --tokenizer DIR --out DIR
//
// Weights: uniform in [-0.05, 0.05] (layer norms 1 and 0), fixed seed. The
// scores mean nothing; the cost of computing them is what is measured.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Shape {
  int hidden, layers, heads, intermediate;
};

struct Tensor {
  std::string name;
  std::vector<int64_t> dims;
  enum { kRandom, kOnes, kZeros } fill;
};

uint64_t state = 0x9e3779b97f4a7c15ull;
float NextUniform() {  // splitmix64 -> [-0.05, 0.05)
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (static_cast<float>(z >> 40) / static_cast<float>(1ull << 24) - 0.5f) * 0.1f;
}

int Usage() {
  std::fprintf(stderr,
               "usage: random_cross_encoder --shape minilm-l6|bert-base "
               "--tokenizer DIR --out DIR\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shape_name, tokenizer, out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--shape") {
      shape_name = argv[i + 1];
    } else if (flag == "--tokenizer") {
      tokenizer = argv[i + 1];
    } else if (flag == "--out") {
      out = argv[i + 1];
    } else {
      return Usage();
    }
  }
  Shape shape;
  if (shape_name == "minilm-l6") {
    shape = {384, 6, 12, 1536};
  } else if (shape_name == "bert-base") {
    shape = {768, 12, 12, 3072};
  } else {
    return Usage();
  }
  if (tokenizer.empty() || out.empty()) return Usage();
  const int64_t vocab = 30522, positions = 512, h = shape.hidden;

  std::vector<Tensor> tensors;
  auto linear = [&](const std::string& base, int64_t out_dim, int64_t in_dim) {
    tensors.push_back({base + ".weight", {out_dim, in_dim}, Tensor::kRandom});
    tensors.push_back({base + ".bias", {out_dim}, Tensor::kZeros});
  };
  auto norm = [&](const std::string& base) {
    tensors.push_back({base + ".weight", {h}, Tensor::kOnes});
    tensors.push_back({base + ".bias", {h}, Tensor::kZeros});
  };
  tensors.push_back({"bert.embeddings.word_embeddings.weight", {vocab, h}, Tensor::kRandom});
  tensors.push_back({"bert.embeddings.position_embeddings.weight", {positions, h}, Tensor::kRandom});
  tensors.push_back({"bert.embeddings.token_type_embeddings.weight", {2, h}, Tensor::kRandom});
  norm("bert.embeddings.LayerNorm");
  for (int l = 0; l < shape.layers; ++l) {
    const std::string p = "bert.encoder.layer." + std::to_string(l) + ".";
    linear(p + "attention.self.query", h, h);
    linear(p + "attention.self.key", h, h);
    linear(p + "attention.self.value", h, h);
    linear(p + "attention.output.dense", h, h);
    norm(p + "attention.output.LayerNorm");
    linear(p + "intermediate.dense", shape.intermediate, h);
    linear(p + "output.dense", h, shape.intermediate);
    norm(p + "output.LayerNorm");
  }
  linear("bert.pooler.dense", h, h);
  linear("classifier", 1, h);

  // safetensors: u64 header length, JSON header, then the data (F32, LE).
  std::string header = "{";
  int64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    int64_t count = 1;
    std::string dims;
    for (int64_t d : tensors[i].dims) {
      count *= d;
      dims += (dims.empty() ? "" : ",") + std::to_string(d);
    }
    if (i) header += ",";
    header += "\"" + tensors[i].name + "\":{\"dtype\":\"F32\",\"shape\":[" + dims +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + count * 4) + "]}";
    offset += count * 4;
  }
  header += "}";
  while (header.size() % 8 != 0) header += " ";

  std::error_code ec;
  fs::create_directories(out, ec);
  std::ofstream model(fs::path(out) / "model.safetensors", std::ios::binary);
  const uint64_t header_size = header.size();
  model.write(reinterpret_cast<const char*>(&header_size), 8);
  model << header;
  std::vector<float> buffer;
  for (const Tensor& t : tensors) {
    int64_t count = 1;
    for (int64_t d : t.dims) count *= d;
    buffer.resize(count);
    for (float& v : buffer) {
      v = t.fill == Tensor::kRandom ? NextUniform() : t.fill == Tensor::kOnes ? 1.0f : 0.0f;
    }
    model.write(reinterpret_cast<const char*>(buffer.data()), count * 4);
  }
  if (!model.good()) {
    std::fprintf(stderr, "random_cross_encoder: cannot write %s\n", out.c_str());
    return 1;
  }
  std::ofstream config(fs::path(out) / "config.json");
  config << "{\"architectures\":[\"BertForSequenceClassification\"],"
         << "\"model_type\":\"bert\",\"hidden_act\":\"gelu\","
         << "\"hidden_size\":" << h << ",\"num_hidden_layers\":" << shape.layers
         << ",\"num_attention_heads\":" << shape.heads
         << ",\"intermediate_size\":" << shape.intermediate
         << ",\"vocab_size\":" << vocab << ",\"max_position_embeddings\":" << positions
         << ",\"type_vocab_size\":2,\"layer_norm_eps\":1e-12,\"pad_token_id\":0,"
         << "\"id2label\":{\"0\":\"LABEL_0\"}}\n";
  for (const char* name : {"tokenizer.json", "vocab.txt", "tokenizer_config.json",
                           "special_tokens_map.json"}) {
    const fs::path from = fs::path(tokenizer) / name;
    if (fs::exists(from)) {
      fs::copy_file(from, fs::path(out) / name, fs::copy_options::overwrite_existing, ec);
      if (ec) {
        std::fprintf(stderr, "random_cross_encoder: %s\n", ec.message().c_str());
        return 1;
      }
    }
  }
  std::printf("wrote a random %s cross-encoder to %s\n", shape_name.c_str(), out.c_str());
  return 0;
}
