#include "query/searcher.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "query/daat.h"
#include "query/lucene_search.h"

namespace cascade::query {

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
  // Text fields: each word over all the default fields (lucene_search.h),
  // with the same algorithms.
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
  daat::TopK top(params.k);
  bool skipped = false;
  std::vector<size_t> order(nseg);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return segments[a].base < segments[b].base;
  });
  std::vector<daat::TermCursor> cursors;
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
      daat::TermCursor tc;
      tc.cur = cur;
      tc.slot = static_cast<uint32_t>(t);
      tc.weight = weights[t];
      tc.scorer = &scorer;
      tc.InitBound();
      cursors.push_back(tc);
    }
    if (cursors.empty()) continue;
    daat::Segment daat(seg, *reader_, nterms, {}, 1, params.total_hits_threshold, &top,
                       &result.total_hits, &skipped);
    daat.Run(cursors, algorithm);
    for (const daat::TermCursor& tc : cursors) {
      if (!tc.cur->status().ok()) {
        return Status::Corruption(
            "posting list of \"" + result.terms[tc.slot].first + "\" in segment " +
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
