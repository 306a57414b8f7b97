// Term positions as stored in the "positions" column family (keys.h): for
// each term of a segment, the positions of every occurrence in every
// document of its posting list, in posting order. A phrase query reads
// them only for the documents that contain all of its terms; queries
// without phrases never touch this column family.
//
// Encoding (with postings format version 2; never change without a new
// column family or format version):
//   varint32 block_count        ceil(postings / kBlockSize), as the
//                               postings' blocks
//   block_count x varint32      encoded size of the block in bytes
//   blocks:                     per posting of the block, its tf positions
//                               as varints: the first position, then each
//                               gap minus one (positions strictly increase)
// How many positions a posting has is its tf, which the reader takes from
// the postings (posting_codec.h): nothing is stored twice.
//
// Thread-safety: EncodePositions is pure; a PositionsReader belongs to one
// thread.
#ifndef CASCADE_INDEX_POSITIONS_CODEC_H_
#define CASCADE_INDEX_POSITIONS_CODEC_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::index {

// Appends the encoding to *out: `positions` holds every posting's
// positions one after another (posting i has tfs[i] of them, strictly
// increasing). Requires positions.size() == sum(tfs) (asserted: the writer
// owns the invariant).
void EncodePositions(std::span<const uint32_t> tfs,
                     std::span<const uint32_t> positions, std::string* out);

class PositionsReader {
 public:
  // `data` (the stored value) must outlive the reader's use; `tfs` are the
  // term's frequencies, one per posting, from its postings. Corruption when
  // the block table disagrees with the posting count.
  Status Reset(std::string_view data, std::span<const uint32_t> tfs);
  // Replaces *out with the positions of posting `i` (< tfs.size()). Calls
  // must not go back to an earlier posting (forward-only, like the
  // postings' cursors); skipped postings cost a varint scan within their
  // block, and whole blocks are skipped by size. Corruption on a malformed
  // value.
  Status Read(uint32_t i, std::vector<uint32_t>* out);

 private:
  Status EnterBlock(uint32_t block);

  std::span<const uint32_t> tfs_;
  std::vector<uint32_t> block_sizes_;
  std::string_view blocks_;     // all blocks, from the first
  uint32_t block_ = UINT32_MAX;  // the block `rest_` is in
  uint64_t block_offset_ = 0;   // byte offset of block_ in blocks_
  uint32_t next_ = 0;           // the posting `rest_` starts at
  std::string_view rest_;       // undecoded bytes of the current block
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_POSITIONS_CODEC_H_
