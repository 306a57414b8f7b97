// Backend-independent parts of gpu/backend.h: the batch check every backend
// runs before touching an embedding table.
#include "gpu/backend.h"

#include <cstdio>
#include <string>
#include <utility>

namespace cascade::gpu {
namespace {

Status BadBatch(const std::string& detail) {
  return Status::InvalidArgument("invalid batch", detail);
}

std::string SequenceName(size_t index) {
  return "sequence " + std::to_string(index);
}

}  // namespace

Status ValidateBatch(const PairBatch& batch, int vocab_size,
                     int type_vocab_size, int max_length) {
  const size_t tokens = batch.token_ids.size();
  if (batch.segment_ids.size() != tokens) {
    return BadBatch("segment_ids has " +
                    std::to_string(batch.segment_ids.size()) +
                    " entries but token_ids has " + std::to_string(tokens));
  }
  if (batch.offsets.empty()) {
    // No sequences at all is a valid (empty) batch; tokens without offsets
    // cannot be attributed to a sequence.
    if (tokens == 0) return Status::OK();
    return BadBatch("offsets is empty but token_ids has " +
                    std::to_string(tokens) + " tokens");
  }
  if (batch.offsets[0] != 0) {
    return BadBatch(SequenceName(0) + ": starts at offset " +
                    std::to_string(batch.offsets[0]) + ", not 0");
  }
  const size_t sequences = batch.size();
  for (size_t i = 0; i < sequences; ++i) {
    const int64_t begin = batch.offsets[i];
    const int64_t end = batch.offsets[i + 1];
    if (end < begin) {
      return BadBatch(SequenceName(i) + ": offsets decrease (" +
                      std::to_string(begin) + " then " + std::to_string(end) +
                      ")");
    }
    if (static_cast<uint64_t>(end) > tokens) {
      return BadBatch(SequenceName(i) + ": ends at offset " +
                      std::to_string(end) + ", past the batch's " +
                      std::to_string(tokens) + " tokens");
    }
    const int64_t length = end - begin;
    if (length == 0) return BadBatch(SequenceName(i) + ": empty");
    if (length > max_length) {
      return BadBatch(SequenceName(i) + ": " + std::to_string(length) +
                      " tokens, more than the model's maximum of " +
                      std::to_string(max_length));
    }
    for (int64_t t = begin; t < end; ++t) {
      const int32_t id = batch.token_ids[t];
      if (id < 0 || id >= vocab_size) {
        return BadBatch(SequenceName(i) + ": token " +
                        std::to_string(t - begin) + " has id " +
                        std::to_string(id) + ", outside the vocabulary [0, " +
                        std::to_string(vocab_size) + ")");
      }
      const int32_t type = batch.segment_ids[t];
      if (type < 0 || type >= type_vocab_size) {
        return BadBatch(SequenceName(i) + ": token " +
                        std::to_string(t - begin) + " has token type id " +
                        std::to_string(type) + ", outside [0, " +
                        std::to_string(type_vocab_size) + ")");
      }
    }
  }
  if (static_cast<size_t>(batch.offsets.back()) != tokens) {
    // Tokens after the last sequence: a sequence is missing from offsets.
    const std::string where = sequences == 0
                                  ? std::string("offsets")
                                  : SequenceName(sequences - 1) + " (the last)";
    return BadBatch(where + ": ends at offset " +
                    std::to_string(batch.offsets.back()) +
                    " but token_ids has " + std::to_string(tokens) + " tokens");
  }
  return Status::OK();
}

namespace {

class FallbackBackend final : public Backend {
 public:
  FallbackBackend(std::unique_ptr<Backend> primary, BackendFactory factory)
      : current_(std::move(primary)), factory_(std::move(factory)) {}

  std::string_view Name() const override { return current_->Name(); }
  Status Healthy() const override { return current_->Healthy(); }
  Result<std::vector<float>> Score(const PairBatch& batch) override {
    return Run([&](Backend& b) { return b.Score(batch); });
  }
  Result<std::vector<float>> Embed(const PairBatch& batch) override {
    return Run([&](Backend& b) { return b.Embed(batch); });
  }
  Result<std::vector<float>> WeighTokens(const PairBatch& batch) override {
    return Run([&](Backend& b) { return b.WeighTokens(batch); });
  }

 private:
  template <typename Call>
  Result<std::vector<float>> Run(Call call) {
    if (!fell_back_) {
      Status healthy = current_->Healthy();
      if (healthy.ok()) {
        Result<std::vector<float>> out = call(*current_);
        if (out.ok()) return out;
        healthy = current_->Healthy();
        if (healthy.ok()) return out;  // the batch's own error
      }
      Result<std::unique_ptr<Backend>> fallback = factory_();
      if (!fallback.ok()) {
        return Status::Unavailable(
            std::string(current_->Name()) + " backend failed (" +
                healthy.ToString() + ") and its fallback could not be built",
            fallback.status().ToString());
      }
      std::fprintf(stderr,
                   "cascade: the %.*s backend failed (%s); continuing on %.*s\n",
                   static_cast<int>(current_->Name().size()),
                   current_->Name().data(), healthy.ToString().c_str(),
                   static_cast<int>((*fallback)->Name().size()),
                   (*fallback)->Name().data());
      current_ = std::move(*fallback);
      fell_back_ = true;
    }
    return call(*current_);
  }

  std::unique_ptr<Backend> current_;
  BackendFactory factory_;
  bool fell_back_ = false;
};

}  // namespace

std::unique_ptr<Backend> WithFallback(std::unique_ptr<Backend> primary,
                                      BackendFactory make_fallback) {
  return std::make_unique<FallbackBackend>(std::move(primary),
                                           std::move(make_fallback));
}

Result<Precision> ParsePrecision(std::string_view name) {
  if (name == "fp16") return Precision::kFp16;
  if (name == "bf16") return Precision::kBf16;
  if (name == "fp32") return Precision::kFp32;
  return Status::InvalidArgument("precision must be fp16, bf16 or fp32, got",
                                 name);
}

std::string_view PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp16:
      return "fp16";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp32:
      return "fp32";
  }
  return "?";
}

}  // namespace cascade::gpu
