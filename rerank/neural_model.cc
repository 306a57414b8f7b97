#include "rerank/neural_model.h"

#include <algorithm>
#include <cstdio>

#include "gpu/cpu/cpu_encoder.h"
#include "gpu/cuda/cuda_encoder.h"
#include "gpu/model/bert_weights.h"

namespace cascade::rerank {

Result<Device> ParseDevice(std::string_view name) {
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda") return Device::kCuda;
  if (name == "auto") return Device::kAuto;
  return Status::InvalidArgument("device must be cpu, cuda or auto, got",
                                 name);
}

struct NeuralModel::Impl {
  gpu::ModelConfig config;
  std::unique_ptr<WordPieceTokenizer> tokenizer;
  std::unique_ptr<gpu::Backend> backend;
  ModelOptions options;
  size_t max_length = 0;

  // Runs `batch` in slices of at most options.max_batch sequences and
  // concatenates the outputs.
  Result<std::vector<float>> Run(const gpu::PairBatch& batch) {
    std::vector<float> out;
    const size_t n = batch.size();
    for (size_t begin = 0; begin < n; begin += options.max_batch) {
      const size_t end = std::min(n, begin + options.max_batch);
      gpu::PairBatch slice;
      const int32_t t0 = batch.offsets[begin];
      const int32_t t1 = batch.offsets[end];
      slice.token_ids.assign(batch.token_ids.begin() + t0,
                             batch.token_ids.begin() + t1);
      slice.segment_ids.assign(batch.segment_ids.begin() + t0,
                               batch.segment_ids.begin() + t1);
      for (size_t i = begin; i <= end; ++i) {
        slice.offsets.push_back(batch.offsets[i] - t0);
      }
      Result<std::vector<float>> part = Status::Internal("unreachable");
      switch (config.kind) {
        case gpu::ModelKind::kCrossEncoder:
          part = backend->Score(slice);
          break;
        case gpu::ModelKind::kBiEncoder:
          part = backend->Embed(slice);
          break;
        case gpu::ModelKind::kTokenWeigher:
          part = backend->WeighTokens(slice);
          break;
      }
      if (!part.ok()) return part.status();
      out.insert(out.end(), part->begin(), part->end());
    }
    return out;
  }

  Status Expect(gpu::ModelKind kind, std::string_view call) const {
    if (config.kind == kind) return Status::OK();
    return Status::NotSupported(
        std::string(call) + " needs a " + std::string(gpu::ModelKindName(kind)) +
        " model; " + config.dir + " is a " +
        std::string(gpu::ModelKindName(config.kind)));
  }

  static void Append(const Encoding& e, gpu::PairBatch* batch) {
    if (batch->offsets.empty()) batch->offsets.push_back(0);
    batch->token_ids.insert(batch->token_ids.end(), e.ids.begin(), e.ids.end());
    batch->segment_ids.insert(batch->segment_ids.end(), e.type_ids.begin(),
                              e.type_ids.end());
    batch->offsets.push_back(static_cast<int32_t>(batch->token_ids.size()));
  }
};

namespace {

Result<std::unique_ptr<gpu::Backend>> OpenCpu(const gpu::ModelConfig& config,
                                              unsigned threads) {
  CASCADE_ASSIGN_OR_RETURN(gpu::BertWeights weights,
                           gpu::LoadBertWeights(config));
  gpu::CpuEncoderOptions cpu;
  cpu.threads = threads;
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<gpu::CpuEncoder> encoder,
                           gpu::CpuEncoder::Create(config, std::move(weights), cpu));
  return std::unique_ptr<gpu::Backend>(std::move(encoder));
}

// The backend the options ask for (see ModelOptions::device). A CUDA
// backend is wrapped so that a device failure moves to the CPU.
Result<std::unique_ptr<gpu::Backend>> OpenBackend(
    const gpu::ModelConfig& config, const ModelOptions& options,
    size_t max_length) {
  bool use_cuda = false;
  if (options.device == Device::kCuda) {
    if (!gpu::CudaCompiledIn()) {
      return Status::Unavailable(
          "device cuda: this build has no CUDA backend, or its module "
          "(libcascade_cuda.so) did not load");
    }
    if (gpu::CudaDevices().empty()) {
      return Status::Unavailable("device cuda: no CUDA device is visible");
    }
    use_cuda = true;
  } else if (options.device == Device::kAuto) {
    // Devices first: without a driver that loads nothing (gpu/backend.h).
    use_cuda = !gpu::CudaDevices().empty();
  }
  if (use_cuda) {
    CASCADE_ASSIGN_OR_RETURN(gpu::BertWeights weights,
                             gpu::LoadBertWeights(config));
    gpu::CudaEncoderOptions cuda;
    cuda.precision = options.precision;
    cuda.reserve_tokens = std::min<size_t>(options.max_batch, 128) * max_length;
    Result<std::unique_ptr<gpu::Backend>> encoder =
        gpu::CreateCudaBackend(config, std::move(weights), cuda);
    if (encoder.ok()) {
      const unsigned threads = options.threads;
      return gpu::WithFallback(std::move(*encoder), [config, threads] {
        return OpenCpu(config, threads);
      });
    }
    if (options.device == Device::kCuda) return encoder.status();
    std::fprintf(stderr, "cascade: the CUDA encoder is unavailable (%s); using the CPU\n",
                 encoder.status().ToString().c_str());
  }
  return OpenCpu(config, options.threads);
}

}  // namespace

