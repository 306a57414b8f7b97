#include "query/fusion.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace cascade::query {

Result<FusionMethod> ParseFusionMethod(std::string_view name) {
  if (name == "rrf") return FusionMethod::kRrf;
  if (name == "weighted") return FusionMethod::kWeighted;
  return Status::InvalidArgument("fusion must be rrf or weighted, got", name);
}

Result<ScoreNormalization> ParseScoreNormalization(std::string_view name) {
  if (name == "minmax") return ScoreNormalization::kMinMax;
  if (name == "zscore") return ScoreNormalization::kZScore;
  return Status::InvalidArgument("normalization must be minmax or zscore, got", name);
}

namespace {

// Normalised scores of a list, and the value a missing document gets.
std::vector<double> Normalize(std::span<const RankedDoc> list, ScoreNormalization how,
                              double* missing) {
  std::vector<double> out(list.size());
  *missing = 0;
  if (list.empty()) return out;
  if (how == ScoreNormalization::kMinMax) {
    double lo = list[0].score, hi = list[0].score;
    for (const RankedDoc& d : list) {
      lo = std::min<double>(lo, d.score);
      hi = std::max<double>(hi, d.score);
    }
    for (size_t i = 0; i < list.size(); ++i) {
      out[i] = hi > lo ? (list[i].score - lo) / (hi - lo) : 1.0;
    }
  } else {
    double mean = 0;
    for (const RankedDoc& d : list) mean += d.score;
    mean /= list.size();
    double var = 0;
    for (const RankedDoc& d : list) var += (d.score - mean) * (d.score - mean);
    const double sd = std::sqrt(var / list.size());
    for (size_t i = 0; i < list.size(); ++i) out[i] = sd > 0 ? (list[i].score - mean) / sd : 0;
  }
  *missing = *std::min_element(out.begin(), out.end());
  return out;
}

}  // namespace

Result<std::vector<FusedDoc>> Fuse(std::span<const RankedDoc> bm25,
                                   std::span<const RankedDoc> dense,
                                   const FusionOptions& options) {
  if (!(options.rrf_k > 0)) return Status::InvalidArgument("rrf_k must be > 0");
  if (!(options.dense_weight >= 0 && options.dense_weight <= 1)) {
    return Status::InvalidArgument("dense_weight must be in [0, 1]");
  }
  std::vector<FusedDoc> fused;
  std::unordered_map<uint32_t, size_t> at;
  auto entry = [&](uint32_t doc) -> FusedDoc& {
    auto [it, inserted] = at.try_emplace(doc, fused.size());
    if (inserted) {
      fused.emplace_back();
      fused.back().doc = doc;
    }
    return fused[it->second];
  };
  for (size_t i = 0; i < bm25.size(); ++i) {
    FusedDoc& f = entry(bm25[i].doc);
    f.bm25_rank = i + 1;
    f.bm25_score = bm25[i].score;
  }
  for (size_t i = 0; i < dense.size(); ++i) {
    FusedDoc& f = entry(dense[i].doc);
    f.dense_rank = i + 1;
    f.dense_score = dense[i].score;
  }
  if (options.method == FusionMethod::kRrf) {
    for (FusedDoc& f : fused) {
      f.score = (f.bm25_rank ? 1.0 / (options.rrf_k + *f.bm25_rank) : 0.0) +
                (f.dense_rank ? 1.0 / (options.rrf_k + *f.dense_rank) : 0.0);
    }
  } else {
    double bm25_missing, dense_missing;
    const std::vector<double> nb = Normalize(bm25, options.normalization, &bm25_missing);
    const std::vector<double> nd = Normalize(dense, options.normalization, &dense_missing);
    const double w = options.dense_weight;
    for (FusedDoc& f : fused) {
      const double b = f.bm25_rank ? nb[*f.bm25_rank - 1] : bm25_missing;
      const double d = f.dense_rank ? nd[*f.dense_rank - 1] : dense_missing;
      f.score = w * d + (1 - w) * b;
    }
  }
  std::sort(fused.begin(), fused.end(), [](const FusedDoc& a, const FusedDoc& b) {
    return a.score > b.score || (a.score == b.score && a.doc < b.doc);
  });
  return fused;
}

}  // namespace cascade::query
