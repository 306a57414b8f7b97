#include "rerank/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace cascade::rerank {

namespace {

using Clock = std::chrono::steady_clock;

// TILDE weights are fetched (and the budget checked) this many at a time.
constexpr size_t kTildeFetchBatch = 128;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Sort key of a score: NaN ranks last.
float ScoreKey(float score) {
  return std::isnan(score) ? -std::numeric_limits<float>::infinity() : score;
}

// Puts the first `scored` candidates (whose scores were just replaced) in
// score order, ties keeping their previous order, and records explain
// entries for stage `stage_index`.
void Reorder(size_t scored, size_t stage_index, bool explain,
             std::vector<RankedCandidate>* candidates) {
  auto begin = candidates->begin();
  std::stable_sort(begin, begin + static_cast<std::ptrdiff_t>(scored),
                   [](const RankedCandidate& a, const RankedCandidate& b) {
                     return ScoreKey(a.score) > ScoreKey(b.score);
                   });
  if (!explain) return;
  for (size_t i = 0; i < scored; ++i) {
    RankedCandidate& c = (*candidates)[i];
    if (c.stages.size() <= stage_index) c.stages.resize(stage_index + 1);
    c.stages[stage_index] = RankedCandidate::StageScore{i + 1, c.score};
  }
}

bool OverBudget(const query::StageSpec& stage, Clock::time_point start) {
  return stage.budget_ms && MillisSince(start) >= *stage.budget_ms;
}

Status RunTilde(std::string_view query, const query::StageSpec& stage,
                CandidateSource& source, const RerankModels& models,
                const RerankOptions& options, size_t count,
                std::vector<RankedCandidate>* candidates, size_t* scored,
                bool* exhausted) {
  const auto start = Clock::now();
  std::vector<int32_t> query_ids = models.tilde->Encode(query);
  std::sort(query_ids.begin(), query_ids.end());  // for TildeScoreEncoded
  const TildeQuantizer& quantizer = *models.tilde_quantizer;
  const double alpha = options.tilde_alpha;
  std::vector<uint32_t> docs;
  std::vector<std::optional<std::string>> bytes;
  for (size_t begin = 0; begin < count; begin += kTildeFetchBatch) {
    if (begin > 0 && OverBudget(stage, start)) {
      *exhausted = true;
      return Status::OK();
    }
    const size_t end = std::min(count, begin + kTildeFetchBatch);
    docs.clear();
    for (size_t i = begin; i < end; ++i) docs.push_back((*candidates)[i].doc);
    CASCADE_RETURN_IF_ERROR(source.ReadTermWeights(docs, &bytes));
    if (bytes.size() != docs.size()) {
      return Status::Internal("TILDE weights: wrong number of results");
    }
    for (size_t i = begin; i < end; ++i) {
      float tilde = 0;
      const auto& stored = bytes[i - begin];
      if (stored && !query_ids.empty()) {
        CASCADE_ASSIGN_OR_RETURN(tilde, TildeScoreEncoded(query_ids, *stored, quantizer));
      }
      RankedCandidate& c = (*candidates)[i];
      c.score = alpha == 1.0 ? tilde
                             : static_cast<float>(alpha * tilde +
                                                  (1 - alpha) * c.score);
    }
    *scored = end;
  }
  return Status::OK();
}

void AppendSequence(const std::vector<int32_t>& query_ids,
                    std::span<const int32_t> passage_ids,
                    const WordPieceTokenizer& tok, gpu::PairBatch* batch) {
  if (batch->offsets.empty()) batch->offsets.push_back(0);
  auto push = [&](int32_t id, int32_t type) {
    batch->token_ids.push_back(id);
    batch->segment_ids.push_back(type);
  };
  push(tok.cls_id(), 0);
  for (int32_t id : query_ids) push(id, 0);
  push(tok.sep_id(), 0);
  for (int32_t id : passage_ids) push(id, 1);
  push(tok.sep_id(), 1);
  batch->offsets.push_back(static_cast<int32_t>(batch->token_ids.size()));
}

// The sequences of one passage: one (truncated) or several windows.
Status BuildPassageSequences(std::string_view query,
                             const std::vector<int32_t>& query_ids,
                             const std::string& passage,
                             const RerankModels& models,
                             const RerankOptions& options, gpu::PairBatch* batch,
                             size_t* sequences) {
  const WordPieceTokenizer& tok = *models.ce_tokenizer;
  const size_t max_length = models.ce_max_length;
  if (options.long_passages == LongPassages::kTruncate) {
    CASCADE_ASSIGN_OR_RETURN(
        Encoding e, tok.EncodePair(query, passage, max_length,
                                   Truncation::kLongestFirst));
    if (batch->offsets.empty()) batch->offsets.push_back(0);
    batch->token_ids.insert(batch->token_ids.end(), e.ids.begin(), e.ids.end());
    batch->segment_ids.insert(batch->segment_ids.end(), e.type_ids.begin(),
                              e.type_ids.end());
    batch->offsets.push_back(static_cast<int32_t>(batch->token_ids.size()));
    *sequences = 1;
    return Status::OK();
  }
  std::vector<int32_t> passage_ids;
  tok.Tokenize(passage, &passage_ids);
  const size_t window = max_length - 3 - query_ids.size();
  const size_t overlap = std::min(options.chunk_overlap, window / 2);
  const size_t stride = window - overlap;
  size_t start = 0;
  *sequences = 0;
  do {
    const size_t end = std::min(passage_ids.size(), start + window);
    AppendSequence(query_ids,
                   std::span<const int32_t>(passage_ids).subspan(start, end - start),
                   tok, batch);
    ++*sequences;
    if (end == passage_ids.size()) break;
    start += stride;
  } while (*sequences < options.max_chunks);
  return Status::OK();
}

Status RunCrossEncoder(std::string_view query, const query::StageSpec& stage,
                       CandidateSource& source, const RerankModels& models,
                       const RerankOptions& options, size_t count,
                       std::vector<RankedCandidate>* candidates, size_t* scored,
                       size_t* sequences_run, bool* exhausted) {
  const auto start = Clock::now();
  // Chunking keeps the query to at most half the model's length.
  std::vector<int32_t> query_ids;
  if (options.long_passages == LongPassages::kChunk) {
    models.ce_tokenizer->Tokenize(query, &query_ids);
    const size_t keep = (models.ce_max_length - 3) / 2;
    if (query_ids.size() > keep) query_ids.resize(keep);
  }
  const size_t per_call = stage.budget_ms ? models.ce_budget_batch : count;
  std::vector<size_t> sequences_of;  // per candidate in the call
  for (size_t begin = 0; begin < count; begin += per_call) {
    if (begin > 0 && OverBudget(stage, start)) {
      *exhausted = true;
      return Status::OK();
    }
    const size_t end = std::min(count, begin + per_call);
    gpu::PairBatch batch;
    sequences_of.clear();
    for (size_t i = begin; i < end; ++i) {
      CASCADE_ASSIGN_OR_RETURN(std::string passage,
                               source.Passage((*candidates)[i].doc));
      size_t n = 0;
      CASCADE_RETURN_IF_ERROR(BuildPassageSequences(query, query_ids, passage,
                                                    models, options, &batch, &n));
      sequences_of.push_back(n);
    }
    const size_t total = batch.size();
    CASCADE_ASSIGN_OR_RETURN(std::vector<float> scores,
                             models.ce_run(std::move(batch)));
    if (scores.size() != total) {
      return Status::Internal("cross-encoder returned " +
                              std::to_string(scores.size()) + " scores for " +
                              std::to_string(total) + " sequences");
    }
    size_t next = 0;
    for (size_t i = begin; i < end; ++i) {
      float best = -std::numeric_limits<float>::infinity();
      for (size_t s = 0; s < sequences_of[i - begin]; ++s) {
        best = std::max(best, ScoreKey(scores[next++]));
      }
      (*candidates)[i].score = best;
    }
    *sequences_run += total;
    *scored = end;
  }
  return Status::OK();
}

}  // namespace

