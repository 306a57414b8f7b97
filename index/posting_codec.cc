#include "index/posting_codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CASCADE_X86_64 1
#endif

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

namespace {

size_t PackedBytes(uint32_t n, uint32_t width) {
  return (static_cast<size_t>(n) * width + 7) / 8;
}

uint64_t LowMask(uint32_t width) {
  return width == 32 ? 0xffffffffull : ((1ull << width) - 1);
}

// Little-endian 64-bit load of up to 8 bytes (fewer at the end of the input).
inline uint64_t LoadLe(const unsigned char* p, size_t avail) {
  uint64_t v = 0;
  if (avail >= 8 && std::endian::native == std::endian::little) {
    std::memcpy(&v, p, 8);
    return v;
  }
  const size_t n = std::min<size_t>(avail, 8);
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

// One unaligned 64-bit load per value: a value of <= 32 bits starting at any
// bit of a byte fits in the 8 bytes from that byte. Near the end of the input
// the load is shortened, so nothing past ceil(n * width / 8) bytes is read.
void UnpackBitsScalar(const unsigned char* in, uint32_t n, uint32_t width,
                      uint32_t* out) {
  if (width == 0) {
    std::fill(out, out + n, 0u);
    return;
  }
  const size_t total = PackedBytes(n, width);
  const uint64_t mask = LowMask(width);
  size_t bit = 0;
  for (uint32_t i = 0; i < n; ++i, bit += width) {
    const size_t byte = bit >> 3;
    out[i] = static_cast<uint32_t>((LoadLe(in + byte, total - byte) >> (bit & 7)) &
                                   mask);
  }
}

#ifdef CASCADE_X86_64

namespace {

// For width w, 8 consecutive values start at byte multiples of w (8 * w bits).
// Lane j (0..7) of a 64-bit vector takes the 8 bytes from byte (j * w) / 8
// and shifts right by (j * w) % 8. Indices past the 64-byte window wrap, but
// they only feed bits above the value, which the mask clears: value j ends
// at bit 8 * w - 1 of the window at most.
struct UnpackTable {
  alignas(64) uint8_t index[64];
  alignas(64) uint64_t shift[8];
};

constexpr std::array<UnpackTable, 33> MakeUnpackTables() {
  std::array<UnpackTable, 33> tables{};
  for (uint32_t w = 0; w <= 32; ++w) {
    for (uint32_t j = 0; j < 8; ++j) {
      for (uint32_t k = 0; k < 8; ++k) {
        tables[w].index[8 * j + k] = static_cast<uint8_t>(((j * w) >> 3) + k);
      }
      tables[w].shift[j] = (j * w) & 7;
    }
  }
  return tables;
}

constexpr std::array<UnpackTable, 33> kUnpackTables = MakeUnpackTables();

}  // namespace

// GCC 12 warns that the intrinsics' own _mm512_undefined_* placeholders are
// uninitialised (a false positive inside its headers).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// 16 values per step from one masked 64-byte load (2 * w bytes are needed):
// two byte permutes (VBMI) build 64-bit lanes, then shift, mask, narrow.
// The masked load never touches bytes past the input.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void UnpackBitsAvx512(
    const unsigned char* in, uint32_t n, uint32_t width, uint32_t* out) {
  if (width == 0) {
    std::fill(out, out + n, 0u);
    return;
  }
  const size_t total = PackedBytes(n, width);
  const UnpackTable& t = kUnpackTables[width];
  const __m512i idx_lo = _mm512_load_si512(t.index);
  const __m512i idx_hi =
      _mm512_add_epi8(idx_lo, _mm512_set1_epi8(static_cast<char>(width)));
  const __m512i shift = _mm512_load_si512(t.shift);
  const __m512i mask = _mm512_set1_epi64(static_cast<long long>(LowMask(width)));
  uint32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const size_t byte = size_t{i / 8} * width;
    const size_t avail = total - byte;
    const __mmask64 m = avail >= 64 ? ~__mmask64{0} : ((__mmask64{1} << avail) - 1);
    const __m512i window = _mm512_maskz_loadu_epi8(m, in + byte);
    __m512i lo = _mm512_permutexvar_epi8(idx_lo, window);
    __m512i hi = _mm512_permutexvar_epi8(idx_hi, window);
    lo = _mm512_and_si512(_mm512_srlv_epi64(lo, shift), mask);
    hi = _mm512_and_si512(_mm512_srlv_epi64(hi, shift), mask);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi64_epi32(lo));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 8),
                        _mm512_cvtepi64_epi32(hi));
  }
  if (i < n) UnpackBitsScalar(in + size_t{i / 8} * width, n - i, width, out + i);
}
#pragma GCC diagnostic pop

