#include "query/dense_search.h"

#include <chrono>

#include "index/dense/vector_store.h"
#include "query/fusion.h"

namespace cascade::query {

Result<std::shared_ptr<const dense::VectorIndex>> DenseCache::Get(
    const index::Store& store, const std::shared_ptr<const index::IndexReader>& reader,
    std::string_view field) {
  std::lock_guard lock(mu_);
  if (reader_ != reader) {
    fields_.clear();
    reader_ = reader;
  }
  auto it = fields_.find(field);
  if (it != fields_.end()) return it->second;
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<dense::VectorIndex> loaded,
                           dense::LoadVectorIndex(store, *reader, field));
  std::shared_ptr<const dense::VectorIndex> shared = std::move(loaded);
  fields_.emplace(std::string(field), shared);
  return shared;
}

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool Blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

StageInfo Stage(std::string name, size_t depth, size_t found, double ms) {
  StageInfo info;
  info.stage = std::move(name);
  info.depth = depth;
  info.candidates = info.scored = found;
  info.took_ms = ms;
  return info;
}

}  // namespace

Result<SearchResult> DenseSearch(std::string_view query, const SearchOptions& options,
                                 const index::Store& store,
                                 const std::shared_ptr<const index::IndexReader>& reader,
                                 Searcher& searcher, DenseCache& cache,
                                 const QueryEmbedder* embedder) {
  const auto start = Clock::now();
  const bool hybrid = options.mode == "hybrid";
  if (!hybrid && options.mode != "dense") {
    return Status::InvalidArgument("mode must be bm25, dense or hybrid, got", options.mode);
  }
  // Without a vector, the query text is embedded when a model is set.
  const bool embed =
      options.vector.empty() && embedder != nullptr && embedder->embed && !Blank(query);
  if (options.vector.empty() && !embed) {
    return Status::InvalidArgument(
        "mode " + options.mode + " needs a query vector" +
        (embedder != nullptr && embedder->embed ? " or query text to embed"
                                                : " (or an embedding model and query text)"));
  }
  if (hybrid && Blank(query)) {
    return Status::InvalidArgument("mode hybrid needs query text as well as a vector");
  }
  if (options.k == 0) return Status::InvalidArgument("k must be at least 1");
  if (options.offset > kMaxK || options.k > kMaxK - options.offset) {
    return Status::InvalidArgument("offset + k must be at most " + std::to_string(kMaxK));
  }
  const auto& fields = store.options().vector_fields;
  if (fields.empty()) return Status::InvalidArgument("the index has no vector fields");
  const std::string& field = options.vector_field.empty() ? fields[0].name : options.vector_field;
  CASCADE_ASSIGN_OR_RETURN(std::shared_ptr<const dense::VectorIndex> vectors,
                           cache.Get(store, reader, field));
  FusionOptions fusion;
  if (hybrid) {
    CASCADE_ASSIGN_OR_RETURN(fusion.method, ParseFusionMethod(options.fusion));
    CASCADE_ASSIGN_OR_RETURN(fusion.normalization,
                             ParseScoreNormalization(options.normalization));
    fusion.rrf_k = options.rrf_k;
    fusion.dense_weight = options.dense_weight;
    if (options.dense_depth == 0 || options.dense_depth > kMaxK) {
      return Status::InvalidArgument("dense_depth must be 1.." + std::to_string(kMaxK));
    }
  }

  SearchResult result;
  std::vector<float> embedded;
  if (embed) {
    const auto embed_start = Clock::now();
    CASCADE_ASSIGN_OR_RETURN(embedded, embedder->embed(query));
    if (embedded.size() != vectors->field().dim) {
      return Status::InvalidArgument(
          "embedding model " + embedder->name + " gives " + std::to_string(embedded.size()) +
          "-d vectors, but field " + field + " has dimension " +
          std::to_string(vectors->field().dim));
    }
    result.stages.push_back(Stage("embed", 1, 1, MsSince(embed_start)));
  }
  const std::vector<float>& query_vector = embed ? embedded : options.vector;
  // Embedded text is what to look for, not a filter.
  const std::string_view filter = embed ? std::string_view() : query;
  const size_t want = options.offset + options.k;
  dense::VectorSearchParams params;
  params.nprobe = options.nprobe;
  params.quantized = options.quantized;
  params.rescore = options.rescore;
  std::vector<RankedDoc> bm25, knn;

  if (!hybrid) {
    // A lexical filter: the documents matching the query text.
    std::vector<bool> allow;
    if (!Blank(filter)) {
      const auto filter_start = Clock::now();
      SearchParams lexical;
      lexical.k = kMaxK;
      lexical.algorithm = Algorithm::kExhaustive;
      lexical.k1 = options.k1;
      lexical.b = options.b;
      CASCADE_ASSIGN_OR_RETURN(TopDocs matched, searcher.Search(filter, lexical));
      allow.assign(reader->doc_id_limit(), false);
      for (const ScoredDoc& d : matched.hits) allow[d.doc] = true;
      params.allow = &allow;
      result.stages.push_back(Stage("filter", kMaxK, matched.hits.size(), MsSince(filter_start)));
      result.total_hits = matched.hits.size();
    } else {
      result.total_hits = vectors->size();
    }
    const auto knn_start = Clock::now();
    params.k = want;
    CASCADE_ASSIGN_OR_RETURN(std::vector<dense::Neighbor> hits,
                             vectors->Search(query_vector, params));
    for (const dense::Neighbor& n : hits) knn.push_back({n.doc, n.score});
    result.stages.push_back(Stage("dense", want, knn.size(), MsSince(knn_start)));
    result.cascade = "dense";
  } else {
    const auto bm25_start = Clock::now();
    SearchParams lexical;
    lexical.k = options.dense_depth;
    lexical.k1 = options.k1;
    lexical.b = options.b;
    CASCADE_ASSIGN_OR_RETURN(lexical.algorithm, ParseAlgorithm(options.algorithm));
    CASCADE_ASSIGN_OR_RETURN(TopDocs top, searcher.Search(query, lexical));
    for (const ScoredDoc& d : top.hits) bm25.push_back({d.doc, d.score});
    result.stages.push_back(Stage("bm25", options.dense_depth, bm25.size(), MsSince(bm25_start)));
    const auto knn_start = Clock::now();
    params.k = options.dense_depth;
    CASCADE_ASSIGN_OR_RETURN(std::vector<dense::Neighbor> hits,
                             vectors->Search(query_vector, params));
    for (const dense::Neighbor& n : hits) knn.push_back({n.doc, n.score});
    result.stages.push_back(Stage("dense", options.dense_depth, knn.size(), MsSince(knn_start)));
    result.cascade = "hybrid:" + options.fusion;
  }

  const auto fuse_start = Clock::now();
  std::vector<FusedDoc> ranked;
  if (hybrid) {
    CASCADE_ASSIGN_OR_RETURN(ranked, Fuse(bm25, knn, fusion));
    result.total_hits = ranked.size();
    result.stages.push_back(Stage("fusion", want, ranked.size(), 0));
  } else {
    for (size_t i = 0; i < knn.size(); ++i) {
      FusedDoc f;
      f.doc = knn[i].doc;
      f.score = knn[i].score;
      f.dense_rank = i + 1;
      f.dense_score = knn[i].score;
      ranked.push_back(f);
    }
  }
  for (size_t i = options.offset; i < std::min(ranked.size(), want); ++i) {
    const FusedDoc& f = ranked[i];
    CASCADE_ASSIGN_OR_RETURN(index::Document doc, reader->ReadDocument(f.doc));
    Hit hit;
    hit.id = std::move(doc.id);
    hit.score = static_cast<float>(f.score);
    hit.title = std::move(doc.title);
    if (options.load_text) hit.text = std::move(doc.text);
    if (options.explain) {
      if (hybrid) {
        hit.explain.push_back({"bm25", f.bm25_rank.has_value(), f.bm25_rank.value_or(0),
                               f.bm25_score});
      }
      hit.explain.push_back({"dense", f.dense_rank.has_value(), f.dense_rank.value_or(0),
                             f.dense_score});
    }
    result.hits.push_back(std::move(hit));
  }
  if (hybrid) result.stages.back().took_ms = MsSince(fuse_start);
  result.took_ms = MsSince(start);
  return result;
}

}  // namespace cascade::query
