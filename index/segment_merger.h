// Merging segments: several adjacent segments of an index become one, in
// one atomic, synced RocksDB WriteBatch, without their deleted documents.
//
// What a merge of the segments S1..Sm (adjacent in doc id order, S1 first)
// writes, all in that one batch (keys.h):
//   - the merged segment takes S1's id and base; its live documents keep
//     their order and get the ids base, base + 1, ... (compacted: a live
//     document keeps its id up to the first deleted one, later ones move
//     down). Ids the compaction frees are never handed out again (they are
//     below kMetaNextDocId), so segments may have gaps between them;
//   - "segments": S1's record rewritten, S2..Sm's removed (all of them when
//     no document is live);
//   - "postings": every term's lists of S1..Sm concatenated, remapped and
//     re-encoded (format version 2, block-max metadata from the new
//     lengths) under S1's id; the old keys removed;
//   - "positions": likewise, each kept posting's positions in the new
//     posting order (positions_codec.h), when the index stores positions;
//   - "keywords": each (field, value)'s doc lists of S1..Sm concatenated,
//     remapped and re-encoded under S1's id; "numerics": every entry of a
//     live document put again under S1's id with its new local id; the
//     old keys of both removed;
//   - "docs", "tilde", "vectors", "ivf": records of moved documents moved to
//     their new id (a "docs" record with its keyword and numeric values),
//     records of deleted documents removed;
//   - "ids": each moved document's external id points at its new id;
//   - "deletes": the merged range's entries removed.
// The batch is a single WAL record written with sync = true: after a crash
// RocksDB recovers either the old segments (still authoritative) or the
// merged one, never a mix. Readers opened before the merge keep their
// snapshot and see the old segments.
//
// BM25 statistics after a merge: document counts and length sums are
// unchanged (they leave deleted documents out already); document
// frequencies lose the merged segments' deleted documents, exactly as if
// they had never been indexed.
//
// Thread-safety: the caller must be the store's only writer (IndexWriter
// merges with an empty buffer), and nothing else may write the segments'
// documents or the "ivf" column family meanwhile (dense::TrainIvf).
#ifndef CASCADE_INDEX_SEGMENT_MERGER_H_
#define CASCADE_INDEX_SEGMENT_MERGER_H_

#include <cstdint>
#include <span>

#include "cascade/status.h"
#include "index/index_reader.h"
#include "index/store.h"

namespace cascade::index {

struct MergeResult {
  uint32_t segments = 0;   // segments merged
  uint64_t documents = 0;  // live documents in the merged segment
  uint64_t reclaimed = 0;  // deleted documents dropped
  uint64_t terms = 0;      // posting lists written
};

// Merges the segments with these ids, as `reader` sees them, into one.
// `reader` must show the segments as they are in the store now (no write
// to them since it opened). InvalidArgument when an id is unknown, repeated,
// or the segments are not adjacent in doc id order; Corruption for a bad
// posting list, or a term with positions in only some of the segments;
// IOError when RocksDB fails (the index is then unchanged).
// A single segment without deleted documents is left as it is.
Result<MergeResult> MergeSegments(Store& store, const IndexReader& reader,
                                  std::span<const uint32_t> segment_ids);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_SEGMENT_MERGER_H_
