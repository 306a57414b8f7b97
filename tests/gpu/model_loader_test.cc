// Tests of the checkpoint loader: config.json / modules.json parsing,
// safetensors validation and fp16/bf16 conversion, and BERT weight loading.
//
// The three folders under tests/data/hf-bert/ are copies of the reference
// fixtures (random seeded weights, hidden 32, 2 layers, 4 heads, FFN 64,
// vocab 30522); the values hard-coded below were read from their
// model.safetensors with Python's struct module. Bad inputs are written
// by the tests into a fresh folder under testing::TempDir().
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"
#include "gpu/model/safetensors.h"

namespace cascade::gpu {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert";

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

void WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One tensor of a hand-built safetensors file.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype = "F32";
  std::string bytes = "";  // empty: filled with small distinct F32 values
};

std::string ShapeJson(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

// The file layout: 8-byte little-endian header length, header, data.
std::string Frame(const std::string& header, const std::string& data) {
  std::string file(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return file + header + data;
}

// Lays the tensors end to end after a JSON header padded to 8 bytes, as the
// Python writer does.
std::string BuildSafetensors(std::vector<TensorSpec> tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::string data;
  for (TensorSpec& t : tensors) {
    if (t.bytes.empty()) {
      int64_t n = 1;
      for (int64_t d : t.shape) n *= d;
      for (int64_t i = 0; i < n; ++i) {
        const float v = 0.001f * static_cast<float>(i + 1);
        t.bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
      }
    }
    header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype +
              "\",\"shape\":" + ShapeJson(t.shape) + ",\"data_offsets\":[" +
              std::to_string(data.size()) + "," +
              std::to_string(data.size() + t.bytes.size()) + "]}";
    data += t.bytes;
  }
  header += "}";
  while ((8 + header.size()) % 8 != 0) header += ' ';
  return Frame(header, data);
}

// A tiny BERT: vocab 10, hidden 4, 1 layer, 2 heads, FFN 8, 6 positions.
constexpr char kTinyConfig[] = R"({
  "architectures": ["BertForSequenceClassification"],
  "model_type": "bert", "vocab_size": 10, "hidden_size": 4,
  "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8,
  "max_position_embeddings": 6, "type_vocab_size": 2, "layer_norm_eps": 1e-5,
  "hidden_act": "gelu_new", "id2label": {"0": "LABEL_0"}
})";

// Every tensor of the tiny BERT encoder under `prefix`.
std::vector<TensorSpec> TinyEncoder(const std::string& prefix,
                                    bool gamma_beta = false) {
  const std::string w = gamma_beta ? ".gamma" : ".weight";
  const std::string b = gamma_beta ? ".beta" : ".bias";
  const std::string e = prefix + "embeddings.";
  const std::string l = prefix + "encoder.layer.0.";
  return {
      {e + "word_embeddings.weight", {10, 4}},
      {e + "position_embeddings.weight", {6, 4}},
      {e + "token_type_embeddings.weight", {2, 4}},
      {e + "LayerNorm" + w, {4}},
      {e + "LayerNorm" + b, {4}},
      {l + "attention.self.query.weight", {4, 4}},
      {l + "attention.self.query.bias", {4}},
      {l + "attention.self.key.weight", {4, 4}},
      {l + "attention.self.key.bias", {4}},
      {l + "attention.self.value.weight", {4, 4}},
      {l + "attention.self.value.bias", {4}},
      {l + "attention.output.dense.weight", {4, 4}},
      {l + "attention.output.dense.bias", {4}},
      {l + "attention.output.LayerNorm" + w, {4}},
      {l + "attention.output.LayerNorm" + b, {4}},
      {l + "intermediate.dense.weight", {8, 4}},
      {l + "intermediate.dense.bias", {8}},
      {l + "output.dense.weight", {4, 8}},
      {l + "output.dense.bias", {4}},
      {l + "output.LayerNorm" + w, {4}},
      {l + "output.LayerNorm" + b, {4}},
  };
}

