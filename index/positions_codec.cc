#include "index/positions_codec.h"

#include <cassert>
#include <numeric>

#include "index/keys.h"
#include "index/posting_codec.h"

namespace cascade::index {

void EncodePositions(std::span<const uint32_t> tfs,
                     std::span<const uint32_t> positions, std::string* out) {
  assert(std::accumulate(tfs.begin(), tfs.end(), uint64_t{0}) ==
         positions.size());
  const size_t n = tfs.size();
  const uint32_t block_count =
      static_cast<uint32_t>((n + kBlockSize - 1) / kBlockSize);
  std::vector<std::string> blocks(block_count);
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    std::string& block = blocks[i / kBlockSize];
    uint32_t previous = 0;
    for (uint32_t j = 0; j < tfs[i]; ++j, ++at) {
      const uint32_t p = positions[at];
      assert(j == 0 || p > previous);
      PutVarint32(&block, j == 0 ? p : p - previous - 1);
      previous = p;
    }
  }
  PutVarint32(out, block_count);
  for (const std::string& block : blocks) {
    PutVarint32(out, static_cast<uint32_t>(block.size()));
  }
  for (const std::string& block : blocks) out->append(block);
}

Status PositionsReader::Reset(std::string_view data,
                              std::span<const uint32_t> tfs) {
  tfs_ = tfs;
  block_sizes_.clear();
  block_ = UINT32_MAX;
  block_offset_ = 0;
  next_ = 0;
  rest_ = {};
  uint32_t count = 0;
  if (!GetVarint32(&data, &count)) {
    return Status::Corruption("positions", "truncated block count");
  }
  const uint64_t expected = (tfs.size() + kBlockSize - 1) / kBlockSize;
  if (count != expected) {
    return Status::Corruption("positions",
                              std::to_string(count) + " blocks for " +
                                  std::to_string(tfs.size()) + " postings");
  }
  block_sizes_.resize(count);
  uint64_t total = 0;
  for (uint32_t& size : block_sizes_) {
    if (!GetVarint32(&data, &size)) {
      return Status::Corruption("positions", "truncated block table");
    }
    total += size;
  }
  if (total != data.size()) {
    return Status::Corruption("positions", "block sizes do not add up");
  }
  blocks_ = data;
  return Status::OK();
}

Status PositionsReader::EnterBlock(uint32_t block) {
  // Forward only: sum the sizes of the blocks passed over.
  if (block_ == UINT32_MAX) {
    block_ = 0;
    block_offset_ = 0;
  }
  while (block_ < block) block_offset_ += block_sizes_[block_++];
  rest_ = blocks_.substr(block_offset_, block_sizes_[block]);
  next_ = block * kBlockSize;
  return Status::OK();
}

Status PositionsReader::Read(uint32_t i, std::vector<uint32_t>* out) {
  out->clear();
  if (i >= tfs_.size()) {
    return Status::InvalidArgument("positions: posting " + std::to_string(i) +
                                   " of " + std::to_string(tfs_.size()));
  }
  const uint32_t block = i / kBlockSize;
  if (block_ == UINT32_MAX || block != block_ || i < next_) {
    if (block_ != UINT32_MAX && (block < block_ || (block == block_ && i < next_))) {
      return Status::InvalidArgument("positions: read backwards");
    }
    CASCADE_RETURN_IF_ERROR(EnterBlock(block));
  }
  uint32_t value;
  for (; next_ < i; ++next_) {  // skip the postings in between
    for (uint32_t j = 0; j < tfs_[next_]; ++j) {
      if (!GetVarint32(&rest_, &value)) {
        return Status::Corruption("positions", "truncated block");
      }
    }
  }
  out->reserve(tfs_[i]);
  uint32_t position = 0;
  for (uint32_t j = 0; j < tfs_[i]; ++j) {
    if (!GetVarint32(&rest_, &value)) {
      return Status::Corruption("positions", "truncated block");
    }
    position = j == 0 ? value : position + value + 1;
    out->push_back(position);
  }
  ++next_;
  return Status::OK();
}

}  // namespace cascade::index
