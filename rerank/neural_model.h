// NeuralModel: a Hugging Face checkpoint ready to use from text: its
// tokenizer plus an encoder backend (gpu/backend.h). The library calls the
// reranking stages use: score (query, passage) pairs with a cross-encoder,
// embed texts with a bi-encoder, weigh passage tokens with a TILDEv2 model.
//
// Long inputs are truncated to ModelOptions::max_length tokens; batches are
// cut to ModelOptions::max_batch sequences and run one after another.
//
// Thread-safety: one call at a time per NeuralModel (the backend reuses its
// buffers); open one per worker thread, or serialise calls.
#ifndef CASCADE_RERANK_NEURAL_MODEL_H_
#define CASCADE_RERANK_NEURAL_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"
#include "gpu/backend.h"
#include "gpu/model/model_config.h"
#include "rerank/wordpiece.h"

namespace cascade::rerank {

enum class Device { kCpu, kCuda, kAuto };
Result<Device> ParseDevice(std::string_view name);  // "cpu" | "cuda" | "auto"

struct ModelOptions {
  // kAuto uses a GPU backend when one is built and a device is present,
  // else the CPU. kCuda without one is an error (Unavailable). On CUDA, a
  // device failure during a call moves the model to the CPU for good (one
  // line on stderr says why; backend_name() then says "cpu").
  Device device = Device::kAuto;
  // Arithmetic on the GPU (the CPU encoder is fp32 throughout).
  gpu::Precision precision = gpu::Precision::kFp16;
  // CPU threads; 0 = all cores.
  unsigned threads = 0;
  // Tokens per sequence, special tokens included; 0 = the model's maximum
  // (max_position_embeddings, at most 512).
  size_t max_length = 0;
  // Truncation of (query, passage) pairs.
  Truncation truncation = Truncation::kLongestFirst;
  // Sequences per backend call (1..4096).
  size_t max_batch = 64;
};

struct TokenWeights {
  std::vector<int32_t> input_ids;  // [CLS] passage [SEP]
  std::vector<float> weights;      // one per input id
};

class NeuralModel {
 public:
  // Loads config, weights and tokenizer from `dir`. Errors as
  // gpu::LoadModelConfig, gpu::LoadBertWeights and
  // WordPieceTokenizer::FromFolder, plus InvalidArgument for bad options.
  static Result<std::unique_ptr<NeuralModel>> Open(const std::string& dir,
                                                   const ModelOptions& options);
  ~NeuralModel();

  const gpu::ModelConfig& config() const;
  const WordPieceTokenizer& tokenizer() const;
  std::string_view backend_name() const;
  size_t max_length() const;

  // Cross-encoder: one score per passage for (query, passage).
  Result<std::vector<float>> Score(std::string_view query,
                                   std::span<const std::string> passages);
  // Bi-encoder: one embedding per text.
  Result<std::vector<std::vector<float>>> Embed(
      std::span<const std::string> texts);
  // Token weigher: the weights of each passage's tokens.
  Result<std::vector<TokenWeights>> Weigh(std::span<const std::string> passages);

  // The same on pre-tokenized sequences (special tokens included). The
  // result of RunTokens is what the model kind produces: scores (one per
  // sequence), embeddings (hidden per sequence, concatenated) or token
  // weights (one per token).
  Result<std::vector<float>> RunTokens(const gpu::PairBatch& batch);

 private:
  struct Impl;
  explicit NeuralModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade::rerank

#endif  // CASCADE_RERANK_NEURAL_MODEL_H_