std::vector<TensorSpec> TinyCrossEncoder() {
  std::vector<TensorSpec> t = TinyEncoder("bert.");
  t.push_back({"bert.pooler.dense.weight", {4, 4}});
  t.push_back({"bert.pooler.dense.bias", {4}});
  t.push_back({"classifier.weight", {1, 4}});
  t.push_back({"classifier.bias", {1}});
  return t;
}

// Each test gets its own folder under TempDir(), removed afterwards.
class ModelLoaderTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) /
           ("model_loader_test_" + std::to_string(::getpid()) + "_" +
            info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A folder `name` under the test folder holding the given files.
  std::string MakeModel(const std::string& name, const std::string& config,
                        const std::string& weights) {
    const fs::path model = dir_ / name;
    fs::create_directories(model);
    WriteFile(model / "config.json", config);
    if (!weights.empty()) WriteFile(model / "model.safetensors", weights);
    return model.string();
  }

  fs::path dir_;
};

// ---------------------------------------------------------------------------
// The reference fixtures.

void ExpectFixtureBert(const BertConfig& bert) {
  EXPECT_EQ(bert.vocab_size, 30522);
  EXPECT_EQ(bert.hidden_size, 32);
  EXPECT_EQ(bert.num_layers, 2);
  EXPECT_EQ(bert.num_heads, 4);
  EXPECT_EQ(bert.intermediate_size, 64);
  EXPECT_EQ(bert.max_position_embeddings, 512);
  EXPECT_EQ(bert.type_vocab_size, 2);
  EXPECT_FLOAT_EQ(bert.layer_norm_eps, 1e-12f);
  EXPECT_EQ(bert.activation, Activation::kGeluErf);
}

void ExpectEncoderShapes(const BertWeights& w) {
  EXPECT_EQ(w.word_embeddings.size(), 30522u * 32);
  EXPECT_EQ(w.position_embeddings.size(), 512u * 32);
  EXPECT_EQ(w.token_type_embeddings.size(), 2u * 32);
  EXPECT_EQ(w.embedding_norm.gamma.size(), 32u);
  EXPECT_EQ(w.embedding_norm.beta.size(), 32u);
  ASSERT_EQ(w.layers.size(), 2u);
  for (const BertLayerWeights& layer : w.layers) {
    for (const LinearWeights* l : {&layer.query, &layer.key, &layer.value,
                                   &layer.attention_output}) {
      EXPECT_EQ(l->in, 32);
      EXPECT_EQ(l->out, 32);
      EXPECT_EQ(l->weight.size(), 32u * 32);
      EXPECT_EQ(l->bias.size(), 32u);
    }
    EXPECT_EQ(layer.intermediate.out, 64);
    EXPECT_EQ(layer.intermediate.weight.size(), 64u * 32);
    EXPECT_EQ(layer.output.in, 64);
    EXPECT_EQ(layer.output.bias.size(), 32u);
    EXPECT_EQ(layer.attention_norm.gamma.size(), 32u);
    EXPECT_EQ(layer.output_norm.beta.size(), 32u);
  }
}