bool HaveAvx512Unpack() {
  // Also runs from static initialisers (kUnpack below), before the CPU
  // features are otherwise initialised.
  __builtin_cpu_init();
  static const bool have = __builtin_cpu_supports("avx512f") &&
                           __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vbmi");
  return have;
}

#else

void UnpackBitsAvx512(const unsigned char* in, uint32_t n, uint32_t width,
                      uint32_t* out) {
  UnpackBitsScalar(in, n, width, out);
}
bool HaveAvx512Unpack() { return false; }

#endif

namespace {

using UnpackFn = void (*)(const unsigned char*, uint32_t, uint32_t, uint32_t*);
const UnpackFn kUnpack = HaveAvx512Unpack() ? UnpackBitsAvx512 : UnpackBitsScalar;

}  // namespace

void UnpackBits(const unsigned char* in, uint32_t n, uint32_t width,
                uint32_t* out) {
  kUnpack(in, n, width, out);
}

const char* UnpackKernelName() {
  return kUnpack == UnpackBitsScalar ? "scalar" : "avx512";
}

namespace {

// In 64 bits: doc_freq near 2^32 must not wrap.
uint64_t BlocksFor(uint64_t doc_freq) {
  return (doc_freq + kBlockSize - 1) / kBlockSize;
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

// The upper-left frontier of (tf, length) pairs: for each tf the smallest
// length, kept when every larger tf has a larger length. Increasing tf.
std::vector<TfLength> Frontier(std::span<const uint32_t> tfs,
                               std::span<const uint32_t> lengths) {
  // The smallest length of each tf, then the tfs whose smallest length is
  // below that of every larger tf. Counting by tf is linear; a list with a
  // huge tf, or a short one, is sorted instead.
  constexpr uint32_t kMaxCountedTf = 4096;
  uint32_t max_tf = 0;
  for (uint32_t tf : tfs) max_tf = std::max(max_tf, tf);
  std::vector<TfLength> frontier;
  if (tfs.size() >= 16 && max_tf <= kMaxCountedTf) {
    std::vector<uint32_t> min_length(max_tf + 1, UINT32_MAX);
    for (size_t i = 0; i < tfs.size(); ++i) {
      min_length[tfs[i]] = std::min(min_length[tfs[i]], lengths[i]);
    }
    for (uint32_t tf = max_tf; tf >= 1; --tf) {
      if (min_length[tf] == UINT32_MAX) continue;
      if (frontier.empty() || min_length[tf] < frontier.back().length) {
        frontier.push_back({tf, min_length[tf]});
      }
    }
  } else {
    std::vector<TfLength> pairs(tfs.size());
    for (size_t i = 0; i < tfs.size(); ++i) pairs[i] = {tfs[i], lengths[i]};
    std::sort(pairs.begin(), pairs.end(), [](const TfLength& a, const TfLength& b) {
      return a.tf != b.tf ? a.tf > b.tf : a.length < b.length;
    });
    for (size_t i = 0; i < pairs.size(); ++i) {
      if (i > 0 && pairs[i].tf == pairs[i - 1].tf) continue;  // not its group's min
      if (frontier.empty() || pairs[i].length < frontier.back().length) {
        frontier.push_back(pairs[i]);
      }
    }
  }
  std::reverse(frontier.begin(), frontier.end());
  return frontier;
}

}  // namespace

void EncodePostings(std::span<const uint32_t> docs,
                    std::span<const uint32_t> tfs,
                    std::span<const uint32_t> doc_lengths, std::string* out) {
  assert(docs.size() == tfs.size());
  const auto n = static_cast<uint32_t>(docs.size());
  const uint32_t block_count = (n + kBlockSize - 1) / kBlockSize;
  std::vector<uint32_t> lengths(n);
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    total += tfs[i];
    if (doc_lengths.empty()) {
      lengths[i] = tfs[i];
    } else {
      assert(docs[i] < doc_lengths.size());
      lengths[i] = doc_lengths[docs[i]];
    }
  }
  PutVarint32(out, n);
  PutVarint64(out, total);
  PutVarint32(out, block_count);
  const std::vector<TfLength> frontier = Frontier(tfs, lengths);
  PutVarint32(out, static_cast<uint32_t>(frontier.size()));
  for (const TfLength& p : frontier) {
    PutVarint32(out, p.tf);
    PutVarint32(out, p.length);
  }

