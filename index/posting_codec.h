// Posting lists as stored in the "postings" column family (keys.h).
//
// A posting list holds the segment-local doc ids (strictly increasing) of the
// documents that contain a term, and the term's frequency in each. It is cut
// into blocks of kBlockSize postings; the last block may be shorter.
//
// Encoding (format version 2; never change without bumping kFormatVersion):
//   varint32 doc_freq            number of postings
//   varint64 total_term_freq     sum of the frequencies
//   varint32 block_count         ceil(doc_freq / kBlockSize)
//   varint32 frontier_count      0 for an empty list, else >= 1
//   frontier_count x point:      varint32 tf, varint32 document length
//   varint32 skip_bytes          size of the skip table below, in bytes
//   block_count x skip entry:    varint32 last doc id of the block,
//                                varint32 encoded size of the block in bytes,
//                                varint32 largest tf in the block,
//                                varint32 smallest document length in the
//                                block
//   block_count x block:         doc gaps then (tf - 1), each bit-packed:
//                                1 byte bit width w (0..32), then
//                                ceil(n * w / 8) bytes, values packed from
//                                the least significant bit up.
// A doc gap is doc[i] - doc[i-1] - 1 (doc[-1] = the previous block's last
// doc, or -1 for the first block), so a dense run packs at width 0.
// (Version 1 had neither the frontier, nor skip_bytes, nor the last two
// fields of a skip entry; this build does not read it.)
//
// Block-max metadata, for dynamic pruning. BM25's per-term score grows with
// tf and shrinks with the document length, for every k1 >= 0 and b in [0, 1]
// (bm25.h), so a (largest tf, smallest length) pair bounds the score of every
// posting it covers, whatever k1 and b a query picks:
//   - per block: the block's largest tf and smallest length (skip entry);
//   - per term: the upper-left frontier of the list's (tf, length) pairs,
//     i.e. the pairs no other posting beats on both (a larger-or-equal tf
//     with a smaller-or-equal length), in increasing tf, so also increasing
//     length. The term's maximum score is the maximum over these points, with
//     no slack. Lengths are the "contents" lengths of the segment record
//     (keys.h), deleted documents included, so bounds stay valid (if looser)
//     after deletes.
//
// The skip entries let a cursor jump over whole blocks without decoding them
// and bound a block without decoding it. They are varints read front to back:
// cursors only move forward.
//
// Thread-safety: the functions are pure; a PostingCursor belongs to one
// thread.
#ifndef CASCADE_INDEX_POSTING_CODEC_H_
#define CASCADE_INDEX_POSTING_CODEC_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::index {

inline constexpr uint32_t kBlockSize = 128;

// Appends the encoding of (docs, tfs) to *out. Requires docs strictly
// increasing, tfs >= 1, docs.size() == tfs.size() and, when given,
// doc_lengths[doc] for every doc of the list (asserted: callers own these
// invariants). doc_lengths is indexed by the (segment-local) doc id. Without
// it, each posting's length is taken as its tf, the least it can be: bounds
// stay valid but loose (for tests and benchmarks).
void EncodePostings(std::span<const uint32_t> docs,
                    std::span<const uint32_t> tfs,
                    std::span<const uint32_t> doc_lengths, std::string* out);
void EncodePostings(std::span<const uint32_t> docs,
                    std::span<const uint32_t> tfs, std::string* out);

struct PostingHeader {
  uint32_t doc_freq = 0;
  uint64_t total_term_freq = 0;
  uint32_t block_count = 0;
};

// A (tf, document length) pair of the block-max metadata.
struct TfLength {
  uint32_t tf = 0;
  uint32_t length = 0;
  friend bool operator==(const TfLength&, const TfLength&) = default;
};

struct BlockMeta {
  uint32_t last_doc = 0;
  uint32_t bytes = 0;       // encoded size of the block
  uint32_t max_tf = 0;      // largest tf in the block
  uint32_t min_length = 0;  // smallest document length in the block
  friend bool operator==(const BlockMeta&, const BlockMeta&) = default;
};

struct PostingMeta {
  PostingHeader header;
  std::vector<TfLength> frontier;  // increasing tf and length
  std::vector<BlockMeta> blocks;
};

// Decodes only the header. Corruption when the bytes are short or invalid.
Result<PostingHeader> DecodePostingHeader(std::string_view bytes);

// Decodes the header, frontier and skip table (not the blocks). Corruption
// when they are short or inconsistent.
Result<PostingMeta> DecodePostingMeta(std::string_view bytes);