TEST_F(ModelLoaderTest, CrossEncoderFixture) {
  Result<ModelConfig> config = LoadModelConfig(kFixtures + "/cross-encoder");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->kind, ModelKind::kCrossEncoder);
  EXPECT_EQ(ModelKindName(config->kind), "cross-encoder");
  EXPECT_EQ(config->architecture, "BertForSequenceClassification");
  EXPECT_EQ(config->num_labels, 1);
  ExpectFixtureBert(config->bert);
  EXPECT_TRUE(fs::path(config->weights_file).is_absolute());
  EXPECT_EQ(fs::path(config->weights_file).filename(), "model.safetensors");

  Result<BertWeights> weights = LoadBertWeights(*config);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  ExpectEncoderShapes(*weights);
  ASSERT_TRUE(weights->pooler.has_value());
  EXPECT_EQ(weights->pooler->weight.size(), 32u * 32);
  ASSERT_TRUE(weights->classifier.has_value());
  EXPECT_EQ(weights->classifier->out, 1);
  EXPECT_EQ(weights->classifier->weight.size(), 32u);
  EXPECT_FALSE(weights->token_projection.has_value());
  // Values read in Python: classifier.weight[0][5], classifier.bias[0],
  // bert.embeddings.word_embeddings.weight[1000][7],
  // bert.encoder.layer.1.output.LayerNorm.weight[3].
  EXPECT_EQ(weights->classifier->weight[5], -0.08263523876667023f);
  EXPECT_EQ(weights->classifier->bias[0], -0.13595254719257355f);
  EXPECT_EQ(weights->word_embeddings[1000 * 32 + 7], 0.1925680935382843f);
  EXPECT_EQ(weights->layers[1].output_norm.gamma[3], 1.0845292806625366f);
}

TEST_F(ModelLoaderTest, BiEncoderFixture) {
  Result<ModelConfig> config = LoadModelConfig(kFixtures + "/bi-encoder");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->kind, ModelKind::kBiEncoder);
  EXPECT_EQ(config->architecture, "BertModel");
  EXPECT_EQ(config->pooling, Pooling::kMean);
  EXPECT_TRUE(config->normalize);
  ExpectFixtureBert(config->bert);

  Result<BertWeights> weights = LoadBertWeights(*config);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  ExpectEncoderShapes(*weights);
  EXPECT_FALSE(weights->pooler.has_value());
  EXPECT_FALSE(weights->classifier.has_value());
  EXPECT_FALSE(weights->token_projection.has_value());
  // encoder.layer.1.attention.self.query.weight[2][9] and
  // embeddings.LayerNorm.bias[31].
  EXPECT_EQ(weights->layers[1].query.weight[2 * 32 + 9], 0.05192789435386658f);
  EXPECT_EQ(weights->embedding_norm.beta[31], 0.10081615298986435f);
}

TEST_F(ModelLoaderTest, TildeFixture) {
  Result<ModelConfig> config = LoadModelConfig(kFixtures + "/tildev2");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->kind, ModelKind::kTokenWeigher);
  EXPECT_EQ(config->architecture, "TILDEv2");
  ExpectFixtureBert(config->bert);

  Result<BertWeights> weights = LoadBertWeights(*config);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  ExpectEncoderShapes(*weights);
  ASSERT_TRUE(weights->token_projection.has_value());
  EXPECT_EQ(weights->token_projection->in, 32);
  EXPECT_EQ(weights->token_projection->out, 1);
  // tok_proj.weight[0][31] and tok_proj.bias[0].
  EXPECT_EQ(weights->token_projection->weight[31], -0.159246027469635f);
  EXPECT_EQ(weights->token_projection->bias[0], 0.09246858209371567f);
  EXPECT_FALSE(weights->pooler.has_value());
  EXPECT_FALSE(weights->classifier.has_value());
}

// A TILDEv2 checkpoint saved as plain BertModel is recognised by its
// tok_proj tensor.
TEST_F(ModelLoaderTest, TildeDetectedFromWeights) {
  std::string config = ReadFileBytes(kFixtures + "/tildev2/config.json");
  const size_t at = config.find("\"TILDEv2\"");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 9, "\"BertModel\"");
  const std::string model = MakeModel(
      "tilde", config, ReadFileBytes(kFixtures + "/tildev2/model.safetensors"));
  Result<ModelConfig> loaded = LoadModelConfig(model);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->architecture, "BertModel");
  EXPECT_EQ(loaded->kind, ModelKind::kTokenWeigher);
}

// ---------------------------------------------------------------------------
// Half-precision conversion.

