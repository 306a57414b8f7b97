// Cross-encoder scoring throughput of Cascade's encoder backends on random
// weights of a real shape, one JSON line per case, and (optionally) the
// exact input batches as files so that bench/gpu/torch_gpu_bench.py can run
// PyTorch on the same inputs (bench/gpu/run_device.sh does both).
//
//   cuda_encoder_bench --shape minilm-l6|bert-base [--device cuda|cpu]
//       [--precision fp16|bf16|fp32] [--attention auto|plain]
//       [--lengths 128,256,512]
//       [--batches 100,1000] [--mixed-batches 100,1000] [--mixed-range 32:512]
//       [--seconds 2] [--write-inputs DIR] [--no-graphs]
//       [--gemm lt|cublas] [--exact-gelu] [--fresh-batches N]
//
// --gemm cublas runs the dense layers through cublasGemmEx with a separate
// bias + activation kernel (CudaEncoderOptions::lt_gemm = false);
// --fresh-batches N: each mixed case draws N different batches (other
// lengths, so other token counts) and the timed runs go through them in
// turn, so up to N runs meet a batch shape the encoder has not seen (no
// captured graph, no cached GEMM plan), as a live reranker's batches do.
// --exact-gelu keeps erf GELU in its own kernel under cuBLASLt
// (approximate_gelu = false). Either adds a suffix to the engine name.
//
// A case is a batch of `batch` pairs, every pair `length` tokens long, or,
// for the mixed cases, lengths drawn uniformly from the mixed range. One
// timed run is one Backend::Score call on the batch: token ids in host
// memory to scores in host memory, copies and synchronisation included.
// Each case runs twice untimed first (buffers grow; a CUDA graph is
// captured), then as many times as fit in --seconds (at least 3).
//
// Input files: DIR/<shape>-<L|mixed>-<batch>.bin, little-endian int32:
// pairs, tokens, offsets[pairs + 1], token_ids[tokens], token_types[tokens].
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gpu/backend.h"
#include "gpu/cpu/cpu_encoder.h"
#include "gpu/cuda/cuda_encoder.h"
#include "gpu/model/bert_weights.h"
#include "gpu/model/model_config.h"
#include "gpu/model/random_bert.h"

