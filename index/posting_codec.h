// Posting lists as stored in the "postings" column family (keys.h).
//
// A posting list holds the segment-local doc ids (strictly increasing) of the
// documents that contain a term, and the term's frequency in each. It is cut
// into blocks of kBlockSize postings; the last block may be shorter.
//
// Encoding (format version 1; never change without bumping kFormatVersion):
//   varint32 doc_freq            number of postings
//   varint64 total_term_freq     sum of the frequencies
//   varint32 block_count         ceil(doc_freq / kBlockSize)
//   block_count x skip entry:    varint32 last doc id of the block,
//                                varint32 encoded size of the block in bytes
//   block_count x block:         doc gaps then (tf - 1), each bit-packed:
//                                1 byte bit width w (0..32), then
//                                ceil(n * w / 8) bytes, values packed from
//                                the least significant bit up.
// A doc gap is doc[i] - doc[i-1] - 1 (doc[-1] = the previous block's last
// doc, or -1 for the first block), so a dense run packs at width 0.
//
// The skip entries let a cursor jump over whole blocks without decoding them
// (dynamic pruning builds on them).
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
// increasing, tfs >= 1 and docs.size() == tfs.size() (asserted: callers own
// these invariants).
void EncodePostings(std::span<const uint32_t> docs,
                    std::span<const uint32_t> tfs, std::string* out);

struct PostingHeader {
  uint32_t doc_freq = 0;
  uint64_t total_term_freq = 0;
  uint32_t block_count = 0;
};

// Decodes only the header. Corruption when the bytes are short or invalid.
Result<PostingHeader> DecodePostingHeader(std::string_view bytes);

// Decodes the whole list into *docs and *tfs (replacing their contents).
// Corruption when the bytes are short, inconsistent or not increasing.
Status DecodePostings(std::string_view bytes, std::vector<uint32_t>* docs,
                      std::vector<uint32_t>* tfs);

// Bit-packing primitives, exposed for tests and benchmarks.
// Packs values (each < 2^width) into ceil(n * width / 8) bytes.
void PackBits(std::span<const uint32_t> values, uint32_t width,
              std::string* out);
// Unpacks n values of `width` bits from `in` (which holds at least
// ceil(n * width / 8) bytes) into out[0..n).
void UnpackBits(const unsigned char* in, uint32_t n, uint32_t width,
                uint32_t* out);
// The number of bits needed for the largest value (0 for all zeros).
uint32_t BitWidth(std::span<const uint32_t> values);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_POSTING_CODEC_H_