TEST(HalfConversionTest, Float16) {
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xC000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7BFF), 65504.0f);  // largest finite
  EXPECT_EQ(HalfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(HalfToFloat(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03FF), std::ldexp(1023.0f, -24));  // largest
  EXPECT_EQ(HalfToFloat(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfToFloat(0x0000), 0.0f);
  EXPECT_FALSE(std::signbit(HalfToFloat(0x0000)));
  EXPECT_TRUE(std::signbit(HalfToFloat(0x8000)));
  EXPECT_EQ(HalfToFloat(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(HalfToFloat(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7E00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7C01)));  // signalling payload
  EXPECT_TRUE(std::isnan(HalfToFloat(0xFE00)));
}

TEST(HalfConversionTest, BFloat16) {
  EXPECT_EQ(BFloat16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(BFloat16ToFloat(0xC000), -2.0f);
  // 65504 is not a bfloat16; its neighbours are 65280 and 65536.
  EXPECT_EQ(BFloat16ToFloat(0x477F), 65280.0f);
  EXPECT_EQ(BFloat16ToFloat(0x4780), 65536.0f);
  EXPECT_EQ(BFloat16ToFloat(0x7F7F), 0x1.FEp127f);  // largest finite
  EXPECT_EQ(BFloat16ToFloat(0x0001), std::ldexp(1.0f, -133));  // subnormal
  EXPECT_TRUE(std::signbit(BFloat16ToFloat(0x8000)));
  EXPECT_EQ(BFloat16ToFloat(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(BFloat16ToFloat(0xFF80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(BFloat16ToFloat(0x7FC0)));
  EXPECT_TRUE(std::isnan(BFloat16ToFloat(0x7F81)));
}

// Every fp16 value round-trips through float back to the same bits (NaNs
// aside), which a rounding or subnormal mistake anywhere would break.
TEST(HalfConversionTest, Float16RoundTripsExhaustively) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_EQ(h & 0x7C00, 0x7C00u) << std::hex << h;
      continue;
    }
    // Back to half by hand: f is exactly representable, so no rounding.
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    const uint32_t sign = (bits >> 16) & 0x8000;
    const float mag = std::fabs(f);
    uint32_t back;
    if (std::isinf(f)) {
      back = sign | 0x7C00;
    } else if (mag < std::ldexp(1.0f, -14)) {
      back = sign | static_cast<uint32_t>(mag * std::ldexp(1.0f, 24));
    } else {
      int e;
      const float m = std::frexp(mag, &e);  // mag = m * 2^e, m in [0.5, 1)
      back = sign | static_cast<uint32_t>(e - 1 + 15) << 10 |
             (static_cast<uint32_t>(m * 2048.0f) & 0x3FF);
    }
    ASSERT_EQ(back, h) << std::hex << h << " -> " << f;
  }
}

// ---------------------------------------------------------------------------
// Safetensors reading and validation.

TEST_F(ModelLoaderTest, ReadsF16AndBF16Tensors) {
  auto u16s = [](std::vector<uint16_t> v) {
    return std::string(reinterpret_cast<const char*>(v.data()), 2 * v.size());
  };
  const fs::path path = dir_ / "mixed.safetensors";
  WriteFile(path,
            BuildSafetensors({
                {"half", {2, 2}, "F16", u16s({0x3C00, 0xC000, 0x7BFF, 0x0001})},
                // Odd element count puts the next tensor off 4-byte alignment.
                {"brain", {3}, "BF16", u16s({0x3F80, 0xC000, 0x7F80})},
                {"full", {2}, "F32", ""},
                {"ids", {2}, "I64", std::string(16, '\0')},
            }));
  Result<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::Open(path.string());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->tensors().size(), 4u);
  const TensorView* half = (*file)->Find("half");
  ASSERT_NE(half, nullptr);
  EXPECT_EQ(half->dtype, DType::kF16);
  EXPECT_EQ(half->elements(), 4);
  EXPECT_EQ(half->bytes, 8u);
  EXPECT_EQ((*file)->Find("absent"), nullptr);

  Result<std::vector<float>> h = (*file)->ReadF32("half", {2, 2});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(*h, (std::vector<float>{1.0f, -2.0f, 65504.0f,
                                    std::ldexp(1.0f, -24)}));
  Result<std::vector<float>> b = (*file)->ReadF32("brain", {3});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, (std::vector<float>{1.0f, -2.0f,
                                    std::numeric_limits<float>::infinity()}));
  Result<std::vector<float>> f = (*file)->ReadF32("full", {2});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f, (std::vector<float>{0.001f, 0.002f}));

  Result<std::vector<float>> ids = (*file)->ReadF32("ids", {2});
  EXPECT_TRUE(ids.status().IsNotSupported()) << ids.status().ToString();
  EXPECT_TRUE(Contains(ids.status().message(), "I64"));
  Result<std::vector<float>> missing = (*file)->ReadF32("absent", {2});
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_TRUE(Contains(missing.status().message(), "absent"));
  Result<std::vector<float>> shape = (*file)->ReadF32("half", {4});
  EXPECT_TRUE(shape.status().IsInvalidArgument());
  EXPECT_TRUE(Contains(shape.status().message(), "[2, 2]"));
  EXPECT_TRUE(Contains(shape.status().message(), "[4]"));
}

