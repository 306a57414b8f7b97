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
// A merge can also run beside the writer, in two steps (background
// merges, IndexWriter::ApplyMerge): PrepareMerge reads the segments through
// a reader's snapshot and builds the batch, on any thread, while the writer
// goes on adding, replacing and deleting documents; CommitMerge then writes
// it, with the writer held still, after carrying over what changed since
// the snapshot:
//   - a document of the merged segments deleted (or replaced) since the
//     snapshot is deleted again under its new id, and its external id is
//     left pointing where the writer put it (at its replacement, or
//     nowhere);
//   - the writer's buffered deletes of documents that moved follow them
//     (PreparedMerge::NewId).
// New segments flushed since the snapshot are not touched: they lie past
// the merged range.
//
// Thread-safety: the caller must be the store's only writer (IndexWriter
// merges with an empty buffer), and nothing else may write the segments'
// documents or the "ivf" column family meanwhile (dense::TrainIvf). Only
// one merge may be prepared or committed at a time, and only deletes may
// change the merged segments between PrepareMerge and CommitMerge.
#ifndef CASCADE_INDEX_SEGMENT_MERGER_H_
#define CASCADE_INDEX_SEGMENT_MERGER_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/write_batch.h>

#include "cascade/status.h"
#include "index/index_reader.h"
#include "index/merge_policy.h"
#include "index/store.h"

namespace cascade::index {

struct MergeResult {
  uint32_t segments = 0;   // segments merged
  uint64_t documents = 0;  // live documents in the merged segment
  uint64_t reclaimed = 0;  // deleted documents dropped
  uint64_t terms = 0;      // posting lists written
  uint64_t carried_deletes = 0;  // deleted since the snapshot (CommitMerge)
};

// A merge built by PrepareMerge, not yet written.
class PreparedMerge {
 public:
  // The document's id after the merge: for a doc id in the merged range,
  // its new id, or kGone for one deleted in the snapshot (the merge drops
  // it); other ids unchanged.
  static constexpr uint32_t kGone = UINT32_MAX;
  uint32_t NewId(uint32_t doc) const;
  // Nothing to write: a single segment without deleted documents.
  bool empty() const { return empty_; }
  const MergeResult& result() const { return result_; }

 private:
  friend Result<PreparedMerge> PrepareMerge(Store&, const IndexReader&,
                                            std::span<const uint32_t>);
  friend Result<MergeResult> CommitMerge(Store&, PreparedMerge&);
  bool empty_ = true;
  MergeResult result_;
  uint32_t lo_ = 0, hi_ = 0;  // the merged doc id range
  std::vector<uint32_t> to_;  // old id - lo_ -> new id, or UINT32_MAX
  std::vector<uint32_t> snapshot_deleted_;  // deleted in the snapshot, ascending
  // Moved documents' external ids: (id, old doc id), put at commit.
  std::vector<std::pair<std::string, uint32_t>> moved_ids_;
  std::vector<std::pair<uint32_t, uint32_t>> segments_;  // (id, base) of each merged
  std::unique_ptr<rocksdb::WriteBatch> batch_;
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

// The merges `plan` picks for the segments `reader` shows, each as the ids
// of its segments. `plan` maps the segments' sizes, in doc id order, to
// MergeSpecs (FindTieredMerges or FindForcedMerges with their options).
template <typename Plan>
std::vector<std::vector<uint32_t>> PlanMerges(const IndexReader& reader, Plan plan) {
  std::vector<const SegmentInfo*> segments;  // in doc id order
  for (const SegmentInfo& seg : reader.segments()) segments.push_back(&seg);
  std::sort(segments.begin(), segments.end(),
            [](const SegmentInfo* a, const SegmentInfo* b) { return a->base < b->base; });
  std::vector<SegmentSize> sizes(segments.size());
  for (size_t i = 0; i < segments.size(); ++i) {
    sizes[i].deleted = segments[i]->deleted;
    sizes[i].live = segments[i]->count - segments[i]->deleted;
  }
  std::vector<std::vector<uint32_t>> merges;
  for (const MergeSpec& spec : plan(std::span<const SegmentSize>(sizes))) {
    std::vector<uint32_t>& ids = merges.emplace_back();
    for (size_t i = spec.begin; i < spec.end; ++i) ids.push_back(segments[i]->id);
  }
  return merges;
}

// MergeSegments in two steps (above): the same checks and errors, nothing
// written.
Result<PreparedMerge> PrepareMerge(Store& store, const IndexReader& reader,
                                   std::span<const uint32_t> segment_ids);
// Writes a prepared merge, carrying over the deletes made since its
// snapshot. Internal when a merged segment is gone or changed (the
// contract above was broken; the index is then unchanged); IOError as
// MergeSegments. Call at
// most once per PreparedMerge.
Result<MergeResult> CommitMerge(Store& store, PreparedMerge& merge);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_SEGMENT_MERGER_H_
