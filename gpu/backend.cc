// Backend-independent parts of gpu/backend.h: the batch check every backend
// runs before touching an embedding table.
#include "gpu/backend.h"

#include <string>

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

}  // namespace cascade::gpu