TEST_F(ModelLoaderTest, SafetensorsMissingFileIsNotFound) {
  Result<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::Open((dir_ / "nope.safetensors").string());
  EXPECT_TRUE(file.status().IsNotFound()) << file.status().ToString();
}

TEST_F(ModelLoaderTest, TruncatedSafetensorsIsCorruption) {
  const std::string full =
      ReadFileBytes(kFixtures + "/cross-encoder/model.safetensors");
  // Cut in the tensor data, in the header, and inside the length itself.
  for (size_t keep : {full.size() / 2, size_t{100}, size_t{5}}) {
    const fs::path path = dir_ / "cut.safetensors";
    WriteFile(path, full.substr(0, keep));
    Result<std::unique_ptr<SafetensorsFile>> file =
        SafetensorsFile::Open(path.string());
    EXPECT_TRUE(file.status().IsCorruption())
        << keep << ": " << file.status().ToString();
    EXPECT_TRUE(Contains(file.status().message(), path.string()));
  }
}

TEST_F(ModelLoaderTest, TruncatedWeightsFailTheLoad) {
  const std::string full =
      ReadFileBytes(kFixtures + "/cross-encoder/model.safetensors");
  const std::string model =
      MakeModel("cut", ReadFileBytes(kFixtures + "/cross-encoder/config.json"),
                full.substr(0, full.size() - 4));
  Result<ModelConfig> config = LoadModelConfig(model);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Result<BertWeights> weights = LoadBertWeights(*config);
  EXPECT_TRUE(weights.status().IsCorruption()) << weights.status().ToString();
  // The last tensor in the file is the one that no longer fits.
  EXPECT_TRUE(Contains(weights.status().message(), "classifier.weight"));
}

TEST_F(ModelLoaderTest, OffsetsBeyondFileAreCorruption) {
  // 100 floats claimed, 8 bytes present.
  const std::string file = Frame(
      R"({"w":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}})",
      std::string(8, '\0'));
  const fs::path path = dir_ / "beyond.safetensors";
  WriteFile(path, file);
  Result<std::unique_ptr<SafetensorsFile>> opened =
      SafetensorsFile::Open(path.string());
  EXPECT_TRUE(opened.status().IsCorruption()) << opened.status().ToString();
  EXPECT_TRUE(Contains(opened.status().message(), "'w'"));
  EXPECT_TRUE(Contains(opened.status().message(), path.string()));
}

