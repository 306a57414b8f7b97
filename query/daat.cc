#include "query/daat.h"

#include <algorithm>

namespace cascade::query::daat {

namespace {

constexpr uint32_t kEnd = index::PostingCursor::kEnd;

// A per-list score bound from a dominating (tf, length) pair, computed
// with the scoring function itself. Rounding can put the float score of a
// dominated posting a few ulps above the pair's (tf and the length factor
// round separately in f / (f + lf)), so the bound gets 2^-20 of relative
// slack, far above those few ulps.
double PairBound(float weight, uint32_t tf, uint32_t length, const Bm25Scorer& scorer) {
  const float s = Bm25Scorer::Score(weight, tf, scorer.LengthFactor(length));
  return static_cast<double>(s) * (1.0 + 0x1p-20);
}

}  // namespace

TopK::TopK(size_t k) : k_(k) { heap_.reserve(std::min<size_t>(k, 4096)); }

bool TopK::Push(const ScoredDoc& hit) {
  if (heap_.size() < k_) {
    heap_.push_back(hit);
    std::push_heap(heap_.begin(), heap_.end(), Better());
    return true;
  }
  if (!Better()(hit, heap_.front())) return false;
  std::pop_heap(heap_.begin(), heap_.end(), Better());
  heap_.back() = hit;
  std::push_heap(heap_.begin(), heap_.end(), Better());
  return true;
}

std::vector<ScoredDoc> TopK::Take() {
  std::sort_heap(heap_.begin(), heap_.end(), Better());
  return std::move(heap_);
}

void TermCursor::InitBound() {
  ub = 0;
  for (const index::TfLength& p : cur->frontier()) {
    ub = std::max(ub, PairBound(weight, p.tf, p.length, *scorer));
  }
}

double TermCursor::BlockBound(const index::BlockMeta& m, uint32_t block) {
  if (block != cached_block) {
    cached_block = block;
    cached_bound = std::min(ub, PairBound(weight, m.max_tf, m.min_length, *scorer));
  }
  return cached_bound;
}

double TermCursor::ShallowBound(uint32_t target) {
  if (!cur->ShallowGeq(target)) return 0;
  return BlockBound(cur->shallow_block(), cur->shallow_index());
}

Segment::Segment(const index::SegmentInfo& seg, const index::IndexReader& reader,
                 size_t slots, std::vector<uint32_t> group_ends, size_t tables,
                 uint64_t count_first, TopK* top, uint64_t* hits, bool* skipped)
    : seg_(seg),
      deleted_(reader, seg),
      contrib_(slots, 0.0f),
      group_ends_(std::move(group_ends)),
      lf_doc_(tables, kEnd),
      lf_(tables, 0.0f),
      // A float sum of n positive terms, in any order and grouping,
      // exceeds the exact sum by at most (n - 1) units of 2^-24; bounds are
      // compared after this factor.
      slack_(1.0 + static_cast<double>(slots + 1) * 0x1p-23),
      count_first_(count_first),
      top_(top),
      hits_(hits),
      skipped_(skipped) {}

void Segment::Run(std::vector<TermCursor>& terms, Algorithm algorithm) {
  if (algorithm == Algorithm::kMaxScore) {
    MaxScore(terms);
  } else {
    Wand(terms, algorithm == Algorithm::kBmw);
  }
}

float Segment::Score(const TermCursor& tc, uint32_t local) {
  if (lf_doc_[tc.table] != local) {
    lf_doc_[tc.table] = local;
    lf_[tc.table] = tc.lengths == nullptr ? tc.scorer->LengthFactor(seg_, local)
                                          : tc.scorer->LengthFactor(*tc.lengths, local);
  }
  return Bm25Scorer::Score(tc.weight, tc.cur->tf(), lf_[tc.table]);
}

void Segment::Collect(uint32_t local) {
  float score = 0.0f;
  if (group_ends_.empty()) {
    for (float& c : contrib_) {
      score += c;
      c = 0.0f;
    }
  } else {
    size_t i = 0;
    for (uint32_t end : group_ends_) {
      float group = 0.0f;
      for (; i < end; ++i) {
        group += contrib_[i];
        contrib_[i] = 0.0f;
      }
      score += group;
    }
  }
  if (score <= 0.0f) return;
  ++*hits_;
  top_->Push({seg_.base + local, score});
}

// WAND (Broder et al.) and block-max WAND (Ding & Suel): cursors sorted by
// doc; the pivot is the first cursor at which the summed term bounds exceed
// the threshold; with block_max the pivot's block bounds must too, else
// everything up to the end of the shortest of those blocks is skipped.
void Segment::Wand(std::vector<TermCursor>& terms, bool block_max) {
  std::vector<TermCursor*> order(terms.size());
  for (size_t i = 0; i < terms.size(); ++i) order[i] = &terms[i];
  const auto by_doc = [](const TermCursor* a, const TermCursor* b) {
    return a->cur->doc() < b->cur->doc();
  };
  std::sort(order.begin(), order.end(), by_doc);
  const size_t m = order.size();
  while (true) {
    const double theta = Threshold();
    double acc = 0;
    size_t p = m;
    for (size_t i = 0; i < m; ++i) {
      if (order[i]->cur->doc() == kEnd) break;
      acc += order[i]->ub;
      if (acc * slack_ > theta) {
        p = i;
        break;
      }
    }
    if (p == m) {
      if (theta > 0) *skipped_ = true;
      return;
    }
    const uint32_t pivot = order[p]->cur->doc();
    while (p + 1 < m && order[p + 1]->cur->doc() == pivot) ++p;
    if (block_max && theta > 0) {
      double bound = 0;
      for (size_t i = 0; i <= p; ++i) bound += order[i]->ShallowBound(pivot);
      if (bound * slack_ <= theta) {
        *skipped_ = true;
        // Nothing below the end of the shortest block can enter either.
        uint64_t next = p + 1 < m ? order[p + 1]->cur->doc() : uint64_t{kEnd};
        size_t best = 0;
        for (size_t i = 0; i <= p; ++i) {
          index::PostingCursor* c = order[i]->cur;
          if (c->ShallowGeq(pivot)) {
            next = std::min<uint64_t>(next, uint64_t{c->shallow_block().last_doc} + 1);
          }
          if (order[i]->ub > order[best]->ub) best = i;
        }
        order[best]->cur->NextGeq(next >= kEnd ? kEnd : static_cast<uint32_t>(next));
        // Restore doc order by moving the advanced cursor right.
        for (size_t i = best; i + 1 < m && by_doc(order[i + 1], order[i]); ++i) {
          std::swap(order[i], order[i + 1]);
        }
        continue;
      }
    }
    if (order[0]->cur->doc() == pivot) {
      if (Live(pivot)) {
        for (size_t i = 0; i <= p; ++i) {
          TermCursor* tc = order[i];
          contrib_[tc->slot] = Score(*tc, pivot);
        }
        Collect(pivot);
      }
      for (size_t i = 0; i <= p; ++i) order[i]->cur->Next();
      std::sort(order.begin(), order.end(), by_doc);
    } else {
      // Move the cursor with the largest bound among those before the
      // pivot up to it: the documents it passes cannot enter.
      *skipped_ = true;
      size_t best = 0;
      for (size_t i = 1; i < p && order[i]->cur->doc() < pivot; ++i) {
        if (order[i]->ub > order[best]->ub) best = i;
      }
      order[best]->cur->NextGeq(pivot);
      for (size_t i = best; i + 1 < m && by_doc(order[i + 1], order[i]); ++i) {
        std::swap(order[i], order[i + 1]);
      }
    }
  }
}

// MaxScore (Turtle & Flood) with block-max bounds: terms sorted by bound;
// the lowest ones whose bounds sum to at most the threshold are
// non-essential: only documents of the essential lists are candidates, and
// a candidate stops being scored as soon as its partial score plus the
// remaining bounds (term or block) cannot beat the threshold.
void Segment::MaxScore(std::vector<TermCursor>& terms) {
  std::sort(terms.begin(), terms.end(),
            [](const TermCursor& a, const TermCursor& b) { return a.ub < b.ub; });
  const size_t m = terms.size();
  std::vector<double> cum(m);  // cum[i]: bounds of terms 0..i
  double run = 0;
  for (size_t i = 0; i < m; ++i) cum[i] = run += terms[i].ub;
  size_t ess = 0;  // terms [0, ess) are non-essential
  double theta = -1;
  const auto update = [&] {
    const double now = Threshold();
    if (now == theta) return;
    theta = now;
    while (ess < m && cum[ess] * slack_ <= theta) ++ess;
  };
  update();
  while (ess < m) {
    uint32_t d = kEnd;
    for (size_t i = ess; i < m; ++i) d = std::min(d, terms[i].cur->doc());
    if (d == kEnd) break;
    if (!Live(d)) {
      for (size_t i = ess; i < m; ++i) {
        if (terms[i].cur->doc() == d) terms[i].cur->Next();
      }
      continue;
    }
    const double rest = ess > 0 ? cum[ess - 1] : 0;
    bool pruned = false;
    if (theta > 0) {
      // Block bounds of the essential lists at d, plus the others' bounds.
      double bound = rest;
      for (size_t i = ess; i < m; ++i) {
        TermCursor& tc = terms[i];
        if (tc.cur->doc() == d) {
          bound += tc.BlockBound(tc.cur->block_meta(), tc.cur->block_index());
        }
      }
      pruned = bound * slack_ <= theta;
    }
    double partial = 0;
    if (!pruned) {
      for (size_t i = ess; i < m; ++i) {
        TermCursor& tc = terms[i];
        if (tc.cur->doc() != d) continue;
        const float s = Score(tc, d);
        contrib_[tc.slot] = s;
        partial += s;
      }
      for (size_t i = ess; i-- > 0;) {
        TermCursor& tc = terms[i];
        if ((partial + cum[i]) * slack_ <= theta) {
          pruned = true;
          break;
        }
        const double block = tc.ShallowBound(d);
        if (block == 0) continue;  // no block holds d
        if ((partial + block + (i > 0 ? cum[i - 1] : 0)) * slack_ <= theta) {
          pruned = true;
          break;
        }
        tc.cur->NextGeq(d);
        if (tc.cur->doc() != d) continue;
        const float s = Score(tc, d);
        contrib_[tc.slot] = s;
        partial += s;
      }
    }
    if (pruned) {
      // A live match all the same: it counts, it just cannot enter.
      *skipped_ = true;
      ++*hits_;
      std::fill(contrib_.begin(), contrib_.end(), 0.0f);
    } else {
      const uint64_t before = *hits_;
      Collect(d);
      if (*hits_ != before) update();
    }
    for (size_t i = ess; i < m; ++i) {
      if (terms[i].cur->doc() == d) terms[i].cur->Next();
    }
  }
  if (theta > 0) {
    // Documents only in non-essential lists were never visited.
    for (size_t i = 0; i < ess; ++i) {
      if (terms[i].cur->doc() != kEnd) *skipped_ = true;
    }
  }
}


}  // namespace cascade::query::daat