namespace cascade::gpu {
namespace {

struct Flags {
  std::string shape = "minilm-l6";
  std::string device = "cuda";
  std::string precision = "fp16";
  std::string attention = "auto";  // auto | plain (CudaEncoderOptions)
  std::vector<int> lengths = {128, 256, 512};
  std::vector<int> batches = {100, 1000};
  std::vector<int> mixed_batches = {100, 1000};
  int mixed_min = 32, mixed_max = 512;
  int fresh_batches = 0;
  double seconds = 2.0;
  std::string write_inputs;
  bool graphs = true;
  std::string gemm = "lt";  // lt | cublas (CudaEncoderOptions::lt_gemm)
  bool exact_gelu = false;
};

int Usage(const char* why) {
  std::fprintf(stderr,
               "cuda_encoder_bench: %s\n"
               "usage: cuda_encoder_bench --shape minilm-l6|bert-base "
               "[--device cuda|cpu] [--precision fp16|bf16|fp32] "
               "[--attention auto|plain] "
               "[--lengths L,..] [--batches B,..] [--mixed-batches B,..] "
               "[--mixed-range MIN:MAX] [--seconds S] [--write-inputs DIR] "
               "[--no-graphs] [--gemm lt|cublas] [--exact-gelu] "
               "[--fresh-batches N]\n",
               why);
  return 2;
}

bool ParseList(const std::string& text, std::vector<int>* out) {
  out->clear();
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = text.find(',', at);
    const std::string item =
        text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!item.empty()) {
      char* end = nullptr;
      const long v = std::strtol(item.c_str(), &end, 10);
      if (*end != '\0' || v <= 0) return false;
      out->push_back(static_cast<int>(v));
    }
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return true;
}

Status WriteInputs(const std::string& path, const PairBatch& batch) {
  std::ofstream out(path, std::ios::binary);
  auto put = [&](const int32_t* data, size_t n) {
    out.write(reinterpret_cast<const char*>(data),
              static_cast<std::streamsize>(n * sizeof(int32_t)));
  };
  const int32_t header[2] = {static_cast<int32_t>(batch.size()),
                             static_cast<int32_t>(batch.token_ids.size())};
  put(header, 2);
  put(batch.offsets.data(), batch.offsets.size());
  put(batch.token_ids.data(), batch.token_ids.size());
  put(batch.segment_ids.data(), batch.segment_ids.size());
  if (!out.good()) return Status::IOError("cannot write", path);
  return Status::OK();
}

Result<std::unique_ptr<Backend>> OpenBackend(const Flags& flags,
                                             const ModelConfig& config) {
  BertWeights weights = RandomBertWeights(config, 42);
  if (flags.device == "cpu") {
    CASCADE_ASSIGN_OR_RETURN(
        std::unique_ptr<CpuEncoder> cpu,
        CpuEncoder::Create(config, std::move(weights), CpuEncoderOptions{}));
    return std::unique_ptr<Backend>(std::move(cpu));
  }
  CudaEncoderOptions options;
  CASCADE_ASSIGN_OR_RETURN(options.precision, ParsePrecision(flags.precision));
  options.cuda_graphs = flags.graphs;
  options.lt_gemm = flags.gemm == "lt";
  options.approximate_gelu = !flags.exact_gelu;
  options.attention = flags.attention == "plain"
                          ? CudaEncoderOptions::Attention::kPlain
                          : CudaEncoderOptions::Attention::kAuto;
  CASCADE_ASSIGN_OR_RETURN(
      std::unique_ptr<CudaEncoder> cuda,
      CudaEncoder::Create(config, std::move(weights), options));
  return std::unique_ptr<Backend>(std::move(cuda));
}

int Run(const Flags& flags) {
  Result<ModelConfig> config = CrossEncoderShape(flags.shape);
  if (!config.ok()) return Usage(config.status().ToString().c_str());
  if (!flags.write_inputs.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(flags.write_inputs, ec);
  }
  Result<std::unique_ptr<Backend>> backend = OpenBackend(flags, *config);
  if (!backend.ok()) {
    std::fprintf(stderr, "cuda_encoder_bench: %s\n",
                 backend.status().ToString().c_str());
    return 1;
  }
  struct Case {
    std::string length;  // "128" or "mixed"
    int batch;
    PairBatch pairs;
    std::vector<PairBatch> fresh;  // --fresh-batches: timed in turn
  };
  std::vector<Case> cases;
  const int vocab = config->bert.vocab_size;
  for (int length : flags.lengths) {
    for (int batch : flags.batches) {
      cases.push_back({std::to_string(length), batch,
                       RandomPairs(batch, length, vocab, 1000u + length + batch), {}});
    }
  }
  for (int batch : flags.mixed_batches) {
    cases.push_back({"mixed", batch,
                     RandomMixedPairs(batch, flags.mixed_min, flags.mixed_max,
                                      vocab, 7u + batch), {}});
    for (int i = 0; i < flags.fresh_batches; ++i) {
      cases.back().fresh.push_back(RandomMixedPairs(
          batch, flags.mixed_min, flags.mixed_max, vocab, 100000u + 1000u * batch + i));
    }
  }
  // cascade-cuda-fp16, or cascade-cuda-fp16-plain for the plain kernel.
  std::string engine = "cascade-cpu";
  if (flags.device != "cpu") {
    engine = "cascade-cuda-" + flags.precision;
    if (flags.attention != "auto") engine += "-" + flags.attention;
    if (flags.gemm != "lt") engine += "-" + flags.gemm;
    if (flags.exact_gelu) engine += "-exact-gelu";
  }
  for (const Case& c : cases) {
    if (!flags.write_inputs.empty()) {
      const std::string path = flags.write_inputs + "/" + flags.shape + "-" +
                               c.length + "-" + std::to_string(c.batch) + ".bin";
      Status written = WriteInputs(path, c.pairs);
      if (!written.ok()) {
        std::fprintf(stderr, "cuda_encoder_bench: %s\n", written.ToString().c_str());
        return 1;
      }
    }
    for (int warm = 0; warm < 2; ++warm) {
      Result<std::vector<float>> scores = (*backend)->Score(c.pairs);
      if (!scores.ok()) {
        std::fprintf(stderr, "cuda_encoder_bench: %s\n",
                     scores.status().ToString().c_str());
        return 1;
      }
    }
    using Clock = std::chrono::steady_clock;
    const Clock::time_point start = Clock::now();
    int runs = 0;
    double elapsed = 0.0;
    float checksum = 0.0f;
    do {
      const PairBatch& pairs = c.fresh.empty() ? c.pairs : c.fresh[runs % c.fresh.size()];
      Result<std::vector<float>> scores = (*backend)->Score(pairs);
      if (!scores.ok()) {
        std::fprintf(stderr, "cuda_encoder_bench: %s\n",
                     scores.status().ToString().c_str());
        return 1;
      }
      checksum += (*scores)[0];
      ++runs;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < flags.seconds || runs < 3);
    std::printf(
        "{\"engine\": \"%s\", \"shape\": \"%s\", \"length\": \"%s\", "
        "\"batch\": %d, \"tokens\": %zu, \"fresh\": %zu, \"runs\": %d, "
        "\"ms_per_batch\": %.3f, \"pairs_per_s\": %.1f, \"first_score\": %.5f}\n",
        engine.c_str(), flags.shape.c_str(), c.length.c_str(), c.batch,
        c.pairs.token_ids.size(), c.fresh.size(), runs, 1000.0 * elapsed / runs,
        runs * static_cast<double>(c.batch) / elapsed, checksum / runs);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace cascade::gpu

int main(int argc, char** argv) {
  cascade::gpu::Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--no-graphs") {
      flags.graphs = false;
      continue;
    }
    if (flag == "--exact-gelu") {
      flags.exact_gelu = true;
      continue;
    }
    if (i + 1 >= argc) return cascade::gpu::Usage(("missing value for " + flag).c_str());
    const std::string value = argv[++i];
    bool ok = true;
    if (flag == "--shape") {
      flags.shape = value;
    } else if (flag == "--device") {
      flags.device = value;
      ok = value == "cpu" || value == "cuda";
    } else if (flag == "--precision") {
      flags.precision = value;
    } else if (flag == "--attention") {
      flags.attention = value;
      ok = value == "auto" || value == "plain";
    } else if (flag == "--gemm") {
      flags.gemm = value;
      ok = value == "lt" || value == "cublas";
    } else if (flag == "--lengths") {
      ok = cascade::gpu::ParseList(value, &flags.lengths);
    } else if (flag == "--batches") {
      ok = cascade::gpu::ParseList(value, &flags.batches);
    } else if (flag == "--mixed-batches") {
      ok = cascade::gpu::ParseList(value, &flags.mixed_batches);
    } else if (flag == "--mixed-range") {
      ok = std::sscanf(value.c_str(), "%d:%d", &flags.mixed_min,
                       &flags.mixed_max) == 2 &&
           flags.mixed_min >= 3 && flags.mixed_min <= flags.mixed_max &&
           flags.mixed_max <= 512;
    } else if (flag == "--fresh-batches") {
      ok = std::sscanf(value.c_str(), "%d", &flags.fresh_batches) == 1 &&
           flags.fresh_batches >= 0 && flags.fresh_batches <= 100000;
    } else if (flag == "--seconds") {
      flags.seconds = std::atof(value.c_str());
      ok = flags.seconds >= 0.0;
    } else if (flag == "--write-inputs") {
      flags.write_inputs = value;
    } else {
      return cascade::gpu::Usage(("unknown flag " + flag).c_str());
    }
    if (!ok) return cascade::gpu::Usage(("bad value for " + flag + ": " + value).c_str());
  }
  return cascade::gpu::Run(flags);
}