TEST_F(ModelLoaderTest, BadHeaderEntriesAreCorruption) {
  struct Case {
    std::vector<TensorSpec> tensors;
    std::string_view expect;
  };
  const Case cases[] = {
      // 3 F32 elements need 12 bytes, the offsets give 8.
      {{{"short", {3}, "F32", std::string(8, '\0')}}, "short"},
      {{{"odd", {2}, "F7", std::string(8, '\0')}}, "F7"},
  };
  for (const Case& c : cases) {
    const fs::path path = dir_ / "bad.safetensors";
    WriteFile(path, BuildSafetensors(c.tensors));
    Result<std::unique_ptr<SafetensorsFile>> opened =
        SafetensorsFile::Open(path.string());
    EXPECT_TRUE(opened.status().IsCorruption()) << opened.status().ToString();
    EXPECT_TRUE(Contains(opened.status().message(), c.expect))
        << opened.status().ToString();
  }
  // Not JSON at all.
  std::string garbage(8, '\0');
  garbage[0] = 4;
  garbage += "{{{{";
  const fs::path path = dir_ / "garbage.safetensors";
  WriteFile(path, garbage);
  EXPECT_TRUE(SafetensorsFile::Open(path.string()).status().IsCorruption());
}

// ---------------------------------------------------------------------------
// Weight loading on hand-built checkpoints.

TEST_F(ModelLoaderTest, TinyCrossEncoderLoads) {
  const std::string model =
      MakeModel("tiny", kTinyConfig, BuildSafetensors(TinyCrossEncoder()));
  Result<ModelConfig> config = LoadModelConfig(model);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->bert.activation, Activation::kGeluTanh);
  EXPECT_FLOAT_EQ(config->bert.layer_norm_eps, 1e-5f);
  Result<BertWeights> weights = LoadBertWeights(*config);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  EXPECT_EQ(weights->word_embeddings.size(), 40u);
  EXPECT_EQ(weights->layers.at(0).intermediate.weight.size(), 32u);
  EXPECT_EQ(weights->classifier->bias, std::vector<float>{0.001f});
}

TEST_F(ModelLoaderTest, MissingTensorIsNotFound) {
  std::vector<TensorSpec> tensors = TinyCrossEncoder();
  const std::string gone = "bert.encoder.layer.0.attention.self.key.bias";
  std::erase_if(tensors, [&](const TensorSpec& t) { return t.name == gone; });
  const std::string model =
      MakeModel("missing", kTinyConfig, BuildSafetensors(tensors));
  Result<ModelConfig> config = LoadModelConfig(model);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Result<BertWeights> weights = LoadBertWeights(*config);
  EXPECT_TRUE(weights.status().IsNotFound()) << weights.status().ToString();
  EXPECT_TRUE(Contains(weights.status().message(), gone));
}

TEST_F(ModelLoaderTest, MisshapedTensorIsInvalidArgument) {
  std::vector<TensorSpec> tensors = TinyCrossEncoder();
  for (TensorSpec& t : tensors) {
    if (t.name == "bert.encoder.layer.0.intermediate.dense.weight") {
      t.shape = {4, 8};  // transposed
    }
  }
  const std::string model =
      MakeModel("shape", kTinyConfig, BuildSafetensors(tensors));
  Result<ModelConfig> config = LoadModelConfig(model);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Result<BertWeights> weights = LoadBertWeights(*config);
  const std::string msg = weights.status().message();
  EXPECT_TRUE(weights.status().IsInvalidArgument()) << msg;
  EXPECT_TRUE(Contains(msg, "bert.encoder.layer.0.intermediate.dense.weight"))
      << msg;
  EXPECT_TRUE(Contains(msg, "[4, 8]")) << msg;
  EXPECT_TRUE(Contains(msg, "expected [8, 4]")) << msg;
}

