#include "query/searcher.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "query/lucene_search.h"

namespace cascade::query {

namespace {

// Orders hits best first: higher score, then lower doc id.
struct Better {
  bool operator()(const ScoredDoc& a, const ScoredDoc& b) const {
    if (a.score != b.score) return a.score > b.score;
    return a.doc < b.doc;
  }
};

constexpr uint32_t kEnd = index::PostingCursor::kEnd;

// The k best hits so far, a heap with the worst on top.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(std::min<size_t>(k, 4096)); }
  bool full() const { return heap_.size() >= k_; }
  // True when `hit` entered (then the threshold may have moved).
  bool Push(const ScoredDoc& hit) {
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
  float worst() const { return heap_.front().score; }
  std::vector<ScoredDoc> Take() {
    std::sort_heap(heap_.begin(), heap_.end(), Better());
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<ScoredDoc> heap_;
};

// A per-term score bound from a dominating (tf, length) pair, computed with
// the scoring function itself. Rounding can put the float score of a
// dominated posting a few ulps above the pair's (tf and the length factor
// round separately in f / (f + lf)), so the bound gets 2^-20 of relative
// slack, far above those few ulps.
double PairBound(float weight, uint32_t tf, uint32_t length,
                 const Bm25Scorer& scorer) {
  const float s = Bm25Scorer::Score(weight, tf, scorer.LengthFactor(length));
  return static_cast<double>(s) * (1.0 + 0x1p-20);
}

// One query term's cursor in one segment.
struct TermCursor {
  index::PostingCursor* cur = nullptr;
  uint32_t t = 0;        // index of the term in the query (summation order)
  float weight = 0;
  double ub = 0;         // bound on the term's score anywhere in the list
  uint32_t cached_block = UINT32_MAX;  // shallow block whose bound is cached
  double cached_bound = 0;

  double BlockBound(const index::BlockMeta& m, uint32_t block,
                    const Bm25Scorer& scorer) {
    if (block != cached_block) {
      cached_block = block;
      cached_bound = std::min(ub, PairBound(weight, m.max_tf, m.min_length, scorer));
    }
    return cached_bound;
  }
  // Bound of the block that would hold `target`; 0 when none does.
  double ShallowBound(uint32_t target, const Bm25Scorer& scorer) {
    if (!cur->ShallowGeq(target)) return 0;
    return BlockBound(cur->shallow_block(), cur->shallow_index(), scorer);
  }
};

// Document-at-a-time search of one segment, sharing the top k across
// segments. Doc ids handed to TopK are global.
class DaatSegment {
 public:
  DaatSegment(const index::SegmentInfo& seg, const index::IndexReader& reader,
              const Bm25Scorer& scorer, size_t nterms, uint64_t count_first,
              TopK* top, uint64_t* hits, bool* skipped)
      : seg_(seg),
        deleted_(reader, seg),
        scorer_(scorer),
        contrib_(nterms, 0.0f),
        // A float sum of n terms, in any order, exceeds the exact sum by at
        // most (n - 1) units of 2^-24; bounds are compared after this factor.
        slack_(1.0 + static_cast<double>(nterms + 1) * 0x1p-23),
        count_first_(count_first),
        top_(top),
        hits_(hits),
        skipped_(skipped) {}

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
  float LengthFactor(uint32_t local) const { return scorer_.LengthFactor(seg_, local); }
  // Sums contrib_ in query-term order (as the exhaustive accumulators do;
  // absent terms add +0, which changes nothing), clears it, offers the hit.
  void Collect(uint32_t local) {
    float score = 0.0f;
    for (float& c : contrib_) {
      score += c;
      c = 0.0f;
    }
    if (score <= 0.0f) return;
    ++*hits_;
    top_->Push({seg_.base + local, score});
  }

  const index::SegmentInfo& seg_;
  index::DeletedCursor deleted_;  // asked in doc order: WAND pivots, MaxScore candidates
  const Bm25Scorer& scorer_;
  std::vector<float> contrib_;  // per query term, for the current doc
  double slack_;
  uint64_t count_first_;
  TopK* top_;
  uint64_t* hits_;
  bool* skipped_;
};

// WAND (Broder et al.) and block-max WAND (Ding & Suel): cursors sorted by
// doc; the pivot is the first cursor at which the summed term bounds exceed
// the threshold; with block_max the pivot's block bounds must too, else
// everything up to the end of the shortest of those blocks is skipped.
void DaatSegment::Wand(std::vector<TermCursor>& terms, bool block_max) {
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
      for (size_t i = 0; i <= p; ++i) bound += order[i]->ShallowBound(pivot, scorer_);
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
        const float lf = LengthFactor(pivot);
        for (size_t i = 0; i <= p; ++i) {
          TermCursor* tc = order[i];
          contrib_[tc->t] = Bm25Scorer::Score(tc->weight, tc->cur->tf(), lf);
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
void DaatSegment::MaxScore(std::vector<TermCursor>& terms) {
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
          bound += tc.BlockBound(tc.cur->block_meta(), tc.cur->block_index(), scorer_);
        }
      }
      pruned = bound * slack_ <= theta;
    }
    double partial = 0;
    if (!pruned) {
      const float lf = LengthFactor(d);
      for (size_t i = ess; i < m; ++i) {
        TermCursor& tc = terms[i];
        if (tc.cur->doc() != d) continue;
        const float s = Bm25Scorer::Score(tc.weight, tc.cur->tf(), lf);
        contrib_[tc.t] = s;
        partial += s;
      }
      for (size_t i = ess; i-- > 0;) {
        TermCursor& tc = terms[i];
        if ((partial + cum[i]) * slack_ <= theta) {
          pruned = true;
          break;
        }
        const double block = tc.ShallowBound(d, scorer_);
        if (block == 0) continue;  // no block holds d
        if ((partial + block + (i > 0 ? cum[i - 1] : 0)) * slack_ <= theta) {
          pruned = true;
          break;
        }
        tc.cur->NextGeq(d);
        if (tc.cur->doc() != d) continue;
        const float s = Bm25Scorer::Score(tc.weight, tc.cur->tf(), lf);
        contrib_[tc.t] = s;
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

}  // namespace

std::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kAuto: return "auto";
    case Algorithm::kExhaustive: return "exhaustive";
    case Algorithm::kWand: return "wand";
    case Algorithm::kBmw: return "bmw";
    case Algorithm::kMaxScore: return "maxscore";
  }
  return "?";
}

Result<Algorithm> ParseAlgorithm(std::string_view name) {
  for (Algorithm a : {Algorithm::kAuto, Algorithm::kExhaustive, Algorithm::kWand,
                      Algorithm::kBmw, Algorithm::kMaxScore}) {
    if (name == AlgorithmName(a)) return a;
  }
  return Status::InvalidArgument(
      "unknown algorithm \"" + std::string(name) +
      "\" (expected auto, exhaustive, wand, bmw or maxscore)");
}

std::string_view QuerySyntaxName(QuerySyntax syntax) {
  switch (syntax) {
    case QuerySyntax::kPlain: return "plain";
    case QuerySyntax::kLucene: return "lucene";
  }
  return "?";
}

Result<QuerySyntax> ParseQuerySyntax(std::string_view name) {
  for (QuerySyntax s : {QuerySyntax::kPlain, QuerySyntax::kLucene}) {
    if (name == QuerySyntaxName(s)) return s;
  }
  return Status::InvalidArgument("unknown query syntax \"" + std::string(name) +
                                 "\" (expected plain or lucene)");
}

Result<Bm25Params> CheckSearchParams(const SearchParams& params,
                                     const index::IndexOptions& options) {
  if (params.k == 0 || params.k > kMaxK) {
    return Status::InvalidArgument("k must be between 1 and " +
                                   std::to_string(kMaxK));
  }
  Bm25Params bm25{params.k1.value_or(options.k1), params.b.value_or(options.b)};
  if (!(bm25.k1 >= 0) || !std::isfinite(bm25.k1)) {
    return Status::InvalidArgument("k1 must be a finite number >= 0");
  }
  if (!(bm25.b >= 0 && bm25.b <= 1)) {
    return Status::InvalidArgument("b must be between 0 and 1");
  }
  return bm25;
}

Algorithm ChooseAlgorithm(size_t k, size_t terms, uint64_t postings,
                          uint64_t longest) {
  (void)terms;
  (void)longest;
  // Short lists: decoding everything is cheaper than managing cursors; a k
  // near the number of postings leaves nothing to prune.
  if (postings < 4096 || k * 8 >= postings) return Algorithm::kExhaustive;
  return Algorithm::kMaxScore;
}

Searcher::Searcher(std::shared_ptr<const index::IndexReader> reader,
                   std::unique_ptr<index::Analyzer> analyzer)
    : reader_(std::move(reader)), analyzer_(std::move(analyzer)) {}

Result<std::unique_ptr<Searcher>> Searcher::Create(
    std::shared_ptr<const index::IndexReader> reader) {
  CASCADE_ASSIGN_OR_RETURN(auto analyzer,
                           index::Analyzer::Create(reader->options().analyzer));
  return std::unique_ptr<Searcher>(
      new Searcher(std::move(reader), std::move(analyzer)));
}

Result<TopDocs> Searcher::Search(std::string_view query,
                                 const SearchParams& params) {
  if (query.size() > kMaxQueryBytes) {
    return Status::InvalidArgument(
        "query has " + std::to_string(query.size()) + " bytes, over the limit of " +
        std::to_string(kMaxQueryBytes));
  }
  if (params.syntax == QuerySyntax::kLucene) {
    ParserOptions options;
    options.max_bytes = kMaxQueryBytes;
    options.max_clauses = kMaxQueryTerms;
    CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<QueryNode> tree,
                             ParseLuceneQuery(query, options));
    return SearchQuery(*tree, params);
  }
  scratch_terms_.clear();
  analyzer_->Analyze(query, &scratch_terms_);
  std::vector<std::pair<std::string, uint32_t>> terms;
  for (std::string& term : scratch_terms_) {
    auto it = std::find_if(terms.begin(), terms.end(),
                           [&](const auto& t) { return t.first == term; });
    if (it == terms.end()) {
      terms.emplace_back(std::move(term), 1);
    } else {
      ++it->second;
    }
  }
  return SearchTerms(std::move(terms), params);
}

Result<std::vector<uint32_t>> Searcher::Match(std::string_view query,
                                               QuerySyntax syntax) {
  if (query.size() > kMaxQueryBytes) {
    return Status::InvalidArgument(
        "query has " + std::to_string(query.size()) + " bytes, over the limit of " +
        std::to_string(kMaxQueryBytes));
  }
  if (syntax == QuerySyntax::kLucene) {
    ParserOptions options;
    options.max_bytes = kMaxQueryBytes;
    options.max_clauses = kMaxQueryTerms;
    CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<QueryNode> tree,
                             ParseLuceneQuery(query, options));
    if (!normalizer_) {
      CASCADE_ASSIGN_OR_RETURN(normalizer_,
                               index::Analyzer::Create(LuceneNormalizerOptions(
                                   reader_->options().analyzer)));
    }
    return MatchLucene(*tree, *reader_, analyzer_.get(), normalizer_.get());
  }
  scratch_terms_.clear();
  analyzer_->Analyze(query, &scratch_terms_);
  std::sort(scratch_terms_.begin(), scratch_terms_.end());
  scratch_terms_.erase(std::unique(scratch_terms_.begin(), scratch_terms_.end()),
                       scratch_terms_.end());
  if (scratch_terms_.size() > kMaxQueryTerms) {
    return Status::InvalidArgument(
        "query has " + std::to_string(scratch_terms_.size()) +
        " distinct terms, over the limit of " + std::to_string(kMaxQueryTerms));
  }
  if (!reader_->options().fields.text_fields.empty()) {
    return MatchWords(scratch_terms_, *reader_);
  }
  // The union of the terms' lists, segment by segment.
  std::vector<uint32_t> out;
  std::string bytes;
  for (const index::SegmentInfo& seg : reader_->segments()) {
    const size_t first = out.size();
    for (const std::string& term : scratch_terms_) {
      CASCADE_ASSIGN_OR_RETURN(bool found, reader_->ReadPostings(seg.id, term, &bytes));
      if (!found) continue;
      CASCADE_RETURN_IF_ERROR(index::DecodePostings(bytes, &docs_, &tfs_));
      for (uint32_t local : docs_) {
        if (local >= seg.count) {
          return Status::Corruption("posting beyond segment end in segment",
                                    std::to_string(seg.id));
        }
        if (!reader_->IsDeleted(seg, local)) out.push_back(seg.base + local);
      }
    }
    std::sort(out.begin() + first, out.end());
    out.erase(std::unique(out.begin() + first, out.end()), out.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<TopDocs> Searcher::SearchQuery(const QueryNode& query,
                                      const SearchParams& params) {
  if (!normalizer_) {
    CASCADE_ASSIGN_OR_RETURN(normalizer_,
                             index::Analyzer::Create(LuceneNormalizerOptions(
                                 reader_->options().analyzer)));
  }
  return SearchLucene(query, *reader_, analyzer_.get(), normalizer_.get(), params);
}

Result<TopDocs> Searcher::SearchTerms(
    std::vector<std::pair<std::string, uint32_t>> terms,
    const SearchParams& params) {
  CASCADE_ASSIGN_OR_RETURN(const Bm25Params bm25,
                           CheckSearchParams(params, reader_->options()));
  if (terms.size() > kMaxQueryTerms) {
    return Status::InvalidArgument(
        "query has " + std::to_string(terms.size()) +
        " distinct terms, over the limit of " + std::to_string(kMaxQueryTerms));
  }
  // Several text fields: each word over all of them (lucene_search.h),
  // evaluated exhaustively.
  if (!reader_->options().fields.text_fields.empty()) {
    return SearchWords(terms, *reader_, params);
  }

  TopDocs result;
  result.terms = std::move(terms);
  const auto& segments = reader_->segments();
  const auto& stats = reader_->stats();
  const size_t nseg = segments.size();

  // Pass 1: pin each term's postings in each segment (no copy when RocksDB
  // can pin); sum document frequencies across segments for idf.
  const size_t nterms = result.terms.size();
  while (pinned_.size() < nterms * nseg) {
    pinned_.push_back(std::make_unique<rocksdb::PinnableSlice>());
  }
  // Released however this returns: they hold block cache entries.
  struct Release {
    std::vector<std::unique_ptr<rocksdb::PinnableSlice>>& slices;
    ~Release() {
      for (auto& s : slices) s->Reset();
    }
  } release{pinned_};
  std::vector<uint8_t> present(nterms * nseg, 0);
  std::vector<uint32_t> seg_df(nterms * nseg, 0);
  std::vector<uint64_t> doc_freq(nterms, 0);
  for (size_t t = 0; t < nterms; ++t) {
    for (size_t s = 0; s < nseg; ++s) {
      rocksdb::PinnableSlice& b = *pinned_[t * nseg + s];
      CASCADE_ASSIGN_OR_RETURN(bool found,
                               reader_->ReadPostings(segments[s].id,
                                                     result.terms[t].first, &b));
      if (!found) continue;
      present[t * nseg + s] = 1;
      CASCADE_ASSIGN_OR_RETURN(
          index::PostingHeader h,
          index::DecodePostingHeader(std::string_view(b.data(), b.size())));
      doc_freq[t] += h.doc_freq;
      seg_df[t * nseg + s] = h.doc_freq;
    }
  }
  std::vector<float> weights(nterms);
  for (size_t t = 0; t < nterms; ++t) {
    // Deleted documents stay in df until a merge (as in Lucene); keep idf
    // defined when df exceeds the live count.
    const uint64_t n = std::max(stats.docs_with_terms, doc_freq[t]);
    weights[t] = static_cast<float>(result.terms[t].second) *
                 Bm25Idf(doc_freq[t], n);
  }

  // Pass 2: segment by segment in doc id order (pruning relies on it: a
  // later document never wins a tie), one shared top k.
  Bm25Scorer scorer(bm25, stats, reader_->options().length_norm);
  TopK top(params.k);
  bool skipped = false;
  std::vector<size_t> order(nseg);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return segments[a].base < segments[b].base;
  });
  std::vector<TermCursor> cursors;
  for (size_t s : order) {
    const index::SegmentInfo& seg = segments[s];
    uint64_t postings = 0, longest = 0;
    size_t lists = 0;
    for (size_t t = 0; t < nterms; ++t) {
      if (!present[t * nseg + s]) continue;
      ++lists;
      postings += seg_df[t * nseg + s];
      longest = std::max<uint64_t>(longest, seg_df[t * nseg + s]);
    }
    if (lists == 0) continue;
    Algorithm algorithm = params.algorithm;
    if (algorithm == Algorithm::kAuto) {
      algorithm = ChooseAlgorithm(params.k, lists, postings, longest);
    }

    if (algorithm == Algorithm::kExhaustive) {
      // Term-at-a-time accumulation.
      accumulators_.assign(seg.count, 0.0f);
      for (size_t t = 0; t < nterms; ++t) {
        if (!present[t * nseg + s]) continue;
        const rocksdb::PinnableSlice& b = *pinned_[t * nseg + s];
        CASCADE_RETURN_IF_ERROR(index::DecodePostings(
            std::string_view(b.data(), b.size()), &docs_, &tfs_));
        for (size_t i = 0; i < docs_.size(); ++i) {
          const uint32_t local = docs_[i];
          if (local >= seg.count) {
            return Status::Corruption("posting beyond segment end in segment",
                                      std::to_string(seg.id));
          }
          accumulators_[local] += Bm25Scorer::Score(
              weights[t], tfs_[i], scorer.LengthFactor(seg, local));
        }
      }
      // Deleted documents score nothing: one pass over the segment's
      // deletes instead of a lookup per hit.
      reader_->ForEachDeleted(seg, [&](uint32_t local) { accumulators_[local] = 0.0f; });
      for (uint32_t local = 0; local < seg.count; ++local) {
        const float score = accumulators_[local];
        if (score <= 0.0f) continue;
        ++result.total_hits;
        top.Push({seg.base + local, score});
      }
      continue;
    }

    // Document-at-a-time: one cursor per list. Terms of weight 0 add
    // nothing to any score and are left out.
    cursors.clear();
    for (size_t t = 0; t < nterms; ++t) {
      if (!present[t * nseg + s] || !(weights[t] > 0.0f)) continue;
      if (cursors_.size() <= cursors.size()) {
        cursors_.push_back(std::make_unique<index::PostingCursor>());
      }
      index::PostingCursor* cur = cursors_[cursors.size()].get();
      const rocksdb::PinnableSlice& b = *pinned_[t * nseg + s];
      CASCADE_RETURN_IF_ERROR(
          cur->Reset(std::string_view(b.data(), b.size()), seg.count));
      TermCursor tc;
      tc.cur = cur;
      tc.t = static_cast<uint32_t>(t);
      tc.weight = weights[t];
      for (const index::TfLength& p : cur->frontier()) {
        tc.ub = std::max(tc.ub, PairBound(weights[t], p.tf, p.length, scorer));
      }
      cursors.push_back(tc);
    }
    if (cursors.empty()) continue;
    DaatSegment daat(seg, *reader_, scorer, nterms, params.total_hits_threshold,
                     &top, &result.total_hits, &skipped);
    if (algorithm == Algorithm::kMaxScore) {
      daat.MaxScore(cursors);
    } else {
      daat.Wand(cursors, algorithm == Algorithm::kBmw);
    }
    for (const TermCursor& tc : cursors) {
      if (!tc.cur->status().ok()) {
        return Status::Corruption(
            "posting list of \"" + result.terms[tc.t].first + "\" in segment " +
                std::to_string(seg.id),
            tc.cur->status().ToString());
      }
    }
  }
  result.hits = top.Take();
  result.total_hits_exact = !skipped;
  return result;
}

}  // namespace cascade::query