NeuralModel::NeuralModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NeuralModel::~NeuralModel() = default;

Result<std::unique_ptr<NeuralModel>> NeuralModel::Open(
    const std::string& dir, const ModelOptions& options) {
  if (options.max_batch < 1 || options.max_batch > 4096) {
    return Status::InvalidArgument("max_batch must be between 1 and 4096");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  CASCADE_ASSIGN_OR_RETURN(impl->config, gpu::LoadModelConfig(dir));
  const size_t model_max = static_cast<size_t>(
      std::min(512, impl->config.bert.max_position_embeddings));
  if (options.max_length > model_max) {
    return Status::InvalidArgument(
        "max_length " + std::to_string(options.max_length) +
        " exceeds the model's maximum of " + std::to_string(model_max));
  }
  if (options.max_length != 0 && options.max_length < 3) {
    return Status::InvalidArgument("max_length must be at least 3");
  }
  impl->max_length = options.max_length ? options.max_length : model_max;
  CASCADE_ASSIGN_OR_RETURN(impl->tokenizer, WordPieceTokenizer::FromFolder(dir));

  CASCADE_ASSIGN_OR_RETURN(impl->backend, OpenBackend(impl->config, options,
                                                      impl->max_length));
  return std::unique_ptr<NeuralModel>(new NeuralModel(std::move(impl)));
}

const gpu::ModelConfig& NeuralModel::config() const { return impl_->config; }
const WordPieceTokenizer& NeuralModel::tokenizer() const {
  return *impl_->tokenizer;
}
std::string_view NeuralModel::backend_name() const {
  return impl_->backend->Name();
}
size_t NeuralModel::max_length() const { return impl_->max_length; }

Result<std::vector<float>> NeuralModel::Score(
    std::string_view query, std::span<const std::string> passages) {
  CASCADE_RETURN_IF_ERROR(impl_->Expect(gpu::ModelKind::kCrossEncoder, "score"));
  gpu::PairBatch batch;
  batch.offsets.push_back(0);
  for (const std::string& passage : passages) {
    CASCADE_ASSIGN_OR_RETURN(
        Encoding e, impl_->tokenizer->EncodePair(query, passage, impl_->max_length,
                                                 impl_->options.truncation));
    Impl::Append(e, &batch);
  }
  if (passages.empty()) return std::vector<float>();
  return impl_->Run(batch);
}

Result<std::vector<std::vector<float>>> NeuralModel::Embed(
    std::span<const std::string> texts) {
  CASCADE_RETURN_IF_ERROR(impl_->Expect(gpu::ModelKind::kBiEncoder, "embed"));
  gpu::PairBatch batch;
  batch.offsets.push_back(0);
  for (const std::string& text : texts) {
    CASCADE_ASSIGN_OR_RETURN(Encoding e,
                             impl_->tokenizer->EncodeSingle(text, impl_->max_length));
    Impl::Append(e, &batch);
  }
  std::vector<std::vector<float>> out;
  if (texts.empty()) return out;
  CASCADE_ASSIGN_OR_RETURN(std::vector<float> flat, impl_->Run(batch));
  const size_t dim = static_cast<size_t>(impl_->config.bert.hidden_size);
  for (size_t i = 0; i < texts.size(); ++i) {
    out.emplace_back(flat.begin() + i * dim, flat.begin() + (i + 1) * dim);
  }
  return out;
}

Result<std::vector<TokenWeights>> NeuralModel::Weigh(
    std::span<const std::string> passages) {
  CASCADE_RETURN_IF_ERROR(impl_->Expect(gpu::ModelKind::kTokenWeigher, "weigh"));
  gpu::PairBatch batch;
  batch.offsets.push_back(0);
  for (const std::string& passage : passages) {
    CASCADE_ASSIGN_OR_RETURN(
        Encoding e, impl_->tokenizer->EncodeSingle(passage, impl_->max_length));
    Impl::Append(e, &batch);
  }
  std::vector<TokenWeights> out;
  if (passages.empty()) return out;
  CASCADE_ASSIGN_OR_RETURN(std::vector<float> flat, impl_->Run(batch));
  for (size_t i = 0; i < passages.size(); ++i) {
    TokenWeights tw;
    tw.input_ids.assign(batch.token_ids.begin() + batch.offsets[i],
                        batch.token_ids.begin() + batch.offsets[i + 1]);
    tw.weights.assign(flat.begin() + batch.offsets[i],
                      flat.begin() + batch.offsets[i + 1]);
    out.push_back(std::move(tw));
  }
  return out;
}

Result<std::vector<float>> NeuralModel::RunTokens(const gpu::PairBatch& batch) {
  if (batch.size() == 0) return std::vector<float>();
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto len = static_cast<size_t>(batch.offsets[i + 1] - batch.offsets[i]);
    if (len > impl_->max_length) {
      return Status::InvalidArgument(
          "sequence " + std::to_string(i) + " has " + std::to_string(len) +
          " tokens, over max_length " + std::to_string(impl_->max_length));
    }
  }
  return impl_->Run(batch);
}

}  // namespace cascade::rerank