TEST_F(ModelLoaderTest, ClassifierLabelsFollowConfig) {
  // id2label has two entries, but the checkpoint's head has one row.
  std::string config = kTinyConfig;
  const size_t at = config.find("{\"0\": \"LABEL_0\"}");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 16, "{\"0\": \"NEG\", \"1\": \"POS\"}");
  const std::string model =
      MakeModel("labels", config, BuildSafetensors(TinyCrossEncoder()));
  Result<ModelConfig> loaded = LoadModelConfig(model);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->num_labels, 2);
  Result<BertWeights> weights = LoadBertWeights(*loaded);
  EXPECT_TRUE(weights.status().IsInvalidArgument());
  EXPECT_TRUE(Contains(weights.status().message(), "classifier.weight"));
}

TEST_F(ModelLoaderTest, GammaBetaAndBertPrefixInBiEncoder) {
  std::string config = kTinyConfig;
  config.replace(config.find("BertForSequenceClassification"), 29,
                 "BertModel");
  const std::string model = MakeModel(
      "st", config, BuildSafetensors(TinyEncoder("bert.", /*gamma_beta=*/true)));
  WriteFile(fs::path(model) / "modules.json", R"([
    {"idx": 0, "name": "0", "path": "",
     "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling",
     "type": "sentence_transformers.models.Pooling"}])");
  fs::create_directories(fs::path(model) / "1_Pooling");
  WriteFile(fs::path(model) / "1_Pooling" / "config.json",
            R"({"word_embedding_dimension": 4, "pooling_mode_cls_token": true,
                "pooling_mode_mean_tokens": false,
                "pooling_mode_max_tokens": false})");
  Result<ModelConfig> loaded = LoadModelConfig(model);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->kind, ModelKind::kBiEncoder);
  EXPECT_EQ(loaded->pooling, Pooling::kCls);
  EXPECT_FALSE(loaded->normalize);
  Result<BertWeights> weights = LoadBertWeights(*loaded);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  EXPECT_EQ(weights->embedding_norm.gamma.size(), 4u);
  EXPECT_EQ(weights->layers.at(0).output_norm.beta.size(), 4u);

  // Max pooling is refused by name.
  WriteFile(fs::path(model) / "1_Pooling" / "config.json",
            R"({"pooling_mode_cls_token": false,
                "pooling_mode_mean_tokens": false,
                "pooling_mode_max_tokens": true})");
  loaded = LoadModelConfig(model);
  EXPECT_TRUE(loaded.status().IsNotSupported()) << loaded.status().ToString();
  EXPECT_TRUE(Contains(loaded.status().message(), "pooling_mode_max_tokens"));
}

// ---------------------------------------------------------------------------
// Bad folders and configs.

TEST_F(ModelLoaderTest, MissingFolderOrConfigIsNotFound) {
  Result<ModelConfig> config = LoadModelConfig((dir_ / "absent").string());
  EXPECT_TRUE(config.status().IsNotFound()) << config.status().ToString();
  config = LoadModelConfig(dir_.string());  // exists, but no config.json
  EXPECT_TRUE(config.status().IsNotFound()) << config.status().ToString();
  EXPECT_TRUE(Contains(config.status().message(), "config.json"));
}

TEST_F(ModelLoaderTest, MissingWeightsIsNotFound) {
  const std::string model = MakeModel("noweights", kTinyConfig, "");
  Result<ModelConfig> config = LoadModelConfig(model);
  EXPECT_TRUE(config.status().IsNotFound()) << config.status().ToString();
  EXPECT_TRUE(Contains(config.status().message(), "model.safetensors"));
}

TEST_F(ModelLoaderTest, MalformedConfigIsInvalidArgument) {
  const std::string model = MakeModel("bad", "{\"model_type\": \"bert\",", "");
  Result<ModelConfig> config = LoadModelConfig(model);
  EXPECT_TRUE(config.status().IsInvalidArgument())
      << config.status().ToString();
  EXPECT_TRUE(Contains(config.status().message(),
                       (fs::path(model) / "config.json").string()));
}