Result<LongPassages> ParseLongPassages(std::string_view name) {
  if (name == "truncate") return LongPassages::kTruncate;
  if (name == "chunk") return LongPassages::kChunk;
  return Status::InvalidArgument("long passages: expected truncate or chunk, got",
                                 name);
}

Status CheckRerankModels(std::span<const query::StageSpec> stages,
                         const RerankModels& models) {
  for (size_t i = 1; i < stages.size(); ++i) {
    const std::string name = "stage " + std::to_string(i + 1) + " (" +
                             std::string(query::StageName(stages[i].kind)) + ")";
    switch (stages[i].kind) {
      case query::StageKind::kTilde:
        if (models.tilde == nullptr || !models.tilde_quantizer) {
          return Status::InvalidArgument(
              name + ": the index has no TILDE weights (build it with "
                     "`cascade index --tilde-model DIR`, or give \"tilde\" "
                     "weights with the documents)");
        }
        break;
      case query::StageKind::kCrossEncoder:
        if (models.ce_tokenizer == nullptr || !models.ce_run) {
          return Status::InvalidArgument(
              name + ": no cross-encoder model is loaded (--model DIR)");
        }
        if (models.ce_max_length < 8) {
          return Status::InvalidArgument(name + ": model maximum length too small");
        }
        break;
      case query::StageKind::kBm25:
        return Status::InvalidArgument(name + ": a retriever cannot rerank");
    }
  }
  return Status::OK();
}