  std::string blocks;
  std::string skips;
  uint32_t gaps[kBlockSize];
  uint32_t freqs[kBlockSize];
  int64_t prev = -1;
  for (uint32_t b = 0; b < block_count; ++b) {
    const uint32_t begin = b * kBlockSize;
    const uint32_t len = std::min(kBlockSize, n - begin);
    uint32_t max_tf = 0, min_length = UINT32_MAX;
    for (uint32_t i = 0; i < len; ++i) {
      assert(static_cast<int64_t>(docs[begin + i]) > prev);
      assert(tfs[begin + i] >= 1);
      gaps[i] = static_cast<uint32_t>(docs[begin + i] - prev - 1);
      freqs[i] = tfs[begin + i] - 1;
      prev = docs[begin + i];
      max_tf = std::max(max_tf, tfs[begin + i]);
      min_length = std::min(min_length, lengths[begin + i]);
    }
    const size_t before = blocks.size();
    EncodeBlock({gaps, len}, {freqs, len}, &blocks);
    PutVarint32(&skips, docs[begin + len - 1]);
    PutVarint32(&skips, static_cast<uint32_t>(blocks.size() - before));
    PutVarint32(&skips, max_tf);
    PutVarint32(&skips, min_length);
  }
  PutVarint32(out, static_cast<uint32_t>(skips.size()));
  out->append(skips);
  out->append(blocks);
}

void EncodePostings(std::span<const uint32_t> docs,
                    std::span<const uint32_t> tfs, std::string* out) {
  EncodePostings(docs, tfs, {}, out);
}

namespace {

// Reads the header and frontier; leaves *in at skip_bytes.
Status ReadHead(std::string_view* in, PostingHeader* h,
                std::vector<TfLength>* frontier) {
  if (!GetVarint32(in, &h->doc_freq) || !GetVarint64(in, &h->total_term_freq) ||
      !GetVarint32(in, &h->block_count)) {
    return Status::Corruption("posting list header is truncated");
  }
  if (h->block_count != BlocksFor(h->doc_freq)) {
    return Status::Corruption("posting list block count does not match its "
                              "document frequency");
  }
  uint32_t count;
  if (!GetVarint32(in, &count)) {
    return Status::Corruption("posting list frontier is truncated");
  }
  // Two bytes at least per point: bounds the allocation by the input.
  if ((count == 0) != (h->doc_freq == 0) || in->size() < size_t{2} * count) {
    return Status::Corruption("posting list frontier has a bad size");
  }
  frontier->resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    TfLength& p = (*frontier)[i];
    if (!GetVarint32(in, &p.tf) || !GetVarint32(in, &p.length)) {
      return Status::Corruption("posting list frontier is truncated");
    }
    if (p.tf == 0 || (i > 0 && (p.tf <= (*frontier)[i - 1].tf ||
                                p.length <= (*frontier)[i - 1].length))) {
      return Status::Corruption("posting list frontier is not increasing");
    }
  }
  return Status::OK();
}

bool GetSkipEntry(std::string_view* in, BlockMeta* m) {
  return GetVarint32(in, &m->last_doc) && GetVarint32(in, &m->bytes) &&
         GetVarint32(in, &m->max_tf) && GetVarint32(in, &m->min_length);
}

// Splits the rest after the frontier into the skip table and the blocks.
Status SplitSkips(std::string_view in, std::string_view* skips,
                  std::string_view* blocks) {
  uint32_t skip_bytes;
  if (!GetVarint32(&in, &skip_bytes) || in.size() < skip_bytes) {
    return Status::Corruption("posting list is shorter than its skip table");
  }
  *skips = in.substr(0, skip_bytes);
  *blocks = in.substr(skip_bytes);
  return Status::OK();
}

}  // namespace

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