TEST_F(ModelLoaderTest, MissingOrBadFieldIsInvalidArgument) {
  std::string config = kTinyConfig;
  config.replace(config.find("\"hidden_size\": 4"), 16, "\"hidden_size\": 5");
  Result<ModelConfig> loaded =
      LoadModelConfig(MakeModel("heads", config, ""));
  EXPECT_TRUE(loaded.status().IsInvalidArgument());
  EXPECT_TRUE(Contains(loaded.status().message(), "num_attention_heads"));

  config = kTinyConfig;
  config.replace(config.find("\"vocab_size\": 10,"), 17, "");
  loaded = LoadModelConfig(MakeModel("vocab", config, ""));
  EXPECT_TRUE(loaded.status().IsInvalidArgument());
  EXPECT_TRUE(Contains(loaded.status().message(), "vocab_size"))
      << loaded.status().ToString();
}

TEST_F(ModelLoaderTest, UnsupportedArchitectureIsNotSupported) {
  const std::string model = MakeModel("gpt2", R"({
    "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
    "vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12})",
                                      "");
  Result<ModelConfig> config = LoadModelConfig(model);
  EXPECT_TRUE(config.status().IsNotSupported()) << config.status().ToString();
  EXPECT_TRUE(Contains(config.status().message(), "GPT2LMHeadModel"));

  std::string bert_mlm = kTinyConfig;
  bert_mlm.replace(bert_mlm.find("BertForSequenceClassification"), 29,
                   "BertForMaskedLM");
  config = LoadModelConfig(
      MakeModel("mlm", bert_mlm, BuildSafetensors(TinyEncoder("bert."))));
  EXPECT_TRUE(config.status().IsNotSupported()) << config.status().ToString();
  EXPECT_TRUE(Contains(config.status().message(), "BertForMaskedLM"));
}

TEST_F(ModelLoaderTest, UnsupportedActivationOrLabelsIsNotSupported) {
  std::string config = kTinyConfig;
  config.replace(config.find("gelu_new"), 8, "swish");
  Result<ModelConfig> loaded = LoadModelConfig(
      MakeModel("swish", config, BuildSafetensors(TinyCrossEncoder())));
  EXPECT_TRUE(loaded.status().IsNotSupported());
  EXPECT_TRUE(Contains(loaded.status().message(), "swish"));

  config = kTinyConfig;
  config.replace(config.find("{\"0\": \"LABEL_0\"}"), 16,
                 R"({"0": "a", "1": "b", "2": "c"})");
  loaded = LoadModelConfig(
      MakeModel("three", config, BuildSafetensors(TinyCrossEncoder())));
  EXPECT_TRUE(loaded.status().IsNotSupported());
  EXPECT_TRUE(Contains(loaded.status().message(), "3 labels"));
}

TEST_F(ModelLoaderTest, PytorchBinOnlyIsNotSupportedWithConversion) {
  const std::string model = MakeModel("pickle", kTinyConfig, "");
  WriteFile(fs::path(model) / "pytorch_model.bin", "not really a pickle");
  Result<ModelConfig> config = LoadModelConfig(model);
  const std::string msg = config.status().message();
  EXPECT_TRUE(config.status().IsNotSupported()) << msg;
  EXPECT_TRUE(Contains(msg, "model.safetensors")) << msg;
  EXPECT_TRUE(Contains(msg, kSafetensorsConversion)) << msg;
  // The documented command, verbatim.
  EXPECT_STREQ(kSafetensorsConversion,
               "python3 -c \"import sys,torch; from safetensors.torch import "
               "save_file; sd=torch.load(sys.argv[1]+'/pytorch_model.bin', "
               "map_location='cpu'); save_file({k: v.contiguous() for k, v in "
               "sd.items()}, sys.argv[1]+'/model.safetensors', "
               "metadata={'format': 'pt'})\" MODEL_DIR");
}

}  // namespace
}  // namespace cascade::gpu