// Decodes the whole list into *docs and *tfs (replacing their contents).
// Corruption when the bytes are short, inconsistent or not increasing.
Status DecodePostings(std::string_view bytes, std::vector<uint32_t>* docs,
                      std::vector<uint32_t>* tfs);

// Forward-only iteration over an encoded list, one block decoded at a time,
// with block-max metadata read from the skip table without decoding blocks
// ("shallow" moves). Decoding problems do not come back from each move: the
// cursor ends (doc() == kEnd) and status() says why; check it after use.
// The bytes must outlive the cursor's use of them.
class PostingCursor {
 public:
  static constexpr uint32_t kEnd = UINT32_MAX;

  // Points the cursor at `bytes` and positions it on the first posting.
  // Every doc id must be below doc_limit (else Corruption). Corruption when
  // the header, frontier or skip table size are bad.
  Status Reset(std::string_view bytes, uint32_t doc_limit);

  uint32_t doc_freq() const { return header_.doc_freq; }
  uint32_t block_count() const { return header_.block_count; }
  const std::vector<TfLength>& frontier() const { return frontier_; }
  const Status& status() const { return status_; }

  uint32_t doc() const { return doc_; }
  // The frequency of the current posting (decodes the block's frequencies
  // on first use).
  uint32_t tf() {
    if (!tfs_ready_) DecodeTfs();
    return tfs_[pos_];
  }
  void Next() {
    if (++pos_ < block_len_) {
      doc_ = docs_[pos_];
    } else {
      LoadBlock(block_ + 1);
    }
  }
  // Moves to the first posting with doc >= target (stays if already there).
  void NextGeq(uint32_t target);

  // Moves the shallow pointer to the block that holds the first doc >=
  // target (never backwards, never before the current block) without
  // decoding it. False when no block does (then the bound is 0).
  bool ShallowGeq(uint32_t target);
  // Metadata of the block under the shallow pointer (after a true
  // ShallowGeq).
  const BlockMeta& shallow_block() const { return meta_[shallow_]; }
  uint32_t shallow_index() const { return shallow_; }
  // Metadata and index of the block under the cursor (while doc() != kEnd).
  const BlockMeta& block_meta() const { return meta_[block_]; }
  uint32_t block_index() const { return block_; }

 private:
  bool ParseSkip(uint32_t b);  // makes meta_[b] available; false on end/error
  void LoadBlock(uint32_t b);
  void DecodeTfs();
  void Fail(const char* what);

  std::string_view blocks_;     // the block area
  std::string_view skip_rest_;  // the unparsed part of the skip table
  PostingHeader header_;
  uint32_t doc_limit_ = 0;
  std::vector<TfLength> frontier_;
  std::vector<BlockMeta> meta_;         // parsed skip entries
  std::vector<uint32_t> block_offset_;  // start of block b in blocks_
  uint32_t block_ = 0;                  // the decoded block
  uint32_t shallow_ = 0;
  uint32_t pos_ = 0, block_len_ = 0;
  uint32_t doc_ = kEnd;
  bool tfs_ready_ = false;
  const unsigned char* tf_bytes_ = nullptr;
  uint32_t tf_width_ = 0;
  Status status_;
  alignas(64) uint32_t docs_[kBlockSize];
  alignas(64) uint32_t tfs_[kBlockSize];
};

// Bit-packing primitives, exposed for tests and benchmarks.
// Packs values (each < 2^width) into ceil(n * width / 8) bytes.
void PackBits(std::span<const uint32_t> values, uint32_t width,
              std::string* out);
// Unpacks n values of `width` bits from `in` (which holds at least
// ceil(n * width / 8) bytes; nothing past them is read) into out[0..n).
// Uses the fastest kernel this CPU has (UnpackKernelName()).
void UnpackBits(const unsigned char* in, uint32_t n, uint32_t width,
                uint32_t* out);
// The portable kernel, and the AVX-512 (F, BW, VBMI) one; call the latter
// only when HaveAvx512Unpack().
void UnpackBitsScalar(const unsigned char* in, uint32_t n, uint32_t width,
                      uint32_t* out);
void UnpackBitsAvx512(const unsigned char* in, uint32_t n, uint32_t width,
                      uint32_t* out);
bool HaveAvx512Unpack();
// "avx512" or "scalar": what UnpackBits runs on this CPU.
const char* UnpackKernelName();
// The number of bits needed for the largest value (0 for all zeros).
uint32_t BitWidth(std::span<const uint32_t> values);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_POSTING_CODEC_H_
