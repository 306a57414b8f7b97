// Which segments to merge: a tiered merge policy after Lucene's
// TieredMergePolicy, simplified, and the plan of a forced merge.
//
// Both are pure functions of the segments' sizes, so tests can check their
// choices on hand-made sizes. Sizes are counted in documents: a segment's
// size is its live (not deleted) documents.
//
// Unlike Lucene, a merge takes only segments that are adjacent in doc id
// order. The merged segment then keeps its documents' relative order
// (segment_merger.h), so ties, which are broken by doc id (insertion
// order), break the same way before and after a merge, and search results
// stay identical. Appended segments are adjacent to each other, so the
// small recent flushes still merge together as in Lucene.
//
// Thread-safety: the functions are pure.
#ifndef CASCADE_INDEX_MERGE_POLICY_H_
#define CASCADE_INDEX_MERGE_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cascade/status.h"

namespace cascade::index {

struct TieredMergeOptions {
  // Segments allowed per tier (of sizes floor, floor x f, floor x f^2, ...
  // with f = min(max_merge_at_once, segments_per_tier)) before a merge is
  // due. >= 2. Default 10, as Lucene.
  size_t segments_per_tier = 10;
  // Most segments one merge takes. >= 2. Default 10.
  size_t max_merge_at_once = 10;
  // Live documents a merged segment may reach; segments over half of it are
  // left alone (unless deletes_pct_allowed says otherwise). >= 1.
  // Default 5,000,000.
  uint64_t max_merged_segment_docs = 5'000'000;
  // Smaller segments count as this size when tiers are laid out, so that
  // many tiny flushes do not make many tiny tiers. Default 1,000.
  uint64_t floor_segment_docs = 1'000;
  // A segment with more than this percentage of its documents deleted is
  // rewritten alone, even when it is too large to merge. In [0, 100];
  // default 33 (Lucene's deletesPctAllowed).
  double deletes_pct_allowed = 33.0;
};

// InvalidArgument naming each option out of range.
Status ValidateTieredMergeOptions(const TieredMergeOptions& options);

// One segment as the policies see it. Segments are given in doc id order.
struct SegmentSize {
  uint64_t live = 0;     // documents not deleted
  uint64_t deleted = 0;  // deleted documents still stored in it
};

// A merge of the segments [begin, end) of the span given to a policy: one
// or more adjacent segments. A merge of one segment rewrites it without its
// deleted documents; a merge whose segments hold no live document removes
// them.
struct MergeSpec {
  size_t begin = 0;
  size_t end = 0;
  friend bool operator==(const MergeSpec&, const MergeSpec&) = default;
};

// The merges the tiered policy wants now, disjoint and in order (empty when
// none). Segments with no live document are always dropped. When more
// segments are eligible (at most half of max_merged_segment_docs) than the
// tiers allow, it picks, among runs of 2 to max_merge_at_once adjacent
// eligible segments whose sum fits max_merged_segment_docs, the run with
// the lowest Lucene score: skew (largest / total, sizes floored) x
// total^0.05 x (live fraction)^2, so even-sized runs, small runs and runs
// with deletes go first; and repeats while too many are left. Call it
// again after the merges run: merged segments may form a new tier.
std::vector<MergeSpec> FindTieredMerges(std::span<const SegmentSize> segments,
                                        const TieredMergeOptions& options);

// The merges that leave at most max_segments (>= 1) segments and no
// deleted document: the segments are cut into at most max_segments runs of
// adjacent segments whose largest sum of live documents is as small as it
// can be; every run of two or more, and every segment with deletes, is
// merged. Empty when nothing needs doing.
std::vector<MergeSpec> FindForcedMerges(std::span<const SegmentSize> segments,
                                        size_t max_segments);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_MERGE_POLICY_H_
