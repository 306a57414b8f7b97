#include "index/posting_codec.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "index/keys.h"

namespace cascade::index {

uint32_t BitWidth(std::span<const uint32_t> values) {
  uint32_t all = 0;
  for (uint32_t v : values) all |= v;
  return static_cast<uint32_t>(std::bit_width(all));
}

void PackBits(std::span<const uint32_t> values, uint32_t width,
              std::string* out) {
  if (width == 0 || values.empty()) return;
  uint64_t acc = 0;
  uint32_t filled = 0;
  for (uint32_t v : values) {
    acc |= uint64_t{v} << filled;
    filled += width;
    while (filled >= 8) {
      out->push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      filled -= 8;
    }
  }
  if (filled > 0) out->push_back(static_cast<char>(acc & 0xff));
}

void UnpackBits(const unsigned char* in, uint32_t n, uint32_t width,
                uint32_t* out) {
  if (width == 0) {
    std::fill(out, out + n, 0u);
    return;
  }
  const uint64_t mask = (width == 32) ? 0xffffffffull : ((1ull << width) - 1);
  uint64_t acc = 0;
  uint32_t have = 0;
  for (uint32_t i = 0; i < n; ++i) {
    while (have < width) {
      acc |= uint64_t{*in++} << have;
      have += 8;
    }
    out[i] = static_cast<uint32_t>(acc & mask);
    acc >>= width;
    have -= width;
  }
}

namespace {

// In 64 bits: doc_freq near 2^32 must not wrap.
uint64_t BlocksFor(uint64_t doc_freq) {
  return (doc_freq + kBlockSize - 1) / kBlockSize;
}

size_t PackedBytes(uint32_t n, uint32_t width) {
  return (static_cast<size_t>(n) * width + 7) / 8;
}

void EncodeBlock(std::span<const uint32_t> gaps,
                 std::span<const uint32_t> tf_minus_one, std::string* out) {
  uint32_t w = BitWidth(gaps);
  out->push_back(static_cast<char>(w));
  PackBits(gaps, w, out);
  w = BitWidth(tf_minus_one);
  out->push_back(static_cast<char>(w));
  PackBits(tf_minus_one, w, out);
}

}  // namespace

void EncodePostings(std::span<const uint32_t> docs,
                    std::span<const uint32_t> tfs, std::string* out) {
  assert(docs.size() == tfs.size());
  const auto n = static_cast<uint32_t>(docs.size());
  const uint32_t block_count = (n + kBlockSize - 1) / kBlockSize;
  uint64_t total = 0;
  for (uint32_t tf : tfs) total += tf;
  PutVarint32(out, n);
  PutVarint64(out, total);
  PutVarint32(out, block_count);

  std::string blocks;
  std::string skips;
  uint32_t gaps[kBlockSize];
  uint32_t freqs[kBlockSize];
  int64_t prev = -1;
  for (uint32_t b = 0; b < block_count; ++b) {
    const uint32_t begin = b * kBlockSize;
    const uint32_t len = std::min(kBlockSize, n - begin);
    for (uint32_t i = 0; i < len; ++i) {
      assert(static_cast<int64_t>(docs[begin + i]) > prev);
      assert(tfs[begin + i] >= 1);
      gaps[i] = static_cast<uint32_t>(docs[begin + i] - prev - 1);
      freqs[i] = tfs[begin + i] - 1;
      prev = docs[begin + i];
    }
    const size_t before = blocks.size();
    EncodeBlock({gaps, len}, {freqs, len}, &blocks);
    PutVarint32(&skips, docs[begin + len - 1]);
    PutVarint32(&skips, static_cast<uint32_t>(blocks.size() - before));
  }
  out->append(skips);
  out->append(blocks);
}

Result<PostingHeader> DecodePostingHeader(std::string_view bytes) {
  PostingHeader h;
  if (!GetVarint32(&bytes, &h.doc_freq) ||
      !GetVarint64(&bytes, &h.total_term_freq) ||
      !GetVarint32(&bytes, &h.block_count)) {
    return Status::Corruption("posting list header is truncated");
  }
  if (h.block_count != BlocksFor(h.doc_freq)) {
    return Status::Corruption("posting list block count does not match its "
                              "document frequency");
  }
  return h;
}

Status DecodePostings(std::string_view bytes, std::vector<uint32_t>* docs,
                      std::vector<uint32_t>* tfs) {
  CASCADE_ASSIGN_OR_RETURN(PostingHeader h, DecodePostingHeader(bytes));
  std::string_view in = bytes;
  uint64_t skip_header;
  GetVarint64(&in, &skip_header);  // doc_freq, total_term_freq, block_count:
  GetVarint64(&in, &skip_header);  // already validated above
  GetVarint64(&in, &skip_header);
  // Each skip entry takes at least two bytes: a cheap bound that keeps a
  // corrupt doc_freq from making us allocate for postings that the bytes
  // cannot hold.
  if (in.size() < size_t{2} * h.block_count) {
    return Status::Corruption("posting list is shorter than its skip table");
  }
  std::vector<uint32_t> last_docs(h.block_count), block_sizes(h.block_count);
  for (uint32_t b = 0; b < h.block_count; ++b) {
    if (!GetVarint32(&in, &last_docs[b]) || !GetVarint32(&in, &block_sizes[b])) {
      return Status::Corruption("posting list skip table is truncated");
    }
  }
  docs->resize(h.doc_freq);
  tfs->resize(h.doc_freq);
  int64_t prev = -1;
  uint64_t total_tf = 0;
  for (uint32_t b = 0; b < h.block_count; ++b) {
    const uint32_t begin = b * kBlockSize;
    const uint32_t len = std::min(kBlockSize, h.doc_freq - begin);
    if (in.size() < block_sizes[b]) {
      return Status::Corruption("posting list block is truncated");
    }
    std::string_view block = in.substr(0, block_sizes[b]);
    in.remove_prefix(block_sizes[b]);
    for (int part = 0; part < 2; ++part) {
      if (block.empty()) return Status::Corruption("posting block is empty");
      const auto w = static_cast<unsigned char>(block.front());
      block.remove_prefix(1);
      if (w > 32 || block.size() < PackedBytes(len, w)) {
        return Status::Corruption("posting block has a bad bit width");
      }
      uint32_t* dst = (part == 0 ? docs->data() : tfs->data()) + begin;
      UnpackBits(reinterpret_cast<const unsigned char*>(block.data()), len, w,
                 dst);
      block.remove_prefix(PackedBytes(len, w));
    }
    if (!block.empty()) {
      return Status::Corruption("posting block is longer than its contents");
    }
    for (uint32_t i = 0; i < len; ++i) {
      const int64_t doc = prev + 1 + (*docs)[begin + i];
      if (doc > UINT32_MAX) return Status::Corruption("posting doc overflow");
      const uint64_t tf = uint64_t{(*tfs)[begin + i]} + 1;
      if (tf > UINT32_MAX) return Status::Corruption("posting tf overflow");
      (*docs)[begin + i] = static_cast<uint32_t>(doc);
      (*tfs)[begin + i] = static_cast<uint32_t>(tf);
      total_tf += tf;
      prev = doc;
    }
    if (prev != last_docs[b]) {
      return Status::Corruption("posting skip entry does not match its block");
    }
  }
  if (!in.empty()) return Status::Corruption("posting list has trailing bytes");
  if (total_tf != h.total_term_freq) {
    return Status::Corruption("posting list total term frequency does not match");
  }
  return Status::OK();
}

}  // namespace cascade::index
