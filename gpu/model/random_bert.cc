#include "gpu/model/random_bert.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace cascade::gpu {

Result<ModelConfig> CrossEncoderShape(std::string_view name) {
  ModelConfig config;
  config.architecture = "BertForSequenceClassification";
  config.kind = ModelKind::kCrossEncoder;
  config.num_labels = 1;
  BertConfig& b = config.bert;
  b.vocab_size = 30522;
  b.max_position_embeddings = 512;
  b.type_vocab_size = 2;
  b.layer_norm_eps = 1e-12f;
  b.activation = Activation::kGeluErf;
  if (name == "minilm-l6") {
    b.hidden_size = 384;
    b.num_layers = 6;
    b.num_heads = 12;
    b.intermediate_size = 1536;
  } else if (name == "bert-base") {
    b.hidden_size = 768;
    b.num_layers = 12;
    b.num_heads = 12;
    b.intermediate_size = 3072;
  } else {
    return Status::InvalidArgument("unknown model shape (minilm-l6, bert-base)",
                                   name);
  }
  return config;
}

BertWeights RandomBertWeights(const ModelConfig& config, uint32_t seed,
                              float scale, bool random_norms) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-scale, scale);
  auto fill = [&](size_t n, float offset = 0.0f) {
    std::vector<float> v(n);
    for (float& x : v) x = offset + uniform(rng);
    return v;
  };
  const BertConfig& c = config.bert;
  const size_t h = c.hidden_size;
  auto linear = [&](int in, int out) {
    LinearWeights l;
    l.in = in;
    l.out = out;
    l.weight = fill(static_cast<size_t>(in) * out);
    l.bias = fill(out);
    return l;
  };
  auto norm = [&] {
    LayerNormWeights n;
    if (random_norms) {
      n.gamma = fill(h, 1.0f);
      n.beta = fill(h);
    } else {
      n.gamma.assign(h, 1.0f);
      n.beta.assign(h, 0.0f);
    }
    return n;
  };
  BertWeights w;
  w.word_embeddings = fill(c.vocab_size * h);
  w.position_embeddings = fill(c.max_position_embeddings * h);
  w.token_type_embeddings = fill(c.type_vocab_size * h);
  w.embedding_norm = norm();
  for (int i = 0; i < c.num_layers; ++i) {
    BertLayerWeights layer;
    layer.query = linear(c.hidden_size, c.hidden_size);
    layer.key = linear(c.hidden_size, c.hidden_size);
    layer.value = linear(c.hidden_size, c.hidden_size);
    layer.attention_output = linear(c.hidden_size, c.hidden_size);
    layer.attention_norm = norm();
    layer.intermediate = linear(c.hidden_size, c.intermediate_size);
    layer.output = linear(c.intermediate_size, c.hidden_size);
    layer.output_norm = norm();
    w.layers.push_back(std::move(layer));
  }
  switch (config.kind) {
    case ModelKind::kCrossEncoder:
      w.pooler = linear(c.hidden_size, c.hidden_size);
      w.classifier = linear(c.hidden_size, config.num_labels);
      break;
    case ModelKind::kTokenWeigher:
      w.token_projection = linear(c.hidden_size, 1);
      break;
    case ModelKind::kBiEncoder:
      break;
  }
  return w;
}

namespace {

void AppendPair(PairBatch& batch, int length, int vocab_size,
                std::mt19937& rng) {
  const int32_t lo = std::min(1000, vocab_size - 1);
  const int32_t hi = std::max(lo, std::min(29999, vocab_size - 1));
  std::uniform_int_distribution<int32_t> word(lo, hi);
  const int32_t cls = std::min(101, vocab_size - 1);
  const int32_t sep = std::min(102, vocab_size - 1);
  const int query_end = std::max(1, length / 4);
  for (int t = 0; t < length; ++t) {
    int32_t id = word(rng);
    if (t == 0) id = cls;
    if (t == query_end || t == length - 1) id = sep;
    batch.token_ids.push_back(id);
    batch.segment_ids.push_back(t > query_end ? 1 : 0);
  }
  batch.offsets.push_back(static_cast<int32_t>(batch.token_ids.size()));
}

}  // namespace

PairBatch RandomPairs(int pairs, int length, int vocab_size, uint32_t seed) {
  return RandomMixedPairs(pairs, length, length, vocab_size, seed);
}

PairBatch RandomMixedPairs(int pairs, int min_length, int max_length,
                           int vocab_size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> length(min_length, max_length);
  PairBatch batch;
  batch.offsets.push_back(0);
  for (int p = 0; p < pairs; ++p) {
    AppendPair(batch, min_length == max_length ? min_length : length(rng),
               vocab_size, rng);
  }
  return batch;
}

}  // namespace cascade::gpu
