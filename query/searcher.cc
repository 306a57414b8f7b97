#include "query/searcher.h"

#include <algorithm>
#include <cmath>
#include <queue>

#include "index/posting_codec.h"

namespace cascade::query {

namespace {

// Orders hits best first: higher score, then lower doc id.
struct Better {
  bool operator()(const ScoredDoc& a, const ScoredDoc& b) const {
    if (a.score != b.score) return a.score > b.score;
    return a.doc < b.doc;
  }
};

}  // namespace

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

Result<TopDocs> Searcher::SearchTerms(
    std::vector<std::pair<std::string, uint32_t>> terms,
    const SearchParams& params) {
  if (params.k == 0 || params.k > kMaxK) {
    return Status::InvalidArgument("k must be between 1 and " +
                                   std::to_string(kMaxK));
  }
  if (terms.size() > kMaxQueryTerms) {
    return Status::InvalidArgument(
        "query has " + std::to_string(terms.size()) +
        " distinct terms, over the limit of " + std::to_string(kMaxQueryTerms));
  }
  Bm25Params bm25{params.k1.value_or(reader_->options().k1),
                  params.b.value_or(reader_->options().b)};
  if (!(bm25.k1 >= 0) || !std::isfinite(bm25.k1)) {
    return Status::InvalidArgument("k1 must be a finite number >= 0");
  }
  if (!(bm25.b >= 0 && bm25.b <= 1)) {
    return Status::InvalidArgument("b must be between 0 and 1");
  }

  TopDocs result;
  result.terms = std::move(terms);
  const auto& segments = reader_->segments();
  const auto& stats = reader_->stats();

  // Pass 1: fetch each term's postings in each segment; sum document
  // frequencies across segments for idf.
  const size_t nterms = result.terms.size();
  std::vector<std::string> bytes(nterms * segments.size());
  std::vector<uint8_t> present(nterms * segments.size(), 0);
  std::vector<uint64_t> doc_freq(nterms, 0);
  for (size_t t = 0; t < nterms; ++t) {
    for (size_t s = 0; s < segments.size(); ++s) {
      std::string& b = bytes[t * segments.size() + s];
      CASCADE_ASSIGN_OR_RETURN(bool found,
                               reader_->ReadPostings(segments[s].id,
                                                     result.terms[t].first, &b));
      if (!found) continue;
      present[t * segments.size() + s] = 1;
      CASCADE_ASSIGN_OR_RETURN(index::PostingHeader h,
                               index::DecodePostingHeader(b));
      doc_freq[t] += h.doc_freq;
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

  // Pass 2: term-at-a-time accumulation per segment, then top-k.
  Bm25Scorer scorer(bm25, stats, reader_->options().length_norm);
  std::priority_queue<ScoredDoc, std::vector<ScoredDoc>, Better> heap;
  for (size_t s = 0; s < segments.size(); ++s) {
    const index::SegmentInfo& seg = segments[s];
    bool any = false;
    for (size_t t = 0; t < nterms; ++t) any |= present[t * segments.size() + s];
    if (!any) continue;
    accumulators_.assign(seg.count, 0.0f);
    for (size_t t = 0; t < nterms; ++t) {
      if (!present[t * segments.size() + s]) continue;
      CASCADE_RETURN_IF_ERROR(
          index::DecodePostings(bytes[t * segments.size() + s], &docs_, &tfs_));
      for (size_t i = 0; i < docs_.size(); ++i) {
        const uint32_t local = docs_[i];
        if (local >= seg.count) {
          return Status::Corruption("posting beyond segment end in segment",
                                    std::to_string(seg.id));
        }
        accumulators_[local] += Bm25Scorer::Score(
            weights[t], tfs_[i], scorer.LengthFactor(seg.lengths[local]));
      }
    }
    for (uint32_t local = 0; local < seg.count; ++local) {
      const float score = accumulators_[local];
      if (score <= 0.0f) continue;
      const uint32_t doc = seg.base + local;
      if (reader_->IsDeleted(doc)) continue;
      ++result.total_hits;
      ScoredDoc hit{doc, score};
      if (heap.size() < params.k) {
        heap.push(hit);
      } else if (Better()(hit, heap.top())) {
        heap.pop();
        heap.push(hit);
      }
    }
  }
  result.hits.resize(heap.size());
  for (size_t i = heap.size(); i-- > 0;) {
    result.hits[i] = heap.top();
    heap.pop();
  }
  return result;
}

}  // namespace cascade::query
