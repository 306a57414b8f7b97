// Document-at-a-time top-k search of one segment with dynamic pruning
// (WAND, block-max WAND, block-max MaxScore), shared by the plain search of
// contents (searcher.cc) and the plain search of words over several text
// fields (lucene_search.cc). Internal to query/; searcher.h documents what
// the algorithms guarantee.
//
// A document's score is a sum of per-list BM25 scores held in slots, one
// per list, summed in slot order. Slots may be grouped: then each group is
// summed first (from 0, in slot order) and the group sums are added in
// group order, as a Boolean query of Boolean clauses adds its clauses'
// scores; the exhaustive evaluation of the same query gets the same bits.
// Every list is scored with its own scorer and length table (contents' or
// a text field's), so bounds and scores follow the list's field.
//
// Thread-safety: one Segment per thread; TopK is not synchronised.
#ifndef CASCADE_QUERY_DAAT_H_
#define CASCADE_QUERY_DAAT_H_

#include <cstdint>
#include <vector>

#include "index/index_reader.h"
#include "index/posting_codec.h"
#include "query/bm25.h"
#include "query/searcher.h"

namespace cascade::query::daat {

// Best first: higher score, then lower doc id.
struct Better {
  bool operator()(const ScoredDoc& a, const ScoredDoc& b) const {
    if (a.score != b.score) return a.score > b.score;
    return a.doc < b.doc;
  }
};

// The k best hits so far, a heap with the worst on top.
class TopK {
 public:
  explicit TopK(size_t k);
  bool full() const { return heap_.size() >= k_; }
  // True when `hit` entered (then the threshold may have moved).
  bool Push(const ScoredDoc& hit);
  float worst() const { return heap_.front().score; }
  // Best first.
  std::vector<ScoredDoc> Take();

 private:
  size_t k_;
  std::vector<ScoredDoc> heap_;
};

// One scored list (a query term in contents or in one text field) in one
// segment.
struct TermCursor {
  index::PostingCursor* cur = nullptr;
  uint32_t slot = 0;     // where its score goes (summation order)
  float weight = 0;      // idf x query-term weight (boost)
  const Bm25Scorer* scorer = nullptr;
  // The length table of the list's field in the segment; nullptr: contents.
  const index::FieldLengths* lengths = nullptr;
  uint32_t table = 0;    // 0: contents, 1 + f: text field f (length cache)
  double ub = 0;         // bound on the list's score anywhere in it
  uint32_t cached_block = UINT32_MAX;  // shallow block whose bound is cached
  double cached_bound = 0;

  // Sets ub from the list's (tf, length) frontier: call after cur->Reset.
  void InitBound();
  double BlockBound(const index::BlockMeta& m, uint32_t block);
  // Bound of the block that would hold `target`; 0 when none does.
  double ShallowBound(uint32_t target);
};

// Document-at-a-time search of one segment, sharing the top k across
// segments (searched in doc id order). Doc ids handed to TopK are global.
class Segment {
 public:
  // `slots`: how many score slots the cursors use. `group_ends`: the end
  // slot of each group, ascending, the last one == slots; empty: no groups
  // (one flat sum). `tables`: 1 + the number of text fields. The first
  // `count_first` hits are counted before pruning starts (the
  // total_hits_threshold).
  Segment(const index::SegmentInfo& seg, const index::IndexReader& reader, size_t slots,
          std::vector<uint32_t> group_ends, size_t tables, uint64_t count_first, TopK* top,
          uint64_t* hits, bool* skipped);

  // Runs `algorithm` (kWand, kBmw or kMaxScore) over the cursors.
  void Run(std::vector<TermCursor>& terms, Algorithm algorithm);
  void Wand(std::vector<TermCursor>& terms, bool block_max);
  void MaxScore(std::vector<TermCursor>& terms);

 private:
  // The pruning threshold: a document whose bound is <= it cannot enter
  // (its id is above every id in the heap, so a tie loses). 0 until the
  // heap is full and enough hits were counted.
  double Threshold() const {
    if (!top_->full() || *hits_ < count_first_) return 0;
    return top_->worst();
  }
  bool Live(uint32_t local) { return !deleted_.IsDeleted(local); }
  // The list's score at its current document `local` (cursor on it).
  float Score(const TermCursor& tc, uint32_t local);
  // Sums the slots (grouped as asked; absent lists add +0, which changes
  // nothing), clears them, offers the hit.
  void Collect(uint32_t local);

  const index::SegmentInfo& seg_;
  index::DeletedCursor deleted_;  // asked in doc order: WAND pivots, MaxScore candidates
  std::vector<float> contrib_;    // per slot, for the current doc
  std::vector<uint32_t> group_ends_;
  // Per length table: the document whose length factor is cached.
  std::vector<uint32_t> lf_doc_;
  std::vector<float> lf_;
  double slack_;
  uint64_t count_first_;
  TopK* top_;
  uint64_t* hits_;
  bool* skipped_;
};

}  // namespace cascade::query::daat

#endif  // CASCADE_QUERY_DAAT_H_