Status RunRerankStages(std::string_view query,
                       std::span<const query::StageSpec> stages,
                       CandidateSource& source, const RerankModels& models,
                       const RerankOptions& options, bool explain,
                       std::vector<RankedCandidate>* candidates,
                       std::vector<StageReport>* reports) {
  if (!(options.tilde_alpha >= 0 && options.tilde_alpha <= 1)) {
    return Status::InvalidArgument("tilde alpha must be in [0, 1]");
  }
  if (options.max_chunks < 1) {
    return Status::InvalidArgument("max chunks must be at least 1");
  }
  CASCADE_RETURN_IF_ERROR(CheckRerankModels(stages, models));
  std::vector<float> previous;  // scores before the stage, to undo a failure
  for (size_t s = 1; s < stages.size(); ++s) {
    const query::StageSpec& stage = stages[s];
    StageReport report;
    report.kind = stage.kind;
    report.depth = stage.depth;
    report.budget_ms = stage.budget_ms;
    report.candidates = std::min(stage.depth, candidates->size());
    const auto start = Clock::now();
    previous.resize(report.candidates);
    for (size_t i = 0; i < report.candidates; ++i) previous[i] = (*candidates)[i].score;
    Status status;
    if (stage.kind == query::StageKind::kTilde) {
      status = RunTilde(query, stage, source, models, options, report.candidates,
                        candidates, &report.scored, &report.budget_exhausted);
    } else {
      status = RunCrossEncoder(query, stage, source, models, options,
                               report.candidates, candidates, &report.scored,
                               &report.sequences, &report.budget_exhausted);
    }
    if (!status.ok()) {
      if (status.code() == Status::Code::kResourceExhausted ||
          status.code() == Status::Code::kUnavailable) {
        return status;
      }
      // A failing model leaves the previous order in place.
      for (size_t i = 0; i < report.candidates; ++i) (*candidates)[i].score = previous[i];
      report.scored = 0;
      report.budget_exhausted = false;
      report.error = status.ToString();
    }
    Reorder(report.scored, s, explain, candidates);
    if (explain) {
      for (RankedCandidate& c : *candidates) c.stages.resize(stages.size());
    }
    report.took_ms = MillisSince(start);
    reports->push_back(report);
  }
  return Status::OK();
}

}  // namespace cascade::rerank