Result<PostingMeta> DecodePostingMeta(std::string_view bytes) {
  PostingMeta meta;
  CASCADE_RETURN_IF_ERROR(ReadHead(&bytes, &meta.header, &meta.frontier));
  std::string_view skips, blocks;
  CASCADE_RETURN_IF_ERROR(SplitSkips(bytes, &skips, &blocks));
  // Each skip entry takes at least four bytes.
  if (skips.size() < size_t{4} * meta.header.block_count) {
    return Status::Corruption("posting list skip table is truncated");
  }
  meta.blocks.resize(meta.header.block_count);
  uint64_t sum = 0;
  for (uint32_t b = 0; b < meta.header.block_count; ++b) {
    BlockMeta& m = meta.blocks[b];
    if (!GetSkipEntry(&skips, &m)) {
      return Status::Corruption("posting list skip table is truncated");
    }
    if (b > 0 && m.last_doc <= meta.blocks[b - 1].last_doc) {
      return Status::Corruption("posting skip table is not increasing");
    }
    if (m.max_tf == 0) return Status::Corruption("posting block max tf is 0");
    sum += m.bytes;
  }
  if (!skips.empty()) {
    return Status::Corruption("posting skip table is longer than its entries");
  }
  if (sum != blocks.size()) {
    return Status::Corruption("posting blocks do not add up to the list");
  }
  return meta;
}

Status DecodePostings(std::string_view bytes, std::vector<uint32_t>* docs,
                      std::vector<uint32_t>* tfs) {
  CASCADE_ASSIGN_OR_RETURN(PostingMeta meta, DecodePostingMeta(bytes));
  const PostingHeader& h = meta.header;
  std::string_view in = bytes;
  {
    PostingHeader ignored;
    std::vector<TfLength> frontier;
    CASCADE_RETURN_IF_ERROR(ReadHead(&in, &ignored, &frontier));
    std::string_view skips;
    CASCADE_RETURN_IF_ERROR(SplitSkips(in, &skips, &in));
  }
  docs->resize(h.doc_freq);
  tfs->resize(h.doc_freq);
  int64_t prev = -1;
  uint64_t total_tf = 0;
  for (uint32_t b = 0; b < h.block_count; ++b) {
    const uint32_t begin = b * kBlockSize;
    const uint32_t len = std::min(kBlockSize, h.doc_freq - begin);
    std::string_view block = in.substr(0, meta.blocks[b].bytes);
    in.remove_prefix(meta.blocks[b].bytes);
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
    uint64_t max_tf = 0;
    for (uint32_t i = 0; i < len; ++i) {
      const int64_t doc = prev + 1 + (*docs)[begin + i];
      if (doc > UINT32_MAX) return Status::Corruption("posting doc overflow");
      const uint64_t tf = uint64_t{(*tfs)[begin + i]} + 1;
      if (tf > UINT32_MAX) return Status::Corruption("posting tf overflow");
      (*docs)[begin + i] = static_cast<uint32_t>(doc);
      (*tfs)[begin + i] = static_cast<uint32_t>(tf);
      total_tf += tf;
      max_tf = std::max(max_tf, tf);
      prev = doc;
    }
    if (prev != meta.blocks[b].last_doc) {
      return Status::Corruption("posting skip entry does not match its block");
    }
    if (max_tf != meta.blocks[b].max_tf) {
      return Status::Corruption("posting skip entry max tf does not match its block");
    }
  }
  if (total_tf != h.total_term_freq) {
    return Status::Corruption("posting list total term frequency does not match");
  }
  return Status::OK();
}

// ------------------------------------------------------------ cursor

Status PostingCursor::Reset(std::string_view bytes, uint32_t doc_limit) {
  status_ = Status::OK();
  doc_limit_ = doc_limit;
  meta_.clear();
  block_offset_.clear();
  block_ = shallow_ = pos_ = block_len_ = 0;
  doc_ = kEnd;
  tfs_ready_ = false;
  CASCADE_RETURN_IF_ERROR(ReadHead(&bytes, &header_, &frontier_));
  CASCADE_RETURN_IF_ERROR(SplitSkips(bytes, &skip_rest_, &blocks_));
  if (skip_rest_.size() < size_t{4} * header_.block_count) {
    return Status::Corruption("posting list skip table is truncated");
  }
  meta_.reserve(std::min<uint32_t>(header_.block_count, 1024));
  LoadBlock(0);
  return status_;
}

void PostingCursor::Fail(const char* what) {
  if (status_.ok()) status_ = Status::Corruption(what);
  doc_ = kEnd;
  block_ = header_.block_count;
  pos_ = block_len_ = 0;
}

bool PostingCursor::ParseSkip(uint32_t b) {
  while (meta_.size() <= b) {
    if (meta_.size() >= header_.block_count || !status_.ok()) return false;
    BlockMeta m;
    if (!GetSkipEntry(&skip_rest_, &m)) {
      Fail("posting list skip table is truncated");
      return false;
    }
    const uint32_t start =
        meta_.empty() ? 0 : block_offset_.back() + meta_.back().bytes;
    if ((!meta_.empty() && m.last_doc <= meta_.back().last_doc) ||
        m.last_doc >= doc_limit_ || m.max_tf == 0 ||
        uint64_t{start} + m.bytes > blocks_.size()) {
      Fail("posting skip table is inconsistent");
      return false;
    }
    meta_.push_back(m);
    block_offset_.push_back(start);
  }
  return true;
}

void PostingCursor::LoadBlock(uint32_t b) {
  if (!ParseSkip(b)) {
    if (status_.ok()) {  // past the last block
      doc_ = kEnd;
      block_ = header_.block_count;
      pos_ = block_len_ = 0;
    }
    return;
  }
  block_ = b;
  shallow_ = std::max(shallow_, b);
  const uint32_t len = std::min(kBlockSize, header_.doc_freq - b * kBlockSize);
  const auto* p =
      reinterpret_cast<const unsigned char*>(blocks_.data()) + block_offset_[b];
  const auto* end = p + meta_[b].bytes;
  const uint32_t dw = p < end ? *p : 255;
  if (dw > 32 || size_t(end - p - 1) < PackedBytes(len, dw) + 1) {
    return Fail("posting block has a bad bit width");
  }
  UnpackBits(p + 1, len, dw, docs_);
  p += 1 + PackedBytes(len, dw);
  tf_width_ = *p;
  tf_bytes_ = p + 1;
  if (tf_width_ > 32 || size_t(end - tf_bytes_) != PackedBytes(len, tf_width_)) {
    return Fail("posting block has a bad size");
  }
  // Gaps to doc ids; the block must end on its skip entry's last doc.
  uint64_t doc = b == 0 ? 0 : uint64_t{meta_[b - 1].last_doc} + 1;
  for (uint32_t i = 0; i < len; ++i) {
    doc += docs_[i];
    docs_[i] = static_cast<uint32_t>(doc);
    ++doc;
  }
  if (doc - 1 != meta_[b].last_doc) {
    return Fail("posting skip entry does not match its block");
  }
  tfs_ready_ = false;
  block_len_ = len;
  pos_ = 0;
  doc_ = docs_[0];
}

void PostingCursor::DecodeTfs() {
  UnpackBits(tf_bytes_, block_len_, tf_width_, tfs_);
  for (uint32_t i = 0; i < block_len_; ++i) ++tfs_[i];  // 2^32 wraps: caught below
  tfs_ready_ = true;
  for (uint32_t i = 0; i < block_len_; ++i) {
    if (tfs_[i] == 0 || tfs_[i] > meta_[block_].max_tf) {
      // Keep the bound honest: a tf above the block's max would score above
      // the block-max bound.
      tfs_[i] = 1;
      Fail("posting tf exceeds its block's max");
    }
  }
}

void PostingCursor::NextGeq(uint32_t target) {
  if (doc_ >= target) return;
  if (target > meta_[block_].last_doc) {
    uint32_t b = std::max(block_ + 1, shallow_);
    while (ParseSkip(b) && meta_[b].last_doc < target) ++b;
    LoadBlock(b);
    if (doc_ == kEnd) return;
  }
  while (docs_[pos_] < target) ++pos_;  // the block's last doc is >= target
  doc_ = docs_[pos_];
}

bool PostingCursor::ShallowGeq(uint32_t target) {
  uint32_t b = std::max(shallow_, block_);
  while (ParseSkip(b) && meta_[b].last_doc < target) ++b;
  shallow_ = b;
  return b < meta_.size();
}

}  // namespace cascade::index
